"""Figures for the explanation methods: input-space attributions and the method-by-class comparison grid."""
import numpy as np
from matplotlib.figure import Figure

from .plots import save, show_image, wrap

NAMES = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "xgradcam": "XGrad-CAM", "hirescam": "HiResCAM",
         "layercam": "LayerCAM", "scorecam": "Score-CAM", "ablationcam": "Ablation-CAM", "eigencam": "Eigen-CAM",
         "saliency": "Saliency", "input_x_gradient": "Input x Gradient", "guided_backprop": "Guided Backprop",
         "deconvnet": "Deconvnet", "guided_gradcam": "Guided Grad-CAM",
         "integrated_gradients": "Integrated Gradients", "smoothgrad": "SmoothGrad",
         "smoothgrad_squared": "SmoothGrad^2", "occlusion": "Occlusion"}
CLIP = 99.0    # attribution colour scales end at this percentile: a few spiky pixels would hide the rest


def display_name(method):
    return NAMES.get(method, method)


def reduce_channels(attr, sign):
    """(H, W, C) attribution -> (H, W): abs = sum |a|, positive = sum max(a, 0), all = signed sum."""
    if sign == "abs":
        return np.abs(attr).sum(axis=-1)
    if sign == "positive":
        return np.maximum(attr, 0).sum(axis=-1)
    return attr.sum(axis=-1)


def clipped_top(values):
    top = float(np.percentile(np.abs(values), CLIP)) if np.size(values) else 0.0
    return top if top > 0 else (float(np.max(np.abs(values))) or 1.0)


def attribution_figure(image, attr_map, sign, title, path):
    """Input | the map | the map over the (grey) image; diverging colours centred at 0 for sign='all'."""
    top = clipped_top(attr_map)
    cmap, vmin = ("RdBu_r", -top) if sign == "all" else ("inferno", 0.0)
    fig = Figure(figsize=(8.4, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    show_image(axes[0], image, "input")
    artist = axes[1].imshow(attr_map, cmap=cmap, vmin=vmin, vmax=top, interpolation="nearest")
    axes[1].set_axis_off()
    axes[1].set_title("attribution", fontsize=8)
    axes[2].imshow(image.mean(axis=-1), cmap="gray", interpolation="nearest")
    axes[2].imshow(attr_map, cmap=cmap, vmin=vmin, vmax=top, alpha=0.6, interpolation="nearest")
    axes[2].set_axis_off()
    axes[2].set_title("over the image", fontsize=8)
    label = {"abs": "sum over channels of |a|", "positive": "sum over channels of max(a, 0)",
             "all": "signed sum over channels"}[sign]
    fig.colorbar(artist, ax=list(axes), shrink=0.8, label=f"{label}\n(clipped at the {CLIP:g}th percentile)")
    fig.suptitle(title, fontsize=10)
    return save(fig, path)


def compare_grid(images, row_labels, methods, maps, kinds, path, title=""):
    """Rows (image, class), first column the image, then one column per method, each map over its image.

    images     : (R, H, W, 3) uint8, one per row
    maps       : {method: (R, H, W)} non-negative maps
    kinds      : {method: 'cam' | 'attribution'}; a CAM column is scaled 0..max, an attribution
                 column 0..its 99th percentile; one scale per column, so true and predicted compare.
    """
    R, M = len(images), len(methods)
    cell = 1.45
    fig = Figure(figsize=(cell * (M + 1) + 0.6, cell * R + 1.3), layout="constrained")
    axes = fig.subplots(R, M + 1, squeeze=False)
    for r in range(R):
        show_image(axes[r, 0], images[r])
        axes[r, 0].set_title(row_labels[r], fontsize=6)
    for j, method in enumerate(methods, 1):
        column = maps[method]
        top = float(column.max()) if kinds[method] == "cam" else clipped_top(column)
        top = top if top > 0 else 1.0
        artist = None
        for r in range(R):
            show_image(axes[r, j], images[r], wrap(display_name(method), 14) if r == 0 else None, 8)
            artist = axes[r, j].imshow(column[r], cmap="jet", alpha=0.5, vmin=0, vmax=top, interpolation="nearest")
        bar = fig.colorbar(artist, ax=list(axes[:, j]), location="bottom", shrink=0.9, aspect=12)
        bar.ax.tick_params(labelsize=5)
    if title:
        fig.suptitle(title, fontsize=10)
    return save(fig, path)
