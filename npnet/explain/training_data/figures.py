"""Figures of the training data behind a prediction: a query beside the training images that
influenced it (proponents, then opponents) and those it is nearest to in a layer's features, and a
grid of label-audit suspects."""
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

from ..plots import save, show_image, wrap

PROPONENT_COLOUR = "#1b7837"    # green: lowered the query's loss for its label
OPPONENT_COLOUR = "#b2182b"     # red: raised it
NEIGHBOUR_COLOUR = "#4a6a8a"    # slate blue: near in the layer's features, whatever it taught

# the influence figure's layout, in inches
TITLE = 0.45        # the figure's title band
LABEL = 0.28        # a row's label line
CAPTION = 0.62      # a thumbnail's caption: up to five lines of 6.5 pt (a class name wrapped to three)
THUMB = 1.1         # a thumbnail's side
GAP = 0.22          # below a row
COLUMN = 1.35       # a thumbnail's column
QUERY = 2.0         # the query's column


def thumbnail_title(item, names):
    """'#index  track T' / the class, wrapped / 'score s' (or 'cosine c' for a neighbour)."""
    track = f"  track {item['track']}" if item.get("track") is not None else ""
    value = f"score {item['score']:.3g}" if "score" in item else f"cosine {item['similarity']:.4f}"
    return f"#{item['index']}{track}\n{wrap(names[item['label']], 18)}\n{value}"


def influence_figure(query_image, query_title, proponents, opponents, names, path, title="",
                     neighbours=(), neighbour_layer="dense_3"):
    """One query (RGB uint8 (32, 32, 3)) beside rows of k training images: its proponents, its
    opponents, and its nearest neighbours in ``neighbour_layer`` (a row left out when empty).

    proponents, opponents: [{'image', 'index', 'label', 'score', 'track'}], in rank order;
    neighbours: [{'image', 'index', 'label', 'similarity', 'track'}], most similar first.
    """
    rows = [(items, label, colour) for items, label, colour in (
        (proponents, "proponents: taught its label", PROPONENT_COLOUR),
        (opponents, "opponents: argued against it", OPPONENT_COLOUR),
        (neighbours, f"neighbours in {neighbour_layer}: the net sees it as it sees these", NEIGHBOUR_COLOUR))
        if len(items)]
    k = max([len(items) for items, _, _ in rows] + [4])     # four columns at least: room for a row's label
    row_height = LABEL + CAPTION + THUMB + GAP
    width, height = QUERY + COLUMN * k, TITLE + row_height * max(len(rows), 1)
    fig = Figure(figsize=(width, height))

    def axes(left, top, side):  # a square of ``side`` inches, its top-left corner at (left, top) inches
        return fig.add_axes([left / width, (height - top - side) / height, side / width, side / height])

    query_side = min(QUERY - 0.3, 1.6)
    show_image(axes(0.15, TITLE + CAPTION + 0.35, query_side), query_image, query_title, fontsize=8)
    for row, (items, label, colour) in enumerate(rows):
        top = TITLE + row * row_height
        fig.text(QUERY / width, 1 - (top + 0.05) / height, label, color=colour, fontsize=9, fontweight="bold",
                 ha="left", va="top")
        for column, item in enumerate(items):
            ax = axes(QUERY + column * COLUMN + (COLUMN - THUMB) / 2, top + LABEL + CAPTION, THUMB)
            show_image(ax, item["image"], thumbnail_title(item, names), fontsize=6.5)
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(2.5)
    if title:
        fig.suptitle(title, fontsize=9.5, y=1 - 0.12 / height, va="top")
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
