"""Figures for the explanations, each written to a PNG. Matplotlib's object API (``Figure``), no
pyplot: nothing global, no display needed.

Conventions, so every figure reads the same way:
- a 32x32 input is drawn with nearest-neighbour pixels (no blur that was never in the data);
- heatmaps always carry a colorbar, in one colour family across every figure and the report:
  ``HEATMAP`` ('inferno', black = 0) for maps of one sign, ``DIVERGING`` ('RdBu_r', white = 0) for
  signed ones. inferno is perceptually uniform (its lightness rises steadily from black to pale
  yellow, so equal steps of the map look equal; jet's bright cyan and yellow bands draw edges that
  are not in the data), and stays readable in greyscale and to colour-blind readers;
- classes are named, not only numbered; long names are wrapped.
"""
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ..io.files import write_png

HEATMAP = "inferno"
DIVERGING = "RdBu_r"
OVERLAY_ALPHA = 0.5
SIGNED_ALPHA = 0.6          # a signed map over its image: white (0) lets the image show through


def wrap(text, width=26):
    return textwrap.fill(str(text), width)


def show_image(ax, image, title=None, fontsize=8):
    """An RGB uint8 (H, W, 3) image, pixels as squares, no axes."""
    ax.imshow(image, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=fontsize)


def overlay(ax, image, cam, vmin, vmax, title=None, fontsize=8):
    """The image with a heatmap ``cam`` (H, W) on top, colours fixed to [vmin, vmax]; returns the
    heatmap's artist (for a colorbar)."""
    show_image(ax, image, title, fontsize)
    return ax.imshow(cam, cmap=HEATMAP, alpha=OVERLAY_ALPHA, vmin=vmin, vmax=vmax, interpolation="nearest")


def signed_overlay(ax, image, values, top, title=None, fontsize=8):
    """The image with a signed map (H, W) on top in ``DIVERGING``, limits symmetric around 0
    (-top .. top, white = 0); returns the map's artist (for a colorbar)."""
    show_image(ax, image, title, fontsize)
    return ax.imshow(values, cmap=DIVERGING, alpha=SIGNED_ALPHA, vmin=-top, vmax=top,
                     interpolation="nearest")


def symmetric_limit(values):
    """max |values|, the end of a diverging scale -m .. m; 1 for an all-zero map."""
    top = float(np.max(np.abs(values), initial=0.0))
    return top if top > 0 else 1.0


def shared_range(maps):
    """(0, max) over all maps: one colour scale, so a weak map looks weak beside a strong one."""
    top = max((float(np.max(m)) for m in maps), default=0.0)
    return 0.0, top if top > 0 else 1.0


def min_max(cam):
    """Scale one map to 0..1 (all zeros stays zeros)."""
    low, high = float(cam.min()), float(cam.max())
    return (cam - low) / (high - low) if high > low else np.zeros_like(cam)


def save(fig, path):
    """Write the figure as a PNG, atomically, never through a symlink, its texts as written
    (``npnet.io.files.write_png``)."""
    return write_png(path, fig, dpi=110)


# -- feature maps ---------------------------------------------------------------------------------
def tile(maps, columns, gap=1):
    """Lay maps (h, w, C) out as one mosaic, row by row: (rows*(h+gap), columns*(w+gap)) with NaN
    in the gaps and the unused cells (drawn as the background colour)."""
    h, w, C = maps.shape
    rows = int(np.ceil(C / columns))
    mosaic = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan, dtype=np.float32)
    for c in range(C):
        row, column = divmod(c, columns)
        mosaic[row * (h + gap):row * (h + gap) + h, column * (w + gap):column * (w + gap) + w] = maps[:, :, c]
    return mosaic


def feature_grid(image, maps, title, path):
    """Every feature map of one layer for one image: the input, then maps (h, w, C) in a grid,
    each labelled with its filter index.

    One colour scale for the whole layer, from 0 to the layer's largest activation, so a filter
    that did not fire (all zeros after the ReLU) is black and strong filters stand out. The maps
    are drawn as one mosaic image (one artist, however many filters).
    """
    h, w, C = maps.shape
    columns = int(np.ceil(np.sqrt(2 * C)))
    rows = int(np.ceil(C / columns))
    cell = 0.62
    fig = Figure(figsize=(cell * columns + 3.4, max(cell * rows, 1.6) + 0.9), layout="constrained")
    image_ax, maps_ax = fig.subplots(1, 2, width_ratios=[2.0, cell * columns])
    show_image(image_ax, image, "input")
    colours = colormaps["gray"].with_extremes(bad="#3060a0")      # NaN: the gaps between maps
    vmax = float(maps.max()) if maps.max() > 0 else 1.0
    artist = maps_ax.imshow(tile(maps, columns), cmap=colours, vmin=0.0, vmax=vmax, interpolation="nearest")
    maps_ax.set_axis_off()
    for c in range(C):
        row, column = divmod(c, columns)
        maps_ax.text(column * (w + 1) - 0.3, row * (h + 1) - 0.3, str(c), color="#ffd040",
                     fontsize=5, va="top", ha="left")
    fig.suptitle(title, fontsize=10)
    fig.colorbar(artist, ax=maps_ax, shrink=0.8, label="activation (after ReLU)")
    return save(fig, path)


# -- Grad-CAM -------------------------------------------------------------------------------------
def gradcam_comparison(image, cams, titles, path, suptitle="", normalize="shared", method="Grad-CAM",
                       contrast=None):
    """The input, then one overlay per class side by side; with ``contrast``, one more panel.

    cams       : list of (H, W) raw CAM maps, one per class
    titles     : one title per map (class name and probability)
    normalize  : 'shared' = one colour scale 0..max over all maps, raw values, one colorbar;
                 'each'   = each map scaled to 0..1 on its own (shapes comparable, strengths not)
    method     : the CAM method's display name, for the colorbar
    contrast   : None, or (map (H, W), title, colorbar label): why the predicted class and not the
                 true one (``contrastive.contrastive_map``), on its own diverging scale -m .. m,
                 m = max |map|, with its own colorbar
    """
    if normalize == "each":
        cams = [min_max(cam) for cam in cams]
        vmin, vmax, label = 0.0, 1.0, f"{method}, each map scaled to 0..1"
    else:
        (vmin, vmax), label = shared_range(cams), f"{method} (raw, shared scale)"
    panels = len(cams) + 1 + (contrast is not None)
    fig = Figure(figsize=(2.4 * panels + 0.8 + 1.0 * (contrast is not None), 3.2), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    show_image(axes[0], image, "input")
    artist = None
    for ax, cam, title in zip(axes[1:], cams, titles):
        artist = overlay(ax, image, cam, vmin, vmax, title)
    if artist is not None:
        fig.colorbar(artist, ax=list(axes[:len(cams) + 1]), shrink=0.8, label=label)
    if contrast is not None:
        values, title, bar_label = contrast
        signed = signed_overlay(axes[-1], image, values, symmetric_limit(values), title)
        fig.colorbar(signed, ax=axes[-1], shrink=0.8, label=bar_label)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return save(fig, path)


def errors_gallery(images, cams_true, cams_predicted, captions, path, title="", per_row=2):
    """Mistakes in a grid: for each, the input and the Grad-CAM for its true and its predicted class.

    images          : (M, H, W, 3) uint8
    cams_true       : (M, H, W) raw Grad-CAM for the true class
    cams_predicted  : (M, H, W) raw Grad-CAM for the predicted class
    captions        : M tuples (input title, true-map title, predicted-map title)
    Each mistake's two maps share one colour scale (its own colorbar): a weak true-class map looks
    weak beside a strong predicted-class map.
    """
    M = len(images)
    rows = max(1, int(np.ceil(M / per_row)))
    fig = Figure(figsize=(6.6 * per_row, 2.5 * rows + 0.5), layout="constrained")
    grid = fig.add_gridspec(rows, 5 * per_row, width_ratios=[1, 1, 1, 0.07, 0.25] * per_row)
    for m in range(M):
        row, column = divmod(m, per_row)
        base = 5 * column
        image_title, true_title, predicted_title = captions[m]
        vmin, vmax = shared_range([cams_true[m], cams_predicted[m]])
        show_image(fig.add_subplot(grid[row, base]), images[m], image_title, fontsize=7)
        overlay(fig.add_subplot(grid[row, base + 1]), images[m], cams_true[m], vmin, vmax, true_title, 7)
        artist = overlay(fig.add_subplot(grid[row, base + 2]), images[m], cams_predicted[m], vmin, vmax,
                         predicted_title, 7)
        bar = fig.colorbar(artist, cax=fig.add_subplot(grid[row, base + 3]))
        bar.ax.tick_params(labelsize=6)
        fig.add_subplot(grid[row, base + 4]).set_axis_off()     # a gap before the next mistake
    if title:
        fig.suptitle(title, fontsize=10)
    return save(fig, path)


# -- evaluation -----------------------------------------------------------------------------------
def confusion_plot(confusion, path, title="confusion matrix"):
    """``confusion_figure`` written to ``path``."""
    return save(confusion_figure(confusion, title), path)


def confusion_figure(confusion, title="confusion matrix"):
    """The (K, K) counts, true class down, predicted across, every class id on both axes.

    Colours are logarithmic (the diagonal holds hundreds, most mistakes a handful) and empty cells
    are blank, so every confusion, even a single image, is visible.
    """
    K = confusion.shape[0]
    fig = Figure(figsize=(0.22 * K + 2.5, 0.22 * K + 1.5), layout="constrained")
    ax = fig.subplots()
    counts = np.ma.masked_equal(confusion, 0)
    top = max(int(confusion.max()), 2)
    artist = ax.imshow(counts, cmap="viridis", norm=LogNorm(vmin=1, vmax=top), interpolation="nearest")
    ax.set_xticks(range(K))
    ax.set_yticks(range(K))
    ax.set_xticklabels(range(K), fontsize=6, rotation=90)
    ax.set_yticklabels(range(K), fontsize=6)
    ax.set_xlabel("predicted class id")
    ax.set_ylabel("true class id")
    ax.set_xticks(np.arange(K + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(K + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.9", linewidth=0.3)
    ax.tick_params(which="minor", length=0)
    ax.set_title(title, fontsize=10)
    fig.colorbar(artist, ax=ax, shrink=0.8, label="images (log scale; blank = 0)")
    return fig
