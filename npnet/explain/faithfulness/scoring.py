"""Scoring explanations against the signs' boxes and the weights: the numbers behind ``explain.py
faithfulness`` and the report's faithfulness table, computed one way for both.

    rows, curves, energies = score_methods(net, x, boxes, classes, methods, seed=0, steps=32, batch_size=512)

Each method in ``methods`` (names as ``metrics.method_maps`` takes them), then the two baselines a
method must beat (``BASELINES``: a centred Gaussian blob and uniform noise, which ignore the image and
the weights), is scored chunk by chunk on the same images:

    energy_in_box   mean share of the map's positive mass inside the sign's box   (higher is better)
    pointing_game   share of maps whose maximum lies in the box                  (higher is better)
    deletion_auc    area under p(class) as the map's top pixels become 0 (RISE) (lower is better)
    insertion_auc   area under p(class) as they are restored                    (higher is better)
    road_morf       ROAD (Rong et al. 2022): accuracy as the map's top 10..90 % of pixels are
                    removed and imputed, the curve's mean height               (lower is better)
    road_lerf       the same removing the map's bottom pixels first            (higher is better)
    randomization   Spearman correlation with the maps of a fully randomized copy of the net
                    (Adebayo et al. 2018; nearer 0 means the map depends on the weights)
    seconds_per_image, empty_maps (no positive mass: left out of energy), randomization_constant_maps

x: the model's input (N, H, W, C); boxes (N, 4) float64 in input pixels; classes (N,) the class each
map explains. The deletion/insertion curves' shared ends are computed once for every method
(``metrics.curve_ends``); deleted pixels become 0 in the model's input. ROAD's accuracy is that of
the class each map explains (``road``); its noise is seeded by ``seed`` and each image's place in x.
Which methods to read first: ``ranking``.
"""
import time

import numpy as np

from . import metrics, road

BASELINES = ("centre", "random")
COLUMNS = ("energy_in_box", "pointing_game", "deletion_auc", "insertion_auc", "road_morf", "road_lerf",
           "randomization", "seconds_per_image", "empty_maps", "randomization_constant_maps")


def score_methods(net, x, boxes, classes, methods, seed=0, steps=32, batch_size=512, progress=None):
    """({name: row}, {name: curves}, {name: energies (N,)}) for each method, then each baseline.

    row: {column: value} (means; NaN energies left out and counted); curves: the mean deletion and
    insertion curves (steps + 1,) with their x, and the ROAD accuracy curves with theirs; energies: each image's energy in the box (NaN for an
    empty map). ``progress(name, done, chunks)``, when given, is called after each chunk of each method.
    """
    randomized = fully_randomized(net, seed)
    ends = metrics.curve_ends(net, x, classes, 0.0, batch_size)          # the same for every method
    rows, curves, energies = {}, {}, {}
    for name, explain in explainers(methods, x, classes, seed).items():
        def chunk_done(done, chunks, name=name):
            if progress is not None:
                progress(name, done, chunks)
        rows[name], curves[name], energies[name] = score(net, randomized, x, boxes, ends, explain, steps,
                                                         batch_size, chunk_done, seed)
    return rows, curves, energies


def score(net, randomized, x, boxes, ends, explain, steps=32, batch_size=512, chunk_done=None, seed=0):
    """Score one explanation, chunk by chunk. ``explain(net, rows)`` -> maps (n, H, W) of x[rows];
    ``randomized``: ``net`` with every weight re-initialized (``fully_randomized``); ``ends``: the
    classes and the curves' shared first and last points (``metrics.curve_ends``), for every method.

    ``chunk_done(done, chunks)`` is called after each chunk; ``seed``: ROAD's noise. Returns ({column:
    value} for the table, the mean deletion and insertion curves (steps + 1,) with their x and the mean
    ROAD curves with theirs, each image's energy).
    """
    energy, pointing, deletion, insertion, rho, seconds = [], [], [], [], [], 0.0
    morf, lerf = [], []
    for start in range(0, len(x), batch_size):
        rows = slice(start, start + batch_size)
        began = time.perf_counter()
        maps = metrics.check_maps(explain(net, rows), len(x[rows]))
        seconds += time.perf_counter() - began
        energy.append(metrics.energy_in_box(maps, boxes[rows]))
        pointing.append(metrics.pointing_game(maps, boxes[rows]))
        deleted, inserted, counts = metrics.deletion_and_insertion_curves(
            net, x[rows], maps, tuple(end[rows] for end in ends), steps, 0.0, batch_size)
        deletion.append(deleted)
        insertion.append(inserted)
        kept = road.road_curves(net, x[rows], maps, ends[0][rows], seed=seed, batch_size=batch_size,
                                first=start)
        morf.append(kept["morf"])
        lerf.append(kept["lerf"])
        rho.append(metrics.spearman(maps, explain(randomized, rows)))
        if chunk_done is not None:
            chunk_done(start // batch_size + 1, -(-len(x) // batch_size))
    energy, rho = np.concatenate(energy), np.concatenate(rho)
    deletion, insertion = np.concatenate(deletion), np.concatenate(insertion)
    morf, lerf = np.concatenate(morf), np.concatenate(lerf)
    fraction = counts / counts[-1]
    row = {"energy_in_box": metrics.nan_mean(energy[~np.isnan(energy)]),
           "pointing_game": float(np.concatenate(pointing).mean()),
           "deletion_auc": float(metrics.trapezoid(deletion, fraction).mean()),
           "insertion_auc": float(metrics.trapezoid(insertion, fraction).mean()),
           "road_morf": float(road.road_area(morf, kept["x"]).mean()),
           "road_lerf": float(road.road_area(lerf, kept["x"]).mean()),
           "randomization": metrics.nan_mean(rho[~np.isnan(rho)]),
           "seconds_per_image": seconds / len(x),
           "empty_maps": int(np.isnan(energy).sum()),
           "randomization_constant_maps": int(np.isnan(rho).sum())}
    curves = {"x": fraction, "deletion": deletion.mean(axis=0), "insertion": insertion.mean(axis=0),
              "road_x": kept["x"], "road_morf": morf.mean(axis=0), "road_lerf": lerf.mean(axis=0)}
    return row, curves, energy


def fully_randomized(net, seed):
    """A copy of ``net`` with every layer's weights re-initialized (the cascade's last stage)."""
    for _, randomized in metrics.randomized_copies(net, seed):
        pass
    return randomized


def explainers(methods, x, classes, seed):
    """{name: explain(net, rows)} for each method and then each baseline."""
    def method(name):
        return lambda net, rows: metrics.method_maps(net, x[rows], name, classes[rows])
    N, H, W, _ = x.shape
    fixed = {"centre": metrics.centre_maps(N, H, W), "random": metrics.random_maps(N, H, W, seed)}
    baselines = {name: (lambda net, rows, maps=maps: maps[rows]) for name, maps in fixed.items()}
    return {**{name: method(name) for name in methods}, **baselines}
