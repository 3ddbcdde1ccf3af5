"""The TCAV figure: per layer, each concept's score as a bar with its spread, beside the random null.

A significant concept is a bar (the mean score over the random sets) with an error bar (their standard
deviation) and its p-value; a concept that fails the test gets no bar at all, only the words "not
significant" and its p-value, so that its number is never read as a score. The grey band is the
random-vs-random null (mean +- std); the dotted line at 0.5 is "no preference". A diamond marks the
end of each bar, so that a significant score of 0 is still seen.
"""
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..plots import save
from .table import CONCEPTS, KINDS

KIND_COLOURS = {"shape": "#4c72b0", "colour": "#c44e52", "content": "#55a868"}
NULL_COLOUR = "#bbbbbb"
MUTED = "#888888"
ROW = 0.32          # inches per concept row
PANEL = 4.6         # inches per layer's panel


def concept_rows(names):
    """[(y, name)] top to bottom, grouped by kind (the table's order), a gap between kinds."""
    rows, y = [], 0.0
    for kind in KINDS + ("other",):
        group = [name for name in names if (CONCEPTS[name].kind if name in CONCEPTS else "other") == kind]
        for name in group:
            rows.append((y, name))
            y -= 1.0
        if group:
            y -= 0.5
    return rows


def format_p(p):
    return "p < 1e-4" if p < 1e-4 else f"p = {p:.2g}"


def tcav_figure(record, path, title):
    """Draw ``record`` (the JSON ``concepts`` command prints: 'layers' {layer: {concept: {'score',
    'std', 'p_value', 'significant'}}}, 'random' {layer: {'score', 'std'}}, 'not_tested' {concept: why},
    'random_sets', 'alpha', 'tests') to ``path``."""
    layers = list(record["layers"])
    tested = [name for layer in layers for name in record["layers"][layer]]
    names = list(dict.fromkeys(tested + list(record.get("not_tested", {}))))
    rows = concept_rows(names)
    height = 1.9 + ROW * (len(rows) + 2)
    fig = Figure(figsize=(2.45 + PANEL * max(len(layers), 1), height))
    fig.suptitle(title, fontsize=10)
    for i, layer in enumerate(layers):
        ax = fig.add_subplot(1, max(len(layers), 1), i + 1)
        concepts, null = record["layers"][layer], record["random"][layer]
        ax.axvspan(max(null["score"] - null["std"], 0), min(null["score"] + null["std"], 1), color=NULL_COLOUR,
                   alpha=0.45, lw=0, label="random vs random: mean \u00b1 std")
        ax.axvline(0.5, color="black", lw=0.6, ls=":", label="0.5: no preference either way")
        for y, name in rows:
            if name not in concepts:
                ax.text(0.02, y, "not tested: too few training images outside the class", va="center",
                        fontsize=7, color=MUTED)
                continue
            row = concepts[name]
            kind = CONCEPTS[name].kind if name in CONCEPTS else "other"
            if row["significant"]:
                colour = KIND_COLOURS.get(kind, MUTED)
                ax.barh(y, row["score"], height=0.7, color=colour, xerr=row["std"],
                        error_kw={"ecolor": "black", "lw": 0.8, "capsize": 2})
                ax.plot([row["score"]], [y], marker="D", ms=4, color=colour, mec="black", mew=0.6,
                        clip_on=False)     # a score of 0 is a bar of no length: the marker still shows it
                ax.text(1.02, y, f"{row['score']:.2f}  * {format_p(row['p_value'])}", va="center", fontsize=7,
                        transform=ax.get_yaxis_transform())
            else:
                ax.text(0.02, y, "not significant", va="center", fontsize=7, color=MUTED, style="italic")
                ax.text(1.02, y, f"n.s.  {format_p(row['p_value'])}", va="center", fontsize=7, color=MUTED,
                        transform=ax.get_yaxis_transform())
        ax.set_yticks([y for y, _ in rows])
        ax.set_yticklabels([name for _, name in rows] if i == 0 else [], fontsize=8)
        for label, (_, name) in zip(ax.get_yticklabels(), rows):
            label.set_color(KIND_COLOURS.get(CONCEPTS[name].kind if name in CONCEPTS else "", "black"))
        ax.set_ylim(rows[-1][0] - 0.7 if rows else -1, 0.7)
        ax.set_xlim(0, 1)
        ax.set_xlabel("TCAV score: share of the class's images whose logit rises along the concept", fontsize=7)
        ax.set_title(layer, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if i == 0:
            handles, labels = ax.get_legend_handles_labels()
            kinds = [Patch(color=KIND_COLOURS[kind], label=f"{kind} concept") for kind in KINDS]
            fig.legend(kinds + handles, [k.get_label() for k in kinds] + labels, loc="lower center", ncol=5,
                       fontsize=7, frameon=False, bbox_to_anchor=(0.5, 0.045))
    footnote = (f"bars: mean score over {record['random_sets']} random sets \u00b1 std; * significant: "
                f"two-sided t-test against random vs random, p < {record['alpha']:g} / {record['tests']} "
                "(Bonferroni); no bar: not significant")
    fig.text(0.5, 0.015, footnote, ha="center", va="bottom", fontsize=6.5, color="#444444")
    width = fig.get_figwidth()
    fig.subplots_adjust(left=1.2 / width, right=1 - 1.25 / width, wspace=1.35 / (PANEL - 1.35),
                        top=1 - 0.75 / height, bottom=1.15 / height)
    return save(fig, path)
