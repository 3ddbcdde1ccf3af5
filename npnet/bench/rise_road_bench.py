"""RISE and ROAD beside their references, a part of ``python -m npnet.bench --explain``.

Neither fits the main table's columns (a pytorch-grad-cam class or a Captum recipe per method):
    rise  npnet ``attribution(..., "rise")``, 4000 masks of 8x8 cells, p = 0.5, 256 rows per forward,
          beside TorchRay's ``torchray.attribution.rise.rise`` with the same numbers (num_masks=4000,
          num_cells=8, p=0.5, batch_size=256 masks per forward) on the PyTorch twin. Captum has no RISE
          and the authors' code (github eclique/RISE) is not a package. TorchRay's RISE is the same work
          (one forward per image and mask, one product with the masks), not the same numbers: it takes
          the sigmoid of the logits where the authors take the softmax, cuts its masks from an (H + cell)
          upsampling of a reflect-padded grid, and does not divide by p.
    road  npnet ``road.road_curves`` (MoRF and LeRF at 10 .. 90 %, noise 0.01) beside pytorch-grad-cam's
          ROADMostRelevantFirstAverage and ROADLeastRelevantFirstAverage (the same 18 imputations and
          forwards per image) on the same maps (seeded uniform noise: the speed does not depend on them).
Each on ``images`` random images (the slow methods' count, at most RISE_IMAGES for RISE), 1 warm-up
and the median of 2 runs, as the main table's slow methods; no "as shipped" column. A reference
that is not installed, or fails, leaves its cell empty and a note.
"""
import statistics
import time

import numpy as np

RISE_IMAGES = 8
RISE_SETTINGS = {"masks": 4000, "cells": 8, "keep": 0.5, "batch_size": 256}
WARMUP, REPEATS = 1, 2


def median_rate(run, count):
    for _ in range(WARMUP):
        run()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def torchray_rise_runner(net, x_nchw):
    from torchray.attribution.rise import rise
    return lambda: rise(net, x_nchw, num_masks=RISE_SETTINGS["masks"], num_cells=RISE_SETTINGS["cells"],
                        p=RISE_SETTINGS["keep"], batch_size=RISE_SETTINGS["batch_size"])


def grad_cam_road_runner(grad_cam, net, x_nchw, maps, classes):
    from pytorch_grad_cam.metrics.road import ROADLeastRelevantFirstAverage, ROADMostRelevantFirstAverage
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    targets = [ClassifierOutputTarget(int(c)) for c in classes]
    most, least = ROADMostRelevantFirstAverage(), ROADLeastRelevantFirstAverage()
    cams = maps.astype(np.float32)
    return lambda: (most(x_nchw, cams, targets, net), least(x_nchw, cams, targets, net))


def bench_rise_and_road(model, x, classes, twin_nchw=None, grad_cam=None):
    """[{"method", "images", "npnet", "reference", "reference_name"}] and notes; x (N, 32, 32, 3) float32."""
    from ..explain.faithfulness import metrics, road
    from ..explain.methods import attribution
    rows, notes = [], []
    x_nchw = None
    if twin_nchw is not None:
        import torch
        x_nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    count = min(len(x), RISE_IMAGES)
    row = {"method": "rise", "images": count, "reference_name": "TorchRay", "npnet": None, "reference": None}
    row["npnet"] = median_rate(lambda: attribution(model, x[:count], "rise", classes=classes[:count],
                                                   **RISE_SETTINGS), count)
    if x_nchw is not None:
        try:
            import torch
            with torch.no_grad():
                row["reference"] = median_rate(torchray_rise_runner(twin_nchw, x_nchw[:count]), count)
        except Exception as error:                       # not installed, or fails beside this torch
            notes.append(f"TorchRay rise: {type(error).__name__}: {error}")
    rows.append(row)
    maps = metrics.random_maps(len(x), 32, 32, seed=0)
    row = {"method": "road", "images": len(x), "reference_name": "pytorch-grad-cam", "npnet": None, "reference": None}
    row["npnet"] = median_rate(lambda: road.road_curves(model, x, maps, classes, batch_size=256), len(x))
    if x_nchw is not None and grad_cam is not None:
        try:
            row["reference"] = median_rate(grad_cam_road_runner(grad_cam, twin_nchw, x_nchw, maps, classes), len(x))
        except Exception as error:
            notes.append(f"pytorch-grad-cam ROAD: {type(error).__name__}: {error}")
    rows.append(row)
    return rows, notes


def format_rise_and_road(rows):
    """Lines for the table's foot: images/s of npnet and the reference, and their ratio."""
    def cell(value):
        return "-" if value is None else f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    lines = [f"{'RISE and ROAD':24}{'npnet':>10}{'reference':>11}  {'':18}{'ratio':>6}   (images/s; 1 warm-up + "
             "median of 2)"]
    for row in rows:
        ratio = f"{row['npnet'] / row['reference']:.2f}x" if row["npnet"] and row["reference"] else "-"
        label = f"{row['method']} ({row['images']} images)"
        lines.append(f"{label:24}{cell(row['npnet']):>10}{cell(row['reference']):>11}  {row['reference_name']:18}"
                     f"{ratio:>6}")
    return lines
