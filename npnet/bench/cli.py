"""The benchmark's command line: run the figures, print the table or the JSON."""
import argparse
import json
import sys

from ..runtime import process as runtime
from .against_onnxruntime import bench_onnxruntime
from .against_torch import bench_torch, bench_torch_as_shipped, compare_with_torch
from .engine import WARMUP, bench_npnet, first_call_seconds, numba_cache_present
from .machine import cpu_description, peak_rss_mb, thread_settings


ROWS = (("train", "train step (img/s)"), ("infer", "inference (img/s)"),
        ("forward", "forward, caches kept"), ("gradcam", "Grad-CAM (img/s)"))
#: what each other engine's figure is compared with: its inference with npnet's inference path
COLUMNS = (("torch", "", "torch, this process"), ("torch_as_shipped", "_as_shipped", "torch as shipped"),
           ("onnxruntime", "_onnxruntime", "onnxruntime"))


def format_table(result):
    """The figures as a small text table: npnet, and where compared, each other engine's column with the
    ratio npnet/engine in brackets (above 1: npnet is faster); '-' where that engine has no such figure
    (ONNX Runtime only infers; 'forward, caches kept' is npnet's own forward before a backward)."""
    columns = [(label, result[key], result[f"ratios{suffix}"]) for key, suffix, label in COLUMNS if key in result]
    lines = [f"npnet benchmark: seed net, batch {result['batch_size']}, median of {result['repeats']} "
             f"({WARMUP} warm-up runs excluded)",
             f"{'':24}{'npnet':>10}" + "".join(f"{label:>24}" for label, _, _ in columns)]
    for key, label in ROWS:
        if key + "_img_per_s" not in result:
            continue
        line = f"{label:24}{result[key + '_img_per_s']:>10,.0f}"
        for _, figures, ratio in columns:
            figure = figures.get(key + "_img_per_s")
            line += f"{'-':>24}" if figure is None or key not in ratio else \
                f"{figure:>16,.0f} ({ratio[key]:.2f}x)"
        lines.append(line)
    if result.get("first_call_s") is not None:
        cache = "loaded from cache" if result["first_call_numba_cache"] else "compiled"
        lines.append(f"{'first call (s)':24}{result['first_call_s']:>10.2f}   (numba kernels {cache})")
    lines.append(f"{'peak RSS (MB)':24}{result['peak_rss_mb']:>10,.0f}")
    threads = result["threads"]
    env = ", ".join(f"{k}={v}" for k, v in threads["env"].items() if v is not None) or "none set"
    lines.append(f"threads: numba {threads['numba']} ({threads['numba_layer']}), "
                 f"BLAS {threads['blas']} (OpenBLAS {threads.get('blas_core')} kernels)"
                 + (f", torch {result['torch']['threads']}" if "torch" in result else "")
                 + f", {threads['cpu_count']} cores; env: {env}")
    cpu = result.get("cpu")
    if cpu:
        flags = "unknown" if cpu["vector_flags"] is None else " ".join(cpu["vector_flags"]) or "none of the listed"
        lines.append(f"cpu: {cpu['model']}; vector flags: {flags}")
    if "torch" in result:
        lines.append("torch, this process: the twin fed npnet's NHWC batch (channels-last convolutions), "
                     "with npnet's allocator setting; torch as shipped: a fresh process, NCHW input, "
                     "default allocator")
    if "onnxruntime" in result:
        ort = result["onnxruntime"]
        lines.append(f"onnxruntime {ort['version']}: the net exported by npnet.convert, intra_op_num_threads "
                     f"{ort['threads']}; max |logits diff| from npnet {ort['logits_max_abs_diff']:.1e}")
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


def ratios(result, other):
    """npnet's images/s over the other engine's, per figure the other engine has."""
    return {key: result[f"{key}_img_per_s"] / other[f"{key}_img_per_s"]
            for key in ("train", "infer", "gradcam") if f"{key}_img_per_s" in other}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m npnet.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=None, help="default 1024 (256 with --explain)")
    parser.add_argument("--explain", action="store_true",
                        help="time every explanation method beside pytorch-grad-cam and Captum (where installed)")
    parser.add_argument("--slow-images", type=int, default=32,
                        help="with --explain: images for the slow methods (ScoreCAM, IG, Occlusion, ...)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median taken)")
    parser.add_argument("--compare", choices=["torch", "onnxruntime", "all"],
                        help="also time the net in PyTorch (two ways, checking the twin agrees), in ONNX Runtime "
                             "(inference, the net exported by npnet.convert), or both (all)")
    parser.add_argument("--influence", metavar="RUN", help="time influence (TracIn, the index) on a run kept "
                        "with --checkpoint-every, its queries the mistakes on --data")
    parser.add_argument("--attacks", metavar="MODEL", help="time PGD-20 on --data beside Captum's and "
                        "torchattacks' PGD on the PyTorch twin (where installed)")
    parser.add_argument("--images", type=int, default=12630, help="with --attacks: images attacked (default 12,630, "
                        "the official test split's size; a smaller split is repeated)")
    parser.add_argument("--data", help="with --influence: the split whose mistakes are the queries; with "
                        "--attacks: the split attacked")
    parser.add_argument("--queries", type=int, help="with --influence: at most this many mistakes")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--out", help="also write the JSON to this file")
    parser.add_argument("--skip-first-call", action="store_true",
                        help="do not spawn the fresh process that measures first_call_s")
    return parser.parse_args(argv)


def emit(result, args, format_table):
    """Print the result (JSON with --json, else its table), write the JSON to --out; status 0."""
    text = json.dumps(result, indent=2)
    print(text if args.json else format_table(result))
    if args.out:
        with open(args.out, "w") as file:
            file.write(text + "\n")
    return 0


def main(argv=None):
    args = parse_args(argv)
    runtime.keep_freed_memory()
    if args.influence:
        from .influence import bench_influence, format_influence
        runtime.tune()
        result = bench_influence(args.influence, args.data, args.queries)
        try:
            import captum  # noqa: F401
        except ImportError:
            result["captum_note"] = "captum is not installed: pip install -e '.[training-data]'"
        else:
            from .influence import bench_captum
            result["captum"] = bench_captum(args.influence, args.data, queries=args.queries)
        return emit(result, args, format_influence)
    if args.attacks:
        from .attacks import bench_attacks, format_attacks
        runtime.tune()
        return emit(bench_attacks(args.attacks, args.data, args.images), args, format_attacks)
    if args.explain:
        from .explain_bench import bench_explain, format_explain_table
        return emit(bench_explain(args.batch_size or 256, args.repeats, args.slow_images), args, format_explain_table)
    args.batch_size = args.batch_size or 1024
    result = {"batch_size": args.batch_size, "repeats": args.repeats, "warmup": WARMUP}
    if not args.skip_first_call:             # first, while this process holds little memory
        result["first_call_numba_cache"] = numba_cache_present()
        result["first_call_s"] = first_call_seconds(args.batch_size)
    result.update(bench_npnet(args.batch_size, args.repeats))
    result["peak_rss_mb"] = peak_rss_mb()
    result["threads"] = thread_settings()
    result["cpu"] = cpu_description()
    if args.compare in ("onnxruntime", "all"):
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError:
            result["compare_note"] = ("note: onnx or onnxruntime is not installed, ONNX Runtime skipped "
                                      "(pip install -e '.[bench]')")
        else:
            result["onnxruntime"] = bench_onnxruntime(args.batch_size, args.repeats)
            result["ratios_onnxruntime"] = ratios(result, result["onnxruntime"])
    if args.compare in ("torch", "all"):
        try:
            import torch  # noqa: F401
        except ImportError:
            note = "note: torch is not installed, comparison skipped (pip install -e '.[bench]')"
            result["compare_note"] = "\n".join(filter(None, [result.get("compare_note"), note]))
        else:
            result["torch"] = bench_torch(args.batch_size, args.repeats)
            result["torch_as_shipped"] = bench_torch_as_shipped(args.batch_size, args.repeats)
            for suffix in ("", "_as_shipped"):
                result[f"ratios{suffix}"] = ratios(result, result[f"torch{suffix}"])
            result["correctness"] = compare_with_torch(args.batch_size)
            result["peak_rss_mb_with_torch"] = peak_rss_mb()
    return emit(result, args, format_table)


if __name__ == "__main__":
    sys.exit(main())
