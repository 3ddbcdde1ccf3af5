"""Figures for the explanation methods: input-space attributions of one image, and the comparison grid
(a row per image and class, a column per method, the layout of pytorch-grad-cam's README).

Colour conventions (beside those of ``plots``):
- a CAM is drawn from 0 to its column's (or figure's) largest value: raw maps on one scale;
- an attribution map ends at the 99th percentile of its absolute values (``CLIP``): a handful of
  spiky pixels, common in gradients, would otherwise leave every other pixel dark. Values beyond
  are drawn in the end colour, and the colorbar says so;
- unsigned maps (``sign`` abs or positive) take ``plots.HEATMAP`` ('inferno', black = 0); signed maps
  (``sign`` all) ``plots.DIVERGING`` ('RdBu_r', white = 0, red positive, blue negative) with symmetric limits;
- a contrastive row of the comparison grid (why the predicted class and not the true one,
  ``contrastive.contrastive_map``) takes ``plots.DIVERGING`` too, each map on its own scale -m .. m.
"""
import numpy as np
from matplotlib.figure import Figure

from .plots import DIVERGING, HEATMAP, OVERLAY_ALPHA, SIGNED_ALPHA, save, show_image, wrap

DISPLAY_NAMES = {
    "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "xgradcam": "XGrad-CAM", "hirescam": "HiResCAM",
    "layercam": "LayerCAM", "scorecam": "Score-CAM", "ablationcam": "Ablation-CAM", "eigencam": "Eigen-CAM",
    "saliency": "Saliency", "input_x_gradient": "Input x Gradient", "guided_backprop": "Guided Backprop",
    "deconvnet": "Deconvnet", "guided_gradcam": "Guided Grad-CAM", "integrated_gradients": "Integrated Gradients",
    "smoothgrad": "SmoothGrad", "smoothgrad_squared": "SmoothGrad²", "occlusion": "Occlusion",
}
SIGNS = ("abs", "positive", "all")
SIGN_LABELS = {"abs": "sum over channels of |a|", "positive": "sum over channels of max(a, 0)",
               "all": "sum over channels of a (signed)"}
CLIP = 99.0
MAX_COLUMNS = 9      # methods side by side in one band of the comparison grid
BAND_TITLES = {"cam": "class activation maps (raw, after the ReLU)",
               "attribution": "input-space attributions (sum over channels of |a|)"}


def display_name(method):
    return DISPLAY_NAMES.get(method, method)


def reduce_channels(attributions, sign="abs"):
    """Attributions (..., H, W, C) -> maps (..., H, W): abs = sum_c |a|, positive = sum_c max(a, 0),
    all = sum_c a (signed)."""
    if sign == "abs":
        return np.abs(attributions).sum(axis=-1)
    if sign == "positive":
        return np.maximum(attributions, 0).sum(axis=-1)
    if sign == "all":
        return attributions.sum(axis=-1)
    raise ValueError(f"sign must be one of {SIGNS}, got {sign!r}")


def clipped_limit(maps):
    """The colour scale's end: the CLIP-th percentile of |maps|, or their maximum if that is 0
    (a sparse map), or 1 for an all-zero map (drawn as 0 everywhere)."""
    magnitude = np.abs(np.asarray(maps, dtype=np.float64))
    top = float(np.percentile(magnitude, CLIP)) if magnitude.size else 0.0
    top = top if top > 0 else float(magnitude.max(initial=0.0))
    return top if top > 0 else 1.0


def colour_scale(maps, sign):
    """(colormap, vmin, vmax) for maps drawn with ``sign``."""
    top = clipped_limit(maps)
    return (DIVERGING, -top, top) if sign == "all" else (HEATMAP, 0.0, top)


def attribution_figure(image, maps, row_titles, sign, title, path):
    """One image's attributions, a row per class: the input, the map, the map over the grey image.

    image       : (H, W, 3) uint8
    maps        : (R, H, W) the attributions reduced over channels (``reduce_channels``)
    row_titles  : R titles (class, role, probability)
    One colour scale for all rows (the same image, so the classes compare).
    """
    cmap, vmin, vmax = colour_scale(maps, sign)
    rows = len(maps)
    fig = Figure(figsize=(7.6, 2.5 * rows + 0.7), layout="constrained")
    axes = fig.subplots(rows, 3, squeeze=False)
    grey = image.astype(np.float32).mean(axis=-1)
    artist = None
    for r in range(rows):
        show_image(axes[r, 0], image, row_titles[r])
        artist = axes[r, 1].imshow(maps[r], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        axes[r, 2].imshow(grey, cmap="gray", interpolation="nearest")
        axes[r, 2].imshow(maps[r], cmap=cmap, vmin=vmin, vmax=vmax, alpha=0.65, interpolation="nearest")
        for ax, label in ((axes[r, 1], "attribution"), (axes[r, 2], "over the image")):
            ax.set_axis_off()
            ax.set_title(label if r == 0 else None, fontsize=8)
    fig.colorbar(artist, ax=axes[:, 1:].ravel().tolist(), shrink=0.8,
                 label=f"{SIGN_LABELS[sign]}\n(scale ends at the {CLIP:g}th percentile of |value|)")
    fig.suptitle(title, fontsize=10)
    return save(fig, path)


def compare_grid(images, row_titles, columns, path, title="", groups=None, per_band=MAX_COLUMNS, contrast=None):
    """Rows (image, class); the first column the image, then one column per method, each map on its image.

    images      : (R, H, W, 3) uint8, the image of each row
    row_titles  : R titles (image, class, role, probability)
    columns     : [(method, maps (R, H, W) >= 0, kind 'cam' or 'attribution')]
    groups      : (R,) which image each row shows (default: all rows one group). The rows of one
                  image share one colour scale per method, so its true and predicted class compare
                  within a method; the scale's end (0..max for a CAM, raw values; 0..the 99th
                  percentile for an attribution) is printed on the group's first map. Scales are not
                  shared across images: a strong map of one image would wash out the others.
    contrast    : (R,) bools: the rows that hold a contrastive map (why the predicted class and not the
                  true one). Each is drawn on its own diverging scale -m .. m (m = max |map| for a CAM,
                  the 99th percentile of |map| for an attribution), printed on the map as ±m, outside
                  its group's scale; the column gets a second colorbar for them. An all-NaN
                  map (a method that reads no class: Eigen-CAM) is left out, the image labelled so.
    More than ``per_band`` methods are drawn in bands, one under the other, each starting with the
    images again: the CAMs in one, the attributions in another, none wider than ``per_band``.
    """
    R = len(images)
    groups = np.zeros(R, dtype=np.int64) if groups is None else np.asarray(groups)
    contrast = np.zeros(R, dtype=bool) if contrast is None else np.asarray(contrast, dtype=bool)
    bands = split_bands(columns, per_band)
    widest = max(len(band) for band in bands)
    cell = 1.5
    band_height = cell * R + 0.9
    fig = Figure(figsize=(cell * (widest + 1) + 0.4, band_height * len(bands) + 0.5), layout="constrained")
    for subfigure, band in zip(np.atleast_1d(fig.subfigures(len(bands), 1)), bands):
        draw_band(subfigure, images, row_titles, band, widest, groups, contrast)
        if len(bands) > 1:
            subfigure.suptitle(BAND_TITLES[band[0][2]], fontsize=9, x=0.02, ha="left")
    if title:          # wrapped to the figure's width: about 13 characters of 10 pt per inch
        width = max(30, int(13 * fig.get_figwidth()))
        fig.suptitle("\n".join(wrap(line, width) for line in title.split("\n")), fontsize=10)
    return save(fig, path)


def group_limit(maps, kind):
    """The end of one group's colour scale: the largest value of a CAM, ``clipped_limit`` of an attribution."""
    top = float(maps.max(initial=0.0)) if kind == "cam" else clipped_limit(maps)
    return top if top > 0 else 1.0


def signed_limit(values, kind):
    """The end m of a contrastive map's scale -m .. m: max |map| of a CAM, ``clipped_limit`` of an attribution."""
    top = float(np.abs(values).max(initial=0.0)) if kind == "cam" else clipped_limit(values)
    return top if top > 0 else 1.0


def corner_label(ax, text):
    ax.text(0.97, 0.97, text, transform=ax.transAxes, ha="right", va="top", fontsize=5.5, color="white",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "black", "alpha": 0.55, "linewidth": 0})


def split_bands(columns, per_band):
    """All columns in one band if they fit; else a band per kind (runs of 'cam' or 'attribution'
    columns), each cut into pieces of at most ``per_band``."""
    if len(columns) <= per_band:
        return [list(columns)]
    runs = []
    for column in columns:
        if runs and runs[-1][-1][2] == column[2]:
            runs[-1].append(column)
        else:
            runs.append([column])
    return [run[k:k + per_band] for run in runs for k in range(0, len(run), per_band)]


def draw_band(fig, images, row_titles, columns, width, groups, contrast):
    """One band of ``compare_grid``: the images, then ``columns``, padded to ``width`` methods.
    Each map is drawn as a fraction of its group's scale end, so one colorbar (0..1) serves a column;
    a contrastive row as a fraction of its own end, on a second colorbar (-1..1)."""
    R = len(images)
    axes = fig.subplots(R, width + 1, squeeze=False)
    for r in range(R):
        show_image(axes[r, 0], images[r], row_titles[r], fontsize=6)
    for j in range(len(columns) + 1, width + 1):
        for ax in axes[:, j]:
            ax.set_axis_off()
    plain = ~contrast
    for j, (method, maps, kind) in enumerate(columns, 1):
        artist = signed = None
        for group in dict.fromkeys(groups[plain].tolist()):
            rows = np.flatnonzero((groups == group) & plain)
            top = group_limit(maps[rows], kind)
            for r in rows:
                show_image(axes[r, j], images[r], wrap(display_name(method), 14) if r == 0 else None, 8)
                artist = axes[r, j].imshow(maps[r] / top, cmap=HEATMAP, alpha=OVERLAY_ALPHA, vmin=0.0, vmax=1.0,
                                           interpolation="nearest")
            corner_label(axes[rows[0], j], f"max {top:.2g}")
        for r in np.flatnonzero(contrast):
            show_image(axes[r, j], images[r], wrap(display_name(method), 14) if r == 0 else None, 8)
            if np.isnan(maps[r]).all():                     # a method that reads no class has no contrast
                corner_label(axes[r, j], "reads no class")
                continue
            top = signed_limit(maps[r], kind)
            signed = axes[r, j].imshow(maps[r] / top, cmap=DIVERGING, alpha=SIGNED_ALPHA, vmin=-1.0, vmax=1.0,
                                       interpolation="nearest")
            corner_label(axes[r, j], f"±{top:.2g}")
        if signed is not None:           # drawn below the first (constrained layout stacks them outwards)
            bar = fig.colorbar(signed, ax=axes[:, j].tolist(), location="bottom", shrink=0.9, aspect=10)
            bar.ax.tick_params(labelsize=5)
            bar.set_ticks([-1.0, 0.0, 1.0], labels=["-m\ntrue", "0", "m\npred."])
        if artist is not None:
            bar = fig.colorbar(artist, ax=axes[:, j].tolist(), location="bottom", shrink=0.9, aspect=10)
            bar.ax.tick_params(labelsize=5)
            bar.set_ticks([0.0, 1.0], labels=["0", "max"])
