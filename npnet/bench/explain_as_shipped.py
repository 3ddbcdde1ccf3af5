"""The explanation methods' references as a PyTorch user runs them: the ``--explain`` table's
"as shipped" column.

Run as its own process by ``python -m npnet.bench --explain``, never imported into one that runs npnet,
for the reasons ``torch_as_shipped.py`` gives: the net is ``torch_as_shipped.seed_net()`` (NCHW, PyTorch's
own initialization: the methods' speed does not depend on the weights), glibc's default allocator, and
the user's environment without the settings npnet's tools make. The two sibling files it needs are
loaded by path, so nothing of npnet is imported. Each method is timed as in the in-process table:
``--warmup`` runs excluded and the median of ``--repeats`` on ``--batch-size`` images, the slow ones
with ``--slow-warmup`` / ``--slow-repeats`` on ``--slow-images``. Prints one JSON object:
{"img_per_s": {method: images/s or null}, "notes": [...], "threads", "version"}.

    python npnet/bench/explain_as_shipped.py --threads 2 --methods gradcam,saliency --slow ""
"""
import argparse
import importlib.util
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def sibling(name):
    """npnet/bench/<name>.py as a module of its own, without importing the npnet package."""
    spec = importlib.util.spec_from_file_location(f"_as_shipped_{name}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--methods", required=True, help="comma-separated, names as in reference_methods")
    parser.add_argument("--slow", default="", help="comma-separated: the methods timed on --slow-images")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--slow-images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--slow-repeats", type=int, default=2)
    parser.add_argument("--slow-warmup", type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    shipped, references = sibling("torch_as_shipped"), sibling("reference_methods")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = shipped.seed_net().eval()
    layer = net[shipped.CONV2D_3_RELU]
    x_all = torch.rand(max(args.batch_size, args.slow_images), 3, 32, 32) - 0.5
    grad_cam, note = references.import_grad_cam()
    notes = [note] if note else []
    zennit, note = references.import_zennit()
    notes += [note] if note else []
    slow = set(filter(None, args.slow.split(",")))
    img_per_s = {}
    for name in filter(None, args.methods.split(",")):
        class_name, recipe = references.REFERENCES[name]
        count = min(args.slow_images, args.batch_size) if name in slow else args.batch_size
        warmup, repeats = (args.slow_warmup, args.slow_repeats) if name in slow else (args.warmup, args.repeats)
        x = x_all[:count].contiguous()
        with torch.no_grad():
            classes = net(x).argmax(dim=1).tolist()
        cam = None
        try:
            if class_name is not None and grad_cam is not None:
                cam, run = references.grad_cam_runner(grad_cam, class_name, net, layer, x, classes)
            elif recipe is not None:
                run = references.captum_runner(recipe, net, layer, x, classes)
            elif name in references.ZENNIT and zennit is not None:       # images in [-0.5, 0.5): the box
                run = references.zennit_runner(zennit, references.ZENNIT[name], net, x, classes, low=-0.5, high=0.5)
            else:
                img_per_s[name] = None
                continue
            img_per_s[name] = count / shipped.median_seconds(run, repeats, warmup)
        except Exception as error:                  # one method failing leaves the others' figures
            img_per_s[name] = None
            notes.append(f"as shipped, {name}: {type(error).__name__}: {error}")
        finally:
            if cam is not None:
                cam.activations_and_grads.release()
    print(json.dumps({"img_per_s": img_per_s, "notes": notes, "threads": torch.get_num_threads(),
                      "version": torch.__version__}))


if __name__ == "__main__":
    main()
