"""The ONNX Runtime side of ``--compare onnxruntime``: the seed net exported by npnet's own ONNX export
(``npnet.convert.onnx_export.to_onnx``, the same weights as npnet's figures), run by onnxruntime's CPU
provider in this process, with ``intra_op_num_threads`` = numba's thread count (one inter-op thread,
sequential execution, every graph optimization on: what a user serving the net would set up).

Inference only: ONNX Runtime's inference sessions do not train, and Grad-CAM needs a gradient.
The exported graph takes npnet's NHWC batch and transposes it to NCHW itself.
"""
import numba
import numpy as np

from ..engine.seed_net import seed_net
from .engine import images_per_second, make_batch, median_seconds


def session(model, threads):
    """An onnxruntime.InferenceSession of ``model`` on the CPU with ``threads`` intra-op threads."""
    import onnxruntime
    from ..convert.onnx_export import to_onnx
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(to_onnx(model).SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def bench_onnxruntime(batch_size, repeats):
    """{'infer_img_per_s', 'seconds', 'version', 'threads', 'logits_max_abs_diff'}: the images per second
    of ``session.run`` on the benchmark's batch, and how far its logits are from npnet's."""
    import onnxruntime
    threads = numba.get_num_threads()
    x, _ = make_batch(batch_size)
    model = seed_net()
    runner = session(model, threads)
    times = median_seconds(lambda: runner.run(["logits"], {"input": x}), repeats)
    logits = runner.run(["logits"], {"input": x})[0]
    return {"infer_img_per_s": images_per_second(times, batch_size), "seconds": {"infer": times},
            "version": onnxruntime.__version__, "threads": threads,
            "logits_max_abs_diff": float(np.abs(logits - model.predict_logits(x)).max())}
