"""explain.py faithfulness: is each explanation right? Every method scored on the signs' own boxes, beside
a centred Gaussian and uniform noise scored by the same code: energy in the box, pointing game, deletion
and insertion AUC (RISE), ROAD's MoRF and LeRF accuracy areas (Rong 2022), and the rank correlation with
the maps of a fully randomized model (Adebayo 2018; lower means the map depends on the weights). Then
every column as a rank and the methods in the order to read them (``faithfulness.ranking``). Maps as in
``npnet.explain.faithfulness.metrics``; the scores come from ``npnet.explain.faithfulness.scoring``,
which the report's table uses too. The boxes are the loaders' ``Dataset.boxes``: x1 * 32 / width ..
(x2 + 1) * 32 / width, as ``metrics.boxes_to_32``. Deleted pixels become 0 in the model's input.
s/image is the method's own time (its maps), not the scoring's."""
import json
import sys

import numpy as np
from tqdm import tqdm

from ...io.errors import NpnetError
from ...explain.faithfulness import metrics, ranking, road
from ...explain.faithfulness.scoring import BASELINES, COLUMNS, score_methods
from ...io.files import finite_json
from ...explain.plots import overlay, save, show_image
from ..boundary import one_line, whole_number
from .common import Model, cache_folder, load_labelled, out_dir, positive, trained_on_note, wrote

HELP = "score every explanation method on the sign boxes, beside a centred blob and noise"
PARENTS = ("model", "data")


def add_arguments(parser):
    parser.add_argument("--methods", default="all", metavar="A,B,...|all",
                        help="comma-separated methods (as for compare), or all (default)")
    parser.add_argument("--limit", type=positive, metavar="N", help="only the first N images, in file order")
    parser.add_argument("--target", choices=("true", "predicted"), default="true",
                        help="explain the true class (default, as localization benchmarks do) or the predicted one")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--steps", type=whole_number(1, 1024), default=32,
                        help="deletion/insertion steps, 1 to 1024 (default 32)")
    parser.add_argument("--batch-size", type=whole_number(1, 4096), default=512,
                        help="images per chunk, and rows per forward of deletion/insertion, 1 to 4096 (default 512)")
    parser.add_argument("--seed", type=whole_number(0), default=0, help="seed of the noise baseline and the random weights")


# -- the data -------------------------------------------------------------------------------------
def boxed_split(path, split, limit, cache_dir=None, model=None):
    """The split, cut to ``limit`` images, with (N, 4) float64 boxes; NpnetError when it has no boxes.
    ``model``: whose held-out tracks --split holdout means (``common.load_labelled``)."""
    data = load_labelled(path, split, cache_dir, model)
    if limit is not None:
        data = data.subset(slice(0, limit))
    if not len(data):
        raise NpnetError(f"{data.source}: holds no images")
    boxes = data.boxes.astype(np.float64)
    empty = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
    if empty.all():
        raise NpnetError(f"{data.source}: has no sign boxes (every box is empty); faithfulness needs GTSRB's boxes")
    if empty.any():
        raise NpnetError(f"{data.source}: {empty.sum()} of {len(data)} images have an empty sign box "
                         f"(first: image {np.argmax(empty)})")
    return data, boxes


# -- output ---------------------------------------------------------------------------------------
def split_rows(rows):
    """({method: row}, {baseline: row})."""
    return ({k: v for k, v in rows.items() if k not in BASELINES}, {k: v for k, v in rows.items() if k in BASELINES})


def table(rows, images, source, target):
    """The table as text: a row per method, then the baselines, then the order to read the methods in.
    '-' is no value (every map left out)."""
    methods, baselines = split_rows(rows)
    ranks = ranking.rank_rows(methods, baselines)
    wide = max([22, *map(len, rows)])                   # the name column fits the longest name
    lines = [f"faithfulness on {images} images of {one_line(source)}, explaining the {target} class",
             "(energy, pointing, insertion, ROAD LeRF: higher is better; deletion, ROAD MoRF: lower; randomization:",
             " nearer 0; rank: mean rank over the 7 columns, 1 = best; empty: maps without positive mass, left out",
             " of energy; constant: maps left out of randomization)",
             f"{'method':{wide}} {'energy':>7} {'pointing':>8} {'deletion':>8} {'insertion':>9} {'MoRF':>6} {'LeRF':>6} "
             f"{'random.':>7} {'rank':>5} {'s/image':>8} {'empty':>5} {'constant':>8}"]
    widths = (7, 8, 8, 9, 6, 6, 7)
    for name, row in rows.items():
        if name == BASELINES[0]:
            lines.append("baselines:")
        values = [row[c] for c in COLUMNS[:7]]
        cells = [f"{v:{w}.3f}" if np.isfinite(v) else f"{'-':>{w}}" for v, w in zip(values, widths)]
        mean = ranks[name]["mean"]
        lines.append(f"{name:{wide}} {' '.join(cells)} {'-' if mean is None else format(mean, '.1f'):>5} "
                     f"{row['seconds_per_image']:8.4f} {row['empty_maps']:5d} {row['randomization_constant_maps']:8d}")
    order = [name + "*" * bool(ranks[name]["marks"]) for name in ranking.ranking(methods, ranks)]
    lines.append(f"read first: {', '.join(order)} (* beats the centre on neither energy nor pointing, or "
                 f"|random.| >= {ranking.RANDOMIZATION_LIMIT})")
    return "\n".join(lines)


def as_json(rows, images):
    """One JSON object; NaN (no value) becomes null (``files.finite_json``), so the JSON is valid.
    "ranks": every method's and baseline's rank per column, mean rank and marks; "ranking": the
    method names, best first (``faithfulness.ranking``)."""
    methods, baselines = split_rows(rows)
    ranks = ranking.rank_rows(methods, baselines)
    document = {"images": images, "methods": methods, "baselines": baselines,
                "ranks": ranks, "ranking": ranking.ranking(methods, ranks)}
    return json.dumps(finite_json(document), allow_nan=False)


def run(args):
    from .compare import parse_methods
    methods = parse_methods(args.methods)
    model = Model(args.model, args.data)
    data, boxes = boxed_split(args.data, args.split, args.limit, cache_folder(args), model)
    trained_on_note(model, data, args.split, quiet=args.json)
    x = model.input(data.images)
    predicted = model.net.predict_proba(x, batch_size=args.batch_size).argmax(axis=1)
    classes = data.labels if args.target == "true" else predicted
    chunks = -(-len(x) // args.batch_size)
    with tqdm(total=chunks * (len(methods) + len(BASELINES)), desc="faithfulness", unit="chunk",
              file=sys.stderr, disable=None, leave=False) as bar:
        def progress(name, done, chunks):
            bar.set_postfix_str(name, refresh=False)
            bar.update(1)
        rows, curves, energies = score_methods(model.net, x, boxes, classes, methods, args.seed, args.steps,
                                               args.batch_size, progress)
    print(as_json(rows, len(x)) if args.json else table(rows, len(x), data.source, args.target))
    out = out_dir(args)
    for path in figures(model.net, data, x, boxes, classes, methods, curves, energies, args, out):
        wrote(path, quiet=args.json)
    return 0


# -- figures --------------------------------------------------------------------------------------
def figures(net, data, x, boxes, classes, methods, curves, energies, args, out):
    """The three figures; returns their paths."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    def draw_box(ax, box):
        x1, y1, x2, y2 = box        # pixel j spans [j - 0.5, j + 0.5] in imshow's coordinates
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, color="cyan", lw=1))

    def scaled(m):                  # display only: each map to [0, 1]
        return (m - m.min()) / (m.max() - m.min()) if m.max() > m.min() else np.zeros_like(m)

    paths = []
    fig = Figure(figsize=(11, 9), layout="constrained")
    for ax, kind in zip(fig.subplots(2, 2).ravel(), ("deletion", "insertion", "road_morf", "road_lerf")):
        road_curve = kind.startswith("road")
        for name, curve in curves.items():
            x_values = curve["road_x"] if road_curve else curve["x"]
            area = road.road_area(curve[kind][None], x_values)[0] if road_curve else \
                metrics.trapezoid(curve[kind][None], x_values)[0]
            ax.plot(x_values, curve[kind], "--" if name in BASELINES else "-", lw=1, label=f"{name} {area:.3f}",
                    marker="." if road_curve else None)
        if road_curve:
            ax.set(title=f"ROAD {'MoRF' if kind == 'road_morf' else 'LeRF'}: accuracy (mean height)",
                   xlabel=f"fraction of pixels removed, {'most' if kind == 'road_morf' else 'least'} relevant "
                   "first, imputed", ylim=(0, 1.02))
        else:
            ax.set(title=f"{kind}: mean p(class) (area)", xlabel="fraction of pixels " +
                   ("removed" if kind == "deletion" else "restored"), ylim=(0, 1))
        ax.legend(fontsize=6, ncol=2)
    paths.append(save(fig, out / "faithfulness_curves.png"))

    stages_of = {name: metrics.randomization_check(net, x[:1], name, classes[:1], seed=args.seed)
                 for name in methods}
    layers = [stage["layer"] for stage in next(iter(stages_of.values()))["stages"]] if methods else []
    fig = Figure(figsize=(1.1 * (len(layers) + 2), 1.2 * len(methods) + 0.6), layout="constrained")
    axes = np.array(fig.subplots(max(len(methods), 1), len(layers) + 2, squeeze=False))
    for r, name in enumerate(methods):
        cascade = [stages_of[name]["trained"][0]] + [stage["maps"][0] for stage in stages_of[name]["stages"]]
        show_image(axes[r, 0], data.images[0], name, fontsize=6)
        for c, m in enumerate(cascade, start=1):
            overlay(axes[r, c], data.images[0], scaled(m), 0, 1,
                    ("trained" if c == 1 else f"+ {layers[c - 2]}") if r == 0 else None, fontsize=6)
    fig.suptitle("randomization cascade: image 0, weights re-initialized from the top layer down", fontsize=8)
    paths.append(save(fig, out / "randomization_cascade.png"))

    stacked = np.array([energies[m] for m in methods]) if methods else np.full((1, len(x)), np.nan)
    counted = (~np.isnan(stacked)).sum(axis=0)          # an image whose every map was empty has no mean: NaN
    mean_energy = np.where(counted > 0, np.nansum(stacked, axis=0) / np.maximum(counted, 1), np.nan)
    worst = np.argsort(np.nan_to_num(mean_energy, nan=np.inf), kind="stable")[:8]
    fig = Figure(figsize=(max(1.1 * (len(methods) + 1), 5.5), 1.25 * len(worst) + 0.6), layout="constrained")
    axes = np.array(fig.subplots(len(worst), len(methods) + 1, squeeze=False))
    maps = {name: metrics.method_maps(net, x[worst], name, classes[worst]) for name in methods}
    for r, n in enumerate(worst):
        show_image(axes[r, 0], data.images[n], f"image {n}\nmean energy {mean_energy[n]:.2f}", fontsize=6)
        draw_box(axes[r, 0], boxes[n])
        for c, name in enumerate(methods, start=1):
            overlay(axes[r, c], data.images[n], scaled(maps[name][r]), 0, 1,
                    f"{name}\n{energies[name][n]:.2f}", fontsize=5)
            draw_box(axes[r, c], boxes[n])
    fig.suptitle("where the methods disagree most with the box: lowest mean energy in the box", fontsize=8)
    paths.append(save(fig, out / "box_disagreement.png"))
    return paths
