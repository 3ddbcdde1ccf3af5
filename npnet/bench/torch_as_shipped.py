"""The seed net in PyTorch as a PyTorch user writes and runs it: the benchmark's second torch column.

Run as its own process by ``python -m npnet.bench --compare torch``, never imported into one that
runs npnet: it must not see the process settings npnet's tools make (``npnet.runtime.process``), so it
imports neither npnet nor anything beside it, and the benchmark starts it without the environment
variables npnet set. What differs from the in-process twin, and why each matters here:

    layout     NCHW input, the layout of PyTorch's tutorials (the twin is fed NHWC, which makes
               oneDNN pick its channels-last convolutions)
    allocator  glibc's default: arrays above its mmap threshold (at most 32 MB) are returned to the
               kernel when freed and page-faulted in again on the next step

The three figures are timed as in the benchmark: ``--warmup`` runs excluded, then the median of
``--repeats``.
Weights are PyTorch's own initialization; speed does not depend on their values. Prints one JSON
object: {"train_img_per_s", "infer_img_per_s", "gradcam_img_per_s", "threads", "version"}.

    python npnet/bench/torch_as_shipped.py --threads 2 --batch-size 1024 --repeats 5
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def seed_net(num_classes=43):
    """The seed's network, NCHW, in the order the Keras model lists its layers."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 128, 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 128, 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5),
        nn.Linear(1152, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, num_classes))


CONV2D_3_RELU = 7   # index of conv2d_3's ReLU in seed_net(): Grad-CAM's activations A


def median_seconds(run, repeats, warmup):
    # npnet.bench.engine.median_seconds again: this file may not import anything of npnet
    for _ in range(warmup):                             # excluded
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = seed_net()
    x = torch.rand(args.batch_size, 3, 32, 32)
    labels = torch.randint(0, 43, (args.batch_size,))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    captured = {}
    net[CONV2D_3_RELU].register_forward_hook(lambda module, inputs, output: captured.__setitem__("A", output))

    def train():
        net.train()
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(x), labels).backward()
        optimizer.step()

    def infer():
        net.eval()
        with torch.inference_mode():
            net(x)

    def gradcam():
        net.eval()
        logits = net(x)
        A = captured["A"]
        score = logits.gather(1, logits.argmax(dim=1, keepdim=True)).sum()
        (dA,) = torch.autograd.grad(score, A)
        torch.relu((dA.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1))

    result = {f"{name}_img_per_s": args.batch_size / median_seconds(run, args.repeats, args.warmup)
              for name, run in (("train", train), ("infer", infer), ("gradcam", gradcam))}
    result.update(threads=torch.get_num_threads(), version=torch.__version__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
