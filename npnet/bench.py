"""How fast the engine runs the seed net, and (optionally) how it compares with PyTorch.

    python -m npnet.bench                     # table: train / infer / Grad-CAM images per second
    python -m npnet.bench --json --out b.json # the same figures as one JSON object
    python -m npnet.bench --compare torch     # + the same net in PyTorch, ratios, and a correctness line

What each figure times (batch ``--batch-size``, default 1024, of random 32x32x3 float32 images):
    train_img_per_s    forward(training=True) + softmax cross-entropy + backward(input_grad=False)
                       + Adam step
    infer_img_per_s    forward(training=False)
    gradcam_img_per_s  forward(training=False), dlogits = one-hot of the predicted class,
                       backward(stop_at='conv2d_3'), then the 6x6 maps: ``npnet.explain.grad_cam``
                       with upsample=False
    first_call_s       a fresh Python process, timed inside it from before ``import npnet`` to the end
                       of its first training step: import + numba compile (or cache load) + one step
    peak_rss_mb        the largest resident memory of this process while benchmarking npnet
--compare torch times the same net in PyTorch (``npnet.torch_twin``, same weights, same thread count
as numba): a training step is forward + CrossEntropyLoss + backward + torch.optim.Adam(lr=0.001,
eps=1e-7) with dropout active; inference runs under ``torch.inference_mode``; Grad-CAM hooks conv2d_3's
ReLU and takes dy/dA only. The ratio npnet/torch is npnet's images/s over torch's (above 1: npnet is
faster). It then checks both engines give the same numbers on the same weights and batch.

One warm-up run is excluded; each figure is the median of ``--repeats`` runs (default 5). Speed is
measured here, never asserted in a test. Timings on a busy machine are noise: measure on an idle one.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numba
import numpy as np

from . import explain, runtime
from .losses import softmax_cross_entropy
from .training.step import train_step
from .models import seed_net
from .optimizers import Adam

GRADCAM_LAYER = "conv2d_3"
THREAD_ENV = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# What the fresh process runs for first_call_s; it prints the seconds from before `import npnet`.
FIRST_CALL_SCRIPT = """
import time
start = time.perf_counter()
import npnet
from npnet.runtime import keep_freed_memory
keep_freed_memory()
import numpy as np
from npnet.models import seed_net
from npnet.optimizers import Adam
from npnet.training.step import train_step
rng = np.random.default_rng(0)
x = rng.random(({n}, 32, 32, 3), dtype=np.float32)
labels = rng.integers(0, 43, size={n})
model, optimizer = seed_net(), Adam()
train_step(model, optimizer, x, labels)
print(time.perf_counter() - start)
"""


# -- the work being timed -------------------------------------------------------------------------
def make_batch(batch_size, seed=0, num_classes=43):
    """Random images x (N, 32, 32, 3) float32 in [0, 1) and labels (N,) int64 in 0..num_classes-1."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, 32, 32, 3), dtype=np.float32)
    return x, rng.integers(0, num_classes, size=batch_size)


def grad_cam(model, x, layer=GRADCAM_LAYER):
    """Grad-CAM of each image's predicted class at ``layer``: ``npnet.explain.grad_cam`` at the
    layer's own resolution (no upsampling, as the torch twin), and the classes it explained.

        A     = layer.output, the activations after the ReLU          (N, h, w, F)
        alpha = mean over the h*w positions of dy^c/dA                (N, F)    one backward, stop_at
        map   = relu(sum_F alpha * A)                                 (N, h, w)

    x: (N, H, W, C). Returns (maps (N, h, w), predicted (N,)).
    """
    maps = explain.grad_cam(model, x, layer=layer, upsample=False)
    predicted = model.layers[-1].output.argmax(axis=1)      # the logits of grad_cam's forward
    return maps, predicted


def median_seconds(run, repeats, warmup=1):
    """Call ``run()`` warmup + repeats times; return the timings of the last ``repeats`` (seconds)."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def images_per_second(times, batch_size):
    return batch_size / statistics.median(times)


# -- npnet ----------------------------------------------------------------------------------------
def bench_npnet(batch_size, repeats):
    """{'train_img_per_s', 'infer_img_per_s', 'gradcam_img_per_s', 'seconds': {...}}."""
    x, labels = make_batch(batch_size)
    model, optimizer = seed_net(), Adam()
    seconds = {
        "train": median_seconds(lambda: train_step(model, optimizer, x, labels), repeats),
        "infer": median_seconds(lambda: model.forward(x, training=False), repeats),
        "gradcam": median_seconds(lambda: grad_cam(model, x), repeats),
    }
    result = {f"{key}_img_per_s": images_per_second(times, batch_size) for key, times in seconds.items()}
    result["seconds"] = seconds
    return result


def numba_cache_present():
    """Whether npnet's compiled kernels are already cached on disk (numba's index files)."""
    cache_dir = os.path.join(os.path.dirname(__file__), "kernels", "__pycache__")
    return os.path.isdir(cache_dir) and any(name.endswith(".nbi") for name in os.listdir(cache_dir))


def first_call_seconds(batch_size):
    """Import + compile-or-load + the first training step, timed inside a fresh interpreter."""
    script = FIRST_CALL_SCRIPT.format(n=int(batch_size))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the first-call subprocess failed:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def _openblas_function(symbols):
    """The first of ``symbols`` found in the OpenBLAS numpy loaded, or None."""
    import ctypes
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in symbols:
            if hasattr(lib, symbol):
                return getattr(lib, symbol)
    return None


def blas_threads():
    """OpenBLAS's thread count (None if it cannot be asked)."""
    function = _openblas_function(("openblas_get_num_threads", "openblas_get_num_threads64_",
                                   "scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads"))
    return None if function is None else int(function())


def blas_core():
    """The OpenBLAS kernels in use ('Haswell', 'SkylakeX', ...): chosen from the CPU at load time
    unless OPENBLAS_CORETYPE names them (None if it cannot be asked)."""
    import ctypes
    function = _openblas_function(("openblas_get_corename", "openblas_get_corename64_",
                                   "scipy_openblas_get_corename64_", "scipy_openblas_get_corename"))
    if function is None:
        return None
    function.restype = ctypes.c_char_p
    return function().decode(errors="replace")


def thread_settings():
    """numba's and OpenBLAS's thread counts, the cores, and the thread environment variables."""
    try:
        layer = numba.threading_layer()
    except ValueError:                       # no parallel kernel has run yet
        layer = None
    return {"numba": numba.get_num_threads(), "numba_layer": layer, "blas": blas_threads(),
            "blas_core": blas_core(),
            "cpu_count": os.cpu_count(), "env": {key: os.environ.get(key) for key in THREAD_ENV}}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux reports KiB


# -- PyTorch --------------------------------------------------------------------------------------
def bench_torch(batch_size, repeats):
    """The same three figures for the seed net's PyTorch twin, on numba's thread count."""
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


# -- report ---------------------------------------------------------------------------------------
def format_table(result):
    """The figures as a small text table (npnet, and torch with the ratio npnet/torch if compared)."""
    torch_result = result.get("torch")
    lines = [f"npnet benchmark: seed net, batch {result['batch_size']}, median of {result['repeats']} "
             "(1 warm-up excluded)",
             f"{'':24}{'npnet':>10}" + (f"{'torch':>10}{'npnet/torch':>13}" if torch_result else "")]
    for key, label in (("train", "train step (img/s)"), ("infer", "inference (img/s)"),
                       ("gradcam", "Grad-CAM (img/s)")):
        line = f"{label:24}{result[key + '_img_per_s']:>10,.0f}"
        if torch_result:
            line += f"{torch_result[key + '_img_per_s']:>10,.0f}{result['ratios'][key]:>13.2f}"
        lines.append(line)
    if result.get("first_call_s") is not None:
        cache = "loaded from cache" if result["first_call_numba_cache"] else "compiled"
        lines.append(f"{'first call (s)':24}{result['first_call_s']:>10.2f}   (numba kernels {cache})")
    lines.append(f"{'peak RSS (MB)':24}{result['peak_rss_mb']:>10,.0f}")
    threads = result["threads"]
    env = ", ".join(f"{k}={v}" for k, v in threads["env"].items() if v is not None) or "none set"
    lines.append(f"threads: numba {threads['numba']} ({threads['numba_layer']}), "
                 f"BLAS {threads['blas']} (OpenBLAS {threads.get('blas_core')} kernels)"
                 + (f", torch {torch_result['threads']}" if torch_result else "")
                 + f", {threads['cpu_count']} cores; env: {env}")
    if result.get("compare_note"):
        lines.append(result["compare_note"])
    check = result.get("correctness")
    if check:
        worst = max(check["grads_max_rel_diff"], key=check["grads_max_rel_diff"].get)
        lines.append(f"same weights, same batch of {check['batch_size']} (training=False): "
                     f"max |logits diff| {check['logits_max_abs_diff']:.1e}, "
                     f"|loss diff| {check['loss_abs_diff']:.1e}")
        lines.append(f"  max rel diff: parameter grads {check['grads_max_rel_diff'][worst]:.1e} (worst "
                     f"{worst}), dL/dx {check['input_grad_max_rel_diff']:.1e}, Grad-CAM maps "
                     f"{check['gradcam_max_rel_diff']:.1e} ({check['gradcam_same_class']}/"
                     f"{check['batch_size']} same predicted class)")
        routed = check["pool_windows_routed_differently"]
        lines.append("  max-pool windows whose winner differs (float32 near-ties): "
                     + ", ".join(f"{name} {count}" for name, count in routed.items()))
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m npnet.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median taken)")
    parser.add_argument("--compare", choices=["torch"], help="also time the PyTorch twin and check it agrees")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--out", help="also write the JSON to this file")
    parser.add_argument("--skip-first-call", action="store_true",
                        help="do not spawn the fresh process that measures first_call_s")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    runtime.keep_freed_memory()
    result = {"batch_size": args.batch_size, "repeats": args.repeats}
    if not args.skip_first_call:             # first, while this process holds little memory
        result["first_call_numba_cache"] = numba_cache_present()
        result["first_call_s"] = first_call_seconds(args.batch_size)
    result.update(bench_npnet(args.batch_size, args.repeats))
    result["peak_rss_mb"] = peak_rss_mb()
    result["threads"] = thread_settings()
    if args.compare == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            result["compare_note"] = ("note: torch is not installed, comparison skipped "
                                      "(pip install -e '.[bench]')")
        else:
            result["torch"] = bench_torch(args.batch_size, args.repeats)
            result["ratios"] = {key: result[f"{key}_img_per_s"] / result["torch"][f"{key}_img_per_s"]
                                for key in ("train", "infer", "gradcam")}
            result["correctness"] = compare_with_torch(args.batch_size)
            result["peak_rss_mb_with_torch"] = peak_rss_mb()
    text = json.dumps(result, indent=2)
    print(text if args.json else format_table(result))
    if args.out:
        with open(args.out, "w") as file:
            file.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
