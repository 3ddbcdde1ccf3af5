"""The npnet figures: what is timed, and how."""
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from .. import explain
from ..engine.seed_net import seed_net
from ..engine.optimizers import Adam
from ..training.step import train_step

GRADCAM_LAYER = "conv2d_3"
WARMUP = 3          # runs excluded before timing (see the package docstring)

# What the fresh process runs for first_call_s; it prints the seconds from before `import npnet`.
FIRST_CALL_SCRIPT = """
import time
start = time.perf_counter()
from npnet.runtime.process import tune
tune()
import numpy as np
from npnet.engine.seed_net import seed_net
from npnet.engine.optimizers import Adam
from npnet.training.step import train_step
rng = np.random.default_rng(0)
x = rng.random(({n}, 32, 32, 3), dtype=np.float32)
labels = rng.integers(0, 43, size={n})
model, optimizer = seed_net(), Adam()
train_step(model, optimizer, x, labels)
print(time.perf_counter() - start)
"""


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


def median_seconds(run, repeats, warmup=WARMUP):
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


def bench_npnet(batch_size, repeats):
    """{'train_img_per_s', 'infer_img_per_s', 'forward_img_per_s', 'gradcam_img_per_s', 'seconds': {...}}."""
    x, labels = make_batch(batch_size)
    model, optimizer = seed_net(), Adam()
    seconds = {
        "train": median_seconds(lambda: train_step(model, optimizer, x, labels), repeats),
        "infer": median_seconds(lambda: model.predict_logits(x), repeats),
        "forward": median_seconds(lambda: model.forward(x, training=False), repeats),
        "gradcam": median_seconds(lambda: grad_cam(model, x), repeats),
    }
    result = {f"{key}_img_per_s": images_per_second(times, batch_size) for key, times in seconds.items()}
    result["seconds"] = seconds
    return result


def numba_cache_present():
    """Whether npnet's compiled kernels are already cached on disk (numba's index files)."""
    cache_dir = os.path.join(os.path.dirname(os.path.dirname(__file__)), "ops", "__pycache__")
    return os.path.isdir(cache_dir) and any(name.endswith(".nbi") for name in os.listdir(cache_dir))


def first_call_seconds(batch_size):
    """Import + compile-or-load + the first training step, timed inside a fresh interpreter."""
    script = FIRST_CALL_SCRIPT.format(n=int(batch_size))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the first-call subprocess failed:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])
