"""``python -m npnet.bench --explain``: images/s of every explanation method, npnet beside the same
method in pytorch-grad-cam, Captum and zennit on the PyTorch twin (same weights, same thread count).

Each engine explains the same batch of random 32x32x3 images for the same classes (the twin's predicted
class, computed once outside the timing). npnet runs ``npnet.explain.methods.cam`` (upsampled to 32x32,
as pytorch-grad-cam returns its maps) or ``attribution``; the references get the twin without its
NHWC->NCHW permute, so they are fed NCHW as they expect. The CAM target layer is conv2d_3's ReLU
(npnet's conv2d_3.output). Fast methods: ``--batch-size`` images (256), WARMUP runs excluded, median of
``--repeats``; slow ones (SLOW): ``--slow-images`` images (32), 1 warm-up, median of 2 runs, reported
as images/s all the same. The "as shipped" column is the same reference run by ``explain_as_shipped.py``
in a fresh process (NCHW net, glibc's default allocator, no npnet settings), as ``--compare torch``'s
second PyTorch column. The LRP methods' reference is zennit (``Gradient`` with the composite, the output
relevance the class's logit); EpsilonGammaBox's box is the bench images' range, [0, 1] (``BOX``), for both.
Methods npnet does not have yet (``methods`` or its family files missing) are listed as missing; torch,
grad-cam, captum or zennit not installed: their columns say n/a.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import numba
import numpy as np

from ..runtime import process as runtime
from .against_torch import RUN_AS_MAIN
from .engine import WARMUP, make_batch
from .reference_methods import (CAPTUM_SETTINGS, REFERENCES, ZENNIT, ZENNIT_SETTINGS, captum_runner, grad_cam_runner,
                                import_grad_cam, import_zennit, zennit_runner)
from .rise_road_bench import bench_rise_and_road, format_rise_and_road

CAM_LAYER = "conv2d_3"
SLOW = {"scorecam", "ablationcam", "integrated_gradients", "smoothgrad", "smoothgrad_squared", "occlusion"}
SLOW_WARMUP, SLOW_REPEATS = 1, 2
BEST_CHECKPOINT = "runs/best/best.h5"
BOX = (0.0, 1.0)         # make_batch's images are in [0, 1): EpsilonGammaBox's low and high, npnet's and zennit's

# npnet method -> (verb, options wanted: only those the function takes are passed); the references
# of each method are in reference_methods.REFERENCES
BENCH_SETTINGS = {
    "gradcam": ("cam", {}),
    "gradcam++": ("cam", {}),
    "xgradcam": ("cam", {}),
    "hirescam": ("cam", {}),
    "layercam": ("cam", {}),
    "scorecam": ("cam", {}),
    "ablationcam": ("cam", {}),
    "eigencam": ("cam", {}),
    "saliency": ("attribution", {}),
    "input_x_gradient": ("attribution", {}),
    "guided_backprop": ("attribution", {}),
    "deconvnet": ("attribution", {}),
    "guided_gradcam": ("attribution", {}),
    "integrated_gradients": ("attribution", {"steps": 50, "n_steps": 50}),
    "smoothgrad": ("attribution", {"samples": 50, "n_samples": 50}),
    "smoothgrad_squared": ("attribution", {"samples": 50, "n_samples": 50}),
    "occlusion": ("attribution", {"window": 4, "stride": 2}),
    "lrp_epsilon": ("attribution", {}),
    "lrp_epsilon_plus_flat": ("attribution", {}),
    "lrp_epsilon_alpha2_beta1_flat": ("attribution", {}),
    "lrp_epsilon_gamma_box": ("attribution", {"low": BOX[0], "high": BOX[1]}),
    "deeplift": ("attribution", {}),
}
AS_SHIPPED_SCRIPT = os.path.join(os.path.dirname(__file__), "explain_as_shipped.py")


def timed(run, repeats, warmup):
    """Seconds of ``repeats`` calls of ``run()`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def load_model(checkpoint=BEST_CHECKPOINT):
    """(model, 'trained <path>') when the checkpoint exists, else (seed_net(), 'untrained')."""
    import os
    from ..engine.seed_net import seed_net
    if checkpoint and os.path.exists(checkpoint):
        from ..io.checkpoint import load
        model, _ = load(checkpoint)
        return model, f"trained ({checkpoint})"
    return seed_net(), "untrained seed_net()"


def npnet_methods():
    """{name: callable(model, x, classes)} for the methods npnet has now, and a note on what failed.

    ``npnet.explain.methods`` imports every family file; while some are not written yet it cannot be
    imported, and then the CAMs of ``cams.py`` are called the way ``methods.cam`` calls them."""
    try:
        from ..explain import methods
    except ImportError as error:
        note = f"npnet.explain.methods not importable ({error}); CAMs from npnet.explain.cams only"
        try:
            from ..explain import cams
            from ..explain.gradcam import bilinear_upsample, target_layer
        except ImportError:
            return {}, note
        table = {"gradcam": "gradcam", "gradcam++": "gradcam_plus_plus", "xgradcam": "xgradcam",
                 "hirescam": "hirescam", "layercam": "layercam", "eigencam": "eigencam"}
        found = {}
        for name, attr in table.items():
            function = getattr(cams, attr, None)
            if function is not None:
                found[name] = (lambda f: lambda model, x, classes: bilinear_upsample(
                    f(model, x, classes, target_layer(model, CAM_LAYER)), x.shape[1:3]))(function)
        return found, note
    found = {}
    for name, (verb, wanted) in BENCH_SETTINGS.items():
        table = methods.CAM_METHODS if verb == "cam" else methods.ATTRIBUTION_METHODS
        if name not in table:
            continue
        valid = methods.option_names(table[name].function)
        options = {key: value for key, value in wanted.items() if key in valid}
        if verb == "cam":
            found[name] = (lambda n, o: lambda model, x, classes: methods.cam(
                model, x, n, classes=classes, layer=CAM_LAYER, **o))(name, options)
        else:
            found[name] = (lambda n, o: lambda model, x, classes: methods.attribution(
                model, x, n, classes=classes, **o))(name, options)
    return found, None


def bench_as_shipped(methods, batch_size, repeats, slow_images):
    """The references of ``methods`` timed by ``explain_as_shipped.py`` in a fresh process, started
    without the environment settings npnet made (as ``against_torch.bench_torch_as_shipped``)."""
    environment = {key: value for key, value in os.environ.items() if key not in runtime.set_here}
    command = [sys.executable, "-c", RUN_AS_MAIN, AS_SHIPPED_SCRIPT, "--threads", str(numba.get_num_threads()),
               "--methods", ",".join(methods), "--slow", ",".join(sorted(SLOW)),
               "--batch-size", str(batch_size), "--slow-images", str(slow_images),
               "--repeats", str(repeats), "--warmup", str(WARMUP),
               "--slow-repeats", str(SLOW_REPEATS), "--slow-warmup", str(SLOW_WARMUP)]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the explanation-methods-as-shipped subprocess failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rate(times, count):
    return count / statistics.median(times)


def bench_explain(batch_size=256, repeats=5, slow_images=32, with_torch=True, only=None, checkpoint=BEST_CHECKPOINT,
                  as_shipped=True):
    """One row per method: {'method', 'images', 'npnet', 'grad_cam', 'captum', 'zennit', 'as_shipped'} (img/s,
    or None) and notes. 'grad_cam', 'captum' and 'zennit' run in this process on the twin; 'as_shipped' is the same
    reference run by ``explain_as_shipped.py`` in a fresh process (``as_shipped=False``: not run).
    Exceptions of one engine on one method become a note; the other columns still run."""
    model, weights = load_model(checkpoint)
    found, npnet_note = npnet_methods()
    notes = [f"weights: {weights}"] + ([npnet_note] if npnet_note else [])
    torch = grad_cam = captum_ok = zennit = None
    if with_torch:
        try:
            import torch
        except ImportError:
            torch = None
            notes.append("torch not installed: reference columns skipped (pip install -e '.[explain-bench]')")
    if torch is not None:
        from . import torch_twin
        torch.set_num_threads(numba.get_num_threads())
        twin = torch_twin.from_npnet(model).eval()
        twin_nchw = twin[1:]                               # without input_to_nchw: takes NCHW
        layer = twin_nchw.get_submodule(f"{CAM_LAYER}_relu")
        grad_cam, note = import_grad_cam()
        if note:
            notes.append(note)
        try:
            import captum.attr  # noqa: F401
            captum_ok = True
        except ImportError as error:
            notes.append(f"captum not installed ({error})")
        zennit, note = import_zennit()
        if note:
            notes.append(note)
    x_all, _ = make_batch(max(batch_size, slow_images))
    rows = []
    for name in BENCH_SETTINGS:
        if only and name not in only:
            continue
        grad_cam_class, captum_recipe = REFERENCES[name]
        slow = name in SLOW
        count = min(slow_images, batch_size) if slow else batch_size
        warmup, runs = (SLOW_WARMUP, SLOW_REPEATS) if slow else (WARMUP, repeats)
        x = np.ascontiguousarray(x_all[:count])
        row = {"method": name, "images": count, "runs": runs, "npnet": None, "grad_cam": None, "captum": None,
               "zennit": None, "as_shipped": None,
               "npnet_status": "missing", "grad_cam_status": "-" if grad_cam_class is None else "n/a",
               "captum_status": "-" if captum_recipe is None else "n/a",
               "zennit_status": "n/a" if name in ZENNIT else "-"}
        classes = model.forward(x, training=False).argmax(axis=1)
        if torch is not None:
            x_nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
            with torch.no_grad():
                classes = twin_nchw(x_nchw).argmax(dim=1).numpy()
        if name in found:
            try:
                row["npnet"] = rate(timed(lambda: found[name](model, x, classes), runs, warmup), count)
                row["npnet_status"] = "ok"
            except Exception as error:  # a method being written may still fail: report, go on
                row["npnet_status"] = "error"
                notes.append(f"npnet {name}: {type(error).__name__}: {error}")
        if torch is not None and grad_cam is not None and grad_cam_class is not None:
            cam = None
            try:
                cam, run = grad_cam_runner(grad_cam, grad_cam_class, twin_nchw, layer, x_nchw, classes)
                row["grad_cam"] = rate(timed(run, runs, warmup), count)
                row["grad_cam_status"] = "ok"
            except Exception as error:
                row["grad_cam_status"] = "error"
                notes.append(f"pytorch-grad-cam {grad_cam_class}: {type(error).__name__}: {error}")
            finally:
                if cam is not None:
                    cam.activations_and_grads.release()
        if torch is not None and captum_ok and captum_recipe is not None:
            try:
                run = captum_runner(captum_recipe, twin_nchw, layer, x_nchw.clone().requires_grad_(False), classes)
                row["captum"] = rate(timed(run, runs, warmup), count)
                row["captum_status"] = "ok"
            except Exception as error:
                row["captum_status"] = "error"
                notes.append(f"Captum {captum_recipe}: {type(error).__name__}: {error}")
        if torch is not None and zennit is not None and name in ZENNIT:
            try:
                run = zennit_runner(zennit, ZENNIT[name], twin_nchw, x_nchw, classes, low=BOX[0], high=BOX[1])
                row["zennit"] = rate(timed(run, runs, warmup), count)
                row["zennit_status"] = "ok"
            except Exception as error:
                row["zennit_status"] = "error"
                notes.append(f"zennit {ZENNIT[name]}: {type(error).__name__}: {error}")
        rows.append(row)
    rise_road = []
    if not only or {"rise", "road"} & set(only):          # RISE and ROAD beside TorchRay and pytorch-grad-cam
        x_slow = np.ascontiguousarray(x_all[:slow_images])
        rise_road, found_notes = bench_rise_and_road(model, x_slow, model.forward(x_slow, training=False).argmax(axis=1),
                                                     twin_nchw if torch is not None else None, grad_cam)
        notes += found_notes
    if torch is not None and as_shipped:
        try:
            shipped = bench_as_shipped([row["method"] for row in rows], batch_size, repeats, slow_images)
        except RuntimeError as error:
            notes.append(str(error))
        else:
            notes += [f"as shipped: {note}" for note in shipped["notes"]]
            for row in rows:
                row["as_shipped"] = shipped["img_per_s"].get(row["method"])
    return {"batch_size": batch_size, "repeats": repeats, "warmup": WARMUP, "slow_images": slow_images,
            "threads": numba.get_num_threads(), "torch": getattr(torch, "__version__", None),
            "rows": rows, "rise_road": rise_road, "notes": notes}


def ratio(row):
    """npnet img/s over the faster in-process reference's, or None."""
    references = [v for v in (row["grad_cam"], row["captum"], row.get("zennit")) if v]
    return row["npnet"] / max(references) if row["npnet"] and references else None


def ratio_as_shipped(row):
    """npnet img/s over the reference's as shipped (fresh process), or None."""
    return row["npnet"] / row["as_shipped"] if row["npnet"] and row.get("as_shipped") else None


def format_explain_table(result):
    def cell(row, key):
        value = row.get(key)
        if value is not None:
            return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
        return row.get(f"{key}_status", "-")

    def times(value):
        return f"{value:.2f}x" if value else "-"
    lines = [f"explanation methods: images/s, seed net, batch {result['batch_size']} (slow methods *: "
             f"{result['slow_images']} images, {SLOW_WARMUP} warm-up + median of {SLOW_REPEATS}; others "
             f"{result['warmup']} warm-ups excluded + median of {result['repeats']}), "
             f"{result['threads']} threads, torch {result['torch'] or 'absent'}",
             f"{'method':32}{'npnet':>10}{'pytorch-grad-cam':>18}{'Captum':>10}{'zennit':>10}{'ratio':>8}"
             f"{'as shipped':>12}{'ratio':>8}"]
    for row in result["rows"]:
        label = row["method"] + (" *" if row["method"] in SLOW else "")
        lines.append(f"{label:32}{cell(row, 'npnet'):>10}{cell(row, 'grad_cam'):>18}{cell(row, 'captum'):>10}"
                     f"{cell(row, 'zennit'):>10}{times(ratio(row)):>8}{cell(row, 'as_shipped'):>12}"
                     f"{times(ratio_as_shipped(row)):>8}")
    lines.append("ratio: npnet over the faster reference in this process (above 1: npnet faster); as shipped: "
                 "the same reference in a fresh process, NCHW net, default allocator, and npnet over it; "
                 "missing: not in npnet yet; n/a: package absent; -: no such method there")
    lines.append(f"references: {CAPTUM_SETTINGS}; {ZENNIT_SETTINGS}; CAM layer conv2d_3")
    lines += format_rise_and_road(result["rise_road"]) if result.get("rise_road") else []
    lines += [f"note: {note}" for note in result["notes"]]
    return "\n".join(lines)
