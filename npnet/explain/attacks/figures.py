"""Figures of how close decisions are: the robust-accuracy curve, per-class margins, one attack."""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

from ..plots import DIVERGING, save, show_image, wrap

ATTACK_COLOURS = {"fgsm": "#e08214", "pgd10": "#5e3c99", "pgd20": "#1b7837"}


def robustness_figure(table, path, title=""):
    """``robustness_plot`` written to ``path``."""
    return save(robustness_plot(table, title), path)


def robustness_plot(table, title=""):
    """Accuracy (%) against eps (pixel units, 0 = clean) for each attack of ``robust_accuracy``'s table."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for name, row in table["attacks"].items():
        eps = [0.0] + [float(key) for key in row]
        accuracy = [100 * table["clean"]] + [100 * value for value in row.values()]
        ax.plot(eps, accuracy, marker="o", label=name, color=ATTACK_COLOURS.get(name))
        ax.annotate(f"{accuracy[-1]:.1f}%", (eps[-1], accuracy[-1]), textcoords="offset points", xytext=(6, -3),
                    fontsize=7.5, color=ATTACK_COLOURS.get(name, "black"))
    ax.set_xlabel("eps: largest change of any pixel value (grey levels of 255)")
    ax.set_ylabel("accuracy under attack (%)")
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    ax.legend(title=f"clean: {100 * table['clean']:.2f}% of {table['images']:,}", fontsize=8, title_fontsize=8)
    ax.set_xlim(right=max(float(key) for row in table["attacks"].values() for key in row) * 1.12)
    ax.set_title(title or "robust accuracy (linf, untargeted)", fontsize=10)
    fig.tight_layout()
    return fig


def margins_figure(rows, path, title=""):
    """Per class, the mean minimal-flip radius (``rows``: [{'name', 'mean_margin', 'n'}]), smallest
    (most fragile) at the top."""
    rows = sorted(rows, key=lambda row: row["mean_margin"])
    fig = Figure(figsize=(7.2, 0.2 * len(rows) + 1.4))
    ax = fig.add_subplot()
    ax.set_ylim(len(rows) - 0.5, -0.5)
    values = [row["mean_margin"] for row in rows]
    ax.barh(range(len(rows)), values, color="#4575b4")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{wrap(row['name'], 40)} ({row['n']})" for row in rows], fontsize=6.5)
    ax.set_xlabel("mean minimal flip radius, linf, grey levels of 255 (class size in brackets;\n"
                  "an image not flipped within the search's top counts as the top)")
    ax.xaxis.label.set_size(7.5)
    ax.set_title(title or "how far each class is from a change of prediction", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return save(fig, path)


def amplified(change):
    """A change (H, W, C) shown around grey: 0.5 + change / (2 max |change|), in [0, 1]."""
    top = float(np.abs(change).max())
    return np.clip(0.5 + change / (2 * top), 0, 1) if top > 0 else np.full(change.shape, 0.5)


def attack_figure(original, adversarial, before, after, maps, map_titles, names, path, title="", top=5):
    """One image attacked: the image, the attacked image, the change amplified; the top classes'
    probabilities before and after; contrastive maps (``maps``: (H, W) each, signed) beside them."""
    columns = 3 + len(maps)
    fig = Figure(figsize=(2.45 * columns + 0.4, 4.6))
    grid = GridSpec(2, columns, figure=fig, height_ratios=[1.5, 1], hspace=0.35, wspace=0.55,
                    left=0.06, right=0.97, top=0.86, bottom=0.1)
    change = adversarial - original.astype(np.float32)
    c0, c1 = int(before.argmax()), int(after.argmax())
    show_image(fig.add_subplot(grid[0, 0]), original.astype(np.uint8),
               f"image\n{wrap(names[c0], 20)}\np = {before[c0]:.1%}", fontsize=7.5)
    show_image(fig.add_subplot(grid[0, 1]), np.round(adversarial).astype(np.uint8),
               f"attacked\n{wrap(names[c1], 20)}\np = {after[c1]:.1%}", fontsize=7.5)
    show_image(fig.add_subplot(grid[0, 2]), amplified(change),
               f"change, amplified\nlinf {np.abs(change).max():.1f}, l2 {np.linalg.norm(change):.0f}", fontsize=7.5)
    for n, (signed, text) in enumerate(zip(maps, map_titles)):
        ax = fig.add_subplot(grid[0, 3 + n])
        top_value = float(np.abs(signed).max()) or 1.0
        show_image(ax, original.astype(np.uint8) if n == 0 else np.round(adversarial).astype(np.uint8), text, 7)
        artist = ax.imshow(signed, cmap=DIVERGING, vmin=-top_value, vmax=top_value, alpha=0.6,
                           interpolation="nearest")
        bar = fig.colorbar(artist, ax=ax, fraction=0.046, pad=0.03)
        bar.ax.tick_params(labelsize=6)
        bar.formatter.set_powerlimits((-2, 2))
        bar.ax.yaxis.get_offset_text().set_fontsize(6)
    classes = list(dict.fromkeys([c0, c1] + list(np.argsort(-np.maximum(before, after))[:top])))[:top]
    ax = fig.add_subplot(grid[1, :])
    positions = np.arange(len(classes))
    ax.bar(positions - 0.2, before[classes] * 100, width=0.4, label="before", color="#878787")
    ax.bar(positions + 0.2, after[classes] * 100, width=0.4, label="after", color="#d6604d")
    ax.set_xticks(positions)
    ax.set_xticklabels([wrap(names[c], 22) for c in classes], fontsize=7)
    ax.set_ylabel("probability (%)", fontsize=8)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9.5, y=0.985)
    return save(fig, path)
