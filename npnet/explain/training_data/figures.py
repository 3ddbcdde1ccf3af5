"""Figures of the training data behind a prediction: a query beside the training images that
influenced it (proponents above, opponents below), and a grid of label-audit suspects."""
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

from ..plots import save, show_image, wrap

PROPONENT_COLOUR = "#1b7837"    # green: lowered the query's loss for its label
OPPONENT_COLOUR = "#b2182b"     # red: raised it


def thumbnail_title(item, names):
    """'#index  track T' / the class, wrapped / 'score s'."""
    track = f"  track {item['track']}" if item.get("track") is not None else ""
    return f"#{item['index']}{track}\n{wrap(names[item['label']], 18)}\nscore {item['score']:.3g}"


def influence_figure(query_image, query_title, proponents, opponents, names, path, title=""):
    """One query (RGB uint8 (32, 32, 3)) and its k proponents and opponents.

    proponents, opponents: [{'image', 'index', 'label', 'score', 'track'}], in rank order.
    """
    k = max(len(proponents), len(opponents), 1)
    fig = Figure(figsize=(2.0 + 1.35 * k, 5.2))
    grid = GridSpec(2, k + 1, figure=fig, width_ratios=[1.6] + [1] * k, wspace=0.25, hspace=0.9,
                    left=0.02, right=0.99, top=0.80, bottom=0.03)
    show_image(fig.add_subplot(grid[:, 0]), query_image, query_title, fontsize=8)
    for row, (items, label, colour) in enumerate(((proponents, "proponents: taught its label", PROPONENT_COLOUR),
                                                  (opponents, "opponents: argued against it", OPPONENT_COLOUR))):
        for column, item in enumerate(items):
            ax = fig.add_subplot(grid[row, column + 1])
            show_image(ax, item["image"], thumbnail_title(item, names), fontsize=6.5)
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(2.5)
        if items:
            fig.text(0.02 + 1.6 / (1.6 + k) * 0.97, 0.88 if row == 0 else 0.43, label, color=colour,
                     fontsize=9, fontweight="bold", ha="left")
    if title:
        fig.suptitle(title, fontsize=9.5, y=0.985)
    return save(fig, path)


def suspects_figure(items, names, path, title="", columns=8):
    """A grid of label-audit suspects: [{'image', 'index', 'given', 'suggested', 'self_confidence',
    'track'}], each captioned with its given label and the label the models believe."""
    rows = max(1, -(-len(items) // columns))
    height = 2.1 * rows + 1.0                    # inches: 5 caption lines above each row, the title on top
    fig = Figure(figsize=(1.55 * columns, height))
    grid = GridSpec(rows, columns, figure=fig, wspace=0.25, hspace=1.1, left=0.01, right=0.99,
                    top=1 - 1.05 / height, bottom=0.02)
    for n, item in enumerate(items):
        ax = fig.add_subplot(grid[n // columns, n % columns])
        track = f"  track {item['track']}" if item.get("track") is not None else ""
        show_image(ax, item["image"], f"#{item['index']}{track}\ngiven: {wrap(names[item['given']], 16)}\n"
                                      f"models: {wrap(names[item['suggested']], 16)}\n"
                                      f"p(given) {item['self_confidence']:.2f}", fontsize=6)
    if title:
        fig.suptitle(title, fontsize=9.5, y=1 - 0.12 / height)
    return save(fig, path)
