"""The PyTorch side of ``--compare torch``: the twin timed in this process, the net as shipped timed
in a fresh one, and the numbers of both engines compared on the same weights."""
import json
import os
import subprocess
import sys

import numba
import numpy as np

from ..runtime import process as runtime
from ..engine.losses import softmax_cross_entropy
from ..engine.seed_net import seed_net
from .engine import GRADCAM_LAYER, WARMUP, grad_cam, images_per_second, make_batch, median_seconds

AS_SHIPPED_SCRIPT = os.path.join(os.path.dirname(__file__), "torch_as_shipped.py")
# runs the script as __main__ without putting its folder (or the working directory) on sys.path, so
# nothing of npnet can be imported by accident; PYTHONPATH and user site-packages still apply
RUN_AS_MAIN = ("import runpy, sys; del sys.path[0]; sys.argv[0] = sys.argv.pop(1); "
               "runpy.run_path(sys.argv[0], run_name='__main__')")


def bench_torch(batch_size, repeats):
    """The same three figures for the seed net's PyTorch twin, in this process, on numba's thread
    count: fed npnet's NHWC batch, with the allocator setting npnet's tools make."""
    import torch
    from . import torch_twin
    torch.set_num_threads(numba.get_num_threads())
    x, labels = make_batch(batch_size)
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)
    twin = torch_twin.from_npnet(seed_net())
    optimizer = torch.optim.Adam(twin.parameters(), lr=0.001, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train():
        twin.train()                         # dropout active, as npnet's training=True
        optimizer.zero_grad(set_to_none=True)
        loss_fn(twin(x), labels).backward()
        optimizer.step()

    def infer():
        twin.eval()
        with torch.inference_mode():
            twin(x)

    def gradcam():
        twin.eval()
        torch_twin.grad_cam(twin, x, GRADCAM_LAYER)

    seconds = {"train": median_seconds(train, repeats), "infer": median_seconds(infer, repeats),
               "gradcam": median_seconds(gradcam, repeats)}
    result = {f"{key}_img_per_s": images_per_second(times, batch_size) for key, times in seconds.items()}
    result.update(seconds=seconds, version=torch.__version__, threads=torch.get_num_threads())
    return result


def bench_torch_as_shipped(batch_size, repeats):
    """The same three figures for PyTorch as a user runs it (``torch_as_shipped.py``): a fresh
    process, NCHW input, the user's environment without what npnet set, glibc's default allocator."""
    environment = {key: value for key, value in os.environ.items() if key not in runtime.set_here}
    command = [sys.executable, "-c", RUN_AS_MAIN, AS_SHIPPED_SCRIPT,
               "--threads", str(numba.get_num_threads()), "--batch-size", str(batch_size),
               "--repeats", str(repeats), "--warmup", str(WARMUP)]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the PyTorch-as-shipped subprocess failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def relative_difference(a, b):
    """max |a - b| / max |b|: the worst disagreement, relative to the tensor's largest entry."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def compare_with_torch(batch_size):
    """Same weights, same batch, training=False: how far npnet's numbers are from PyTorch's.

    Returns max |logits difference|, the loss difference, ``relative_difference`` (npnet vs torch)
    for every parameter gradient of the mean cross-entropy, for dL/dx and for the Grad-CAM maps, and
    how many max-pool windows picked a different winner (a float32 near-tie: the gradient below that
    layer then goes to a different position, which is the usual cause of a larger difference there).
    """
    import torch
    from . import torch_twin
    x, labels = make_batch(batch_size, seed=1)
    model = seed_net()
    twin = torch_twin.from_npnet(model).eval()

    logits = model.forward(x, training=False)
    loss, dlogits = softmax_cross_entropy(logits, labels)
    dx = model.backward(dlogits, input_grad=True)
    x_t = torch.from_numpy(x).requires_grad_(True)
    logits_t = twin(x_t)
    loss_t = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(labels))
    loss_t.backward()
    grads, grads_t = model.grads(), torch_twin.grads(twin)

    winners = torch_twin.pool_winners(twin, torch.from_numpy(x))
    pool_routing = {name: int((model.layer(name).argmax != w).sum()) for name, w in winners.items()}
    maps, predicted = grad_cam(model, x)
    maps_t, predicted_t = torch_twin.grad_cam(twin, torch.from_numpy(x), GRADCAM_LAYER)
    return {
        "batch_size": batch_size,
        "logits_max_abs_diff": float(np.abs(logits - logits_t.detach().numpy()).max()),
        "loss_abs_diff": abs(loss - float(loss_t.detach())),
        "grads_max_rel_diff": {key: relative_difference(grads[key], grads_t[key]) for key in grads},
        "input_grad_max_rel_diff": relative_difference(dx, x_t.grad.numpy()),
        "gradcam_max_rel_diff": relative_difference(maps, maps_t.numpy()),
        "pool_windows_routed_differently": pool_routing,
        "gradcam_same_class": int((predicted == predicted_t.numpy()).sum()),
    }


