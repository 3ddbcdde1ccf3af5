"""How fast the engine runs the seed net, and (optionally) how it compares with PyTorch.

    python -m npnet.bench                     # table: train / infer / Grad-CAM images per second
    python -m npnet.bench --json --out b.json # the same figures as one JSON object
    python -m npnet.bench --compare torch     # + the same net in PyTorch, ratios, and a correctness line
    python -m npnet.bench --compare all       # + PyTorch and ONNX Runtime (inference)

What each figure times (batch ``--batch-size``, default 1024, of random 32x32x3 float32 images):
    train_img_per_s    forward(training=True) + softmax cross-entropy + backward(input_grad=False)
                       + Adam step
    infer_img_per_s    predict_logits: the inference path that keeps no caches (``npnet.engine.inference``)
    forward_img_per_s  forward(training=False), which keeps every cache a backward needs (what
                       Grad-CAM and the gradient methods run)
    gradcam_img_per_s  forward(training=False), dlogits = one-hot of the predicted class,
                       backward(stop_at='conv2d_3'), then the 6x6 maps: ``npnet.explain.grad_cam``
                       with upsample=False
    first_call_s       a fresh Python process, timed inside it from before ``import npnet`` to the end
                       of its first training step: import + numba compile (or cache load) + one step
    peak_rss_mb        the largest resident memory of this process while benchmarking npnet

--compare torch times the same net in PyTorch twice, on numba's thread count. A training step is
forward + CrossEntropyLoss + backward + torch.optim.Adam(lr=0.001, eps=1e-7) with dropout active;
inference runs under ``torch.inference_mode``; Grad-CAM hooks conv2d_3's ReLU and takes dy/dA only.
    torch              in this process: ``npnet.bench.torch_twin`` (same weights), fed npnet's NHWC batch,
                       so its convolutions run channels-last, and with the allocator setting npnet's
                       tools make (``runtime.keep_freed_memory``), which PyTorch profits from too
    torch_as_shipped   a fresh process that never imports npnet: the net as PyTorch's tutorials write
                       it (NCHW input), with the user's environment and glibc's default allocator
                       (``torch_as_shipped.py``)
--compare onnxruntime times inference in ONNX Runtime: the seed net exported by npnet.convert (same
weights), ``intra_op_num_threads`` = numba's thread count (``against_onnxruntime.py``).
The ratio npnet/torch is npnet's images/s over torch's (above 1: npnet is faster). It then checks
both engines give the same numbers on the same weights and batch.

The first WARMUP (3) runs of each figure are excluded: over the first steps of a training step
the allocator is still growing its heap (tens of thousands of page faults in the first, a few
thousand in the next ones), and a training run is thousands of steps. Each figure is the median of
``--repeats`` further runs (default 5). Speed is measured here, never asserted in a test. Timings
on a busy machine are noise: measure on an idle one.
"""
from ..runtime import process as runtime  # noqa: F401  (tests replace runtime.keep_freed_memory through here)

runtime.quiet_thread_pools()  # before numpy loads; main() keeps freed memory too (runtime.tune)

from .cli import format_table, main, parse_args  # noqa: F401
from .engine import bench_npnet, first_call_seconds, grad_cam, make_batch  # noqa: F401
from .machine import THREAD_ENV, blas_core, blas_threads, cpu_description, peak_rss_mb, thread_settings  # noqa: F401
