"""The report as one HTML document: the parts computed by ``content`` and ``faithfulness``, written out.

Every text that comes from data (class names, file names, recipe values) is escaped; every picture is a
data URI; the style sheet and the script (``report.css``, ``report.js`` beside this file) are inlined.
Exact numbers sit in ``data-value`` attributes (what a table sorts by, and what the tests compare with
``explain.py evaluate --json``); the text shows them rounded.
"""
from html import escape
from pathlib import Path

from ..explain import METHODS
from ..explain.faithfulness import ranking
from . import pictures
from .training_data import NEIGHBOUR_LAYER

HERE = Path(__file__).parent
FAITHFULNESS_COLUMNS = (("energy_in_box", "energy in box", "higher"), ("pointing_game", "pointing game", "higher"),
                        ("deletion_auc", "deletion AUC", "lower"), ("insertion_auc", "insertion AUC", "higher"),
                        ("road_morf", "ROAD MoRF", "lower"), ("road_lerf", "ROAD LeRF", "higher"),
                        ("randomization", "randomization", None), ("rank", "mean rank", None),
                        ("seconds_per_image", "s / image", None))
# the third field: how a method beats the centred blob on that column (randomization: never compared, the blob
# ignores the weights by construction; its baseline is the method itself on the randomized net)


def e(value):
    return escape(str(value), quote=True)


def percent(value):
    return "–" if value is None else f"{value:.2%}"


def number(value):
    """An exact value for ``data-value``: repr of the float, '' for none."""
    return "" if value is None else repr(float(value))


def document(title, meta, parts, card_hint):
    """The whole page. title: text; meta: HTML (escaped by the caller); parts: (id, heading, lead, HTML body)
    in page order, numbered 1, 2, ...; card_hint: the feature-map dialog's note."""
    nav = "".join(f'<a href="#{e(id_)}">{e(heading)}</a>' for id_, heading, _, _ in parts)
    sections = "".join(
        f'<section id="{e(id_)}" aria-labelledby="{e(id_)}-heading"><h2 id="{e(id_)}-heading">{i}. {e(heading)}</h2>'
        f'<p class="lead">{e(lead)}</p>{body}</section>'
        for i, (id_, heading, lead, body) in enumerate(parts, start=1))
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{(HERE / 'report.css').read_text()}</style></head>"
            f'<body><header class="top"><h1>{e(title)}</h1><p class="meta">{meta}</p></header>'
            f'<nav class="sections" aria-label="sections">{nav}</nav><main>{sections}</main>'
            '<dialog id="features-dialog" aria-labelledby="features-dialog-title"><div class="dialog-head">'
            '<h2 class="dialog-title" id="features-dialog-title">Feature maps</h2>'
            '<button type="button" class="close">Close</button></div>'
            f'<p class="note">{e(card_hint)}</p><div class="dialog-body"></div></dialog>'
            f"<script>{(HERE / 'report.js').read_text()}</script></body></html>\n")


# -- 1. the model -----------------------------------------------------------------------------------
def model_html(part):
    assumed = " (assumed: a Keras file does not record it)" if part["preprocessing_assumed"] else ""
    facts = [("parameters", f"{part['parameters']:,}"),
             ("preprocessing", f"<code>{e(part['preprocessing'])}</code>{e(assumed)}")]
    if part["source"]:
        version = f" (Keras {part['source_version']})" if part["source_version"] else ""
        facts.insert(0, ("read from", e(part["source"] + version)))
    if part["epoch"] is not None:
        facts.append(("checkpoint epoch", e(part["epoch"])))
    recipe = part["recipe"] if isinstance(part["recipe"], dict) else {}
    facts += [(f"recipe: {e(key)}", f"<code>{e(value)}</code>") for key, value in recipe.items()]
    if not recipe:
        facts.append(("recipe", "not recorded in the checkpoint"))
    listing = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    curves = (f'<h3>Learning curves</h3><img class="figure" src="{part["curves"]}" '
              'alt="learning curves: training and validation loss and error rate per epoch">'
              if part["curves"] else f'<p class="note">{e(part["history_note"])}</p>')
    layers = "".join(f'<tr><td><code>{e(name)}</code></td><td>{e(kind)}</td><td><code>{e(shape)}</code></td>'
                     f'<td class="num" data-value="{count}">{count:,}</td></tr>' for name, kind, shape, count in part["layers"])
    summary = (f'<table class="summary"><thead><tr><th scope="col">layer</th><th scope="col">type</th><th scope="col">'
               f'output shape</th><th scope="col" class="num">parameters</th></tr></thead><tbody>{layers}</tbody>'
               f'<tfoot><tr><th scope="row" colspan="3">total</th><td class="num">{part["parameters"]:,}</td></tr>'
               '</tfoot></table>')
    return (f'<div class="two"><div><h3>Layers</h3>{summary}</div>'
            f'<div><h3>Training</h3><dl class="facts">{listing}</dl></div></div>{curves}')


# -- 2. accuracy ------------------------------------------------------------------------------------
def accuracy_html(part, names):
    head = (f'<div class="headline" id="overall" data-accuracy="{number(part["accuracy"])}" '
            f'data-images="{part["images"]}"><span class="big">{percent(part["accuracy"])}</span>'
            f'<span class="small">{part["images"] - part["mistakes"]:,} of {part["images"]:,} images right, '
            f'{part["mistakes"]:,} wrong</span></div>')
    columns = [("id", "class id", True), ("sign", "sign", False), ("name", "name", True), ("n", "images", True),
               ("correct", "right", True), ("accuracy", "accuracy", True), ("confused", "most often taken for", True)]
    heads = "".join(f'<th scope="col" class="{"num" if key in ("id", "n", "correct", "accuracy") else ""}">'
                    + (f'<button type="button">{e(label)}</button>' if sortable else e(label)) + "</th>"
                    for key, label, sortable in columns)
    rows = []
    for row in part["per_class"]:
        accuracy = row["accuracy"]
        meter = (f'<span class="meter" aria-hidden="true"><span style="width:{100 * accuracy:.1f}%"></span></span>'
                 if accuracy is not None else "")
        sign = (f'<img class="px" src="{row["image"]}" alt="the most confidently recognized image of {e(row["name"])}">'
                if row["image"] else "")
        confused = row["confused_with"]
        confused_text = (f'{e(names[confused[0]])} ({confused[1]}×)' if confused else "")
        weak = ' class="weak"' if accuracy is not None and accuracy < 0.95 else ""
        rows.append(f'<tr{weak} data-class="{row["class_id"]}"><td class="num" data-value="{row["class_id"]}">{row["class_id"]}</td>'
                    f'<td class="sign">{sign}</td><td>{e(row["name"])}</td>'
                    f'<td class="num" data-value="{row["n"]}">{row["n"]:,}</td>'
                    f'<td class="num" data-value="{row["correct"]}">{row["correct"]:,}</td>'
                    f'<td class="num accuracy" data-value="{number(accuracy)}"><span class="acc-cell">{meter}'
                    f'{percent(accuracy)}</span></td>'
                    f'<td data-value="{confused[1] if confused else 0}">{confused_text}</td></tr>')
    table = (f'<h3>Per class</h3><p class="note">Click a column heading to sort. Rows under 95% are tinted.</p>'
             f'<div class="table-scroll"><table class="sortable per-class"><thead><tr>{heads}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table></div>')
    pairs = []
    for pair in part["pairs"]:
        examples = "".join(f'<figure><img class="px" src="{uri}" alt="image #{n}: {e(names[pair["true"]])} taken for '
                           f'{e(names[pair["predicted"]])} with p = {p:.1%}"><figcaption>#{n}, p = {p:.0%}</figcaption></figure>'
                           for n, uri, p in pair["examples"])
        pairs.append(f'<li><b>{pair["count"]}×</b> {e(names[pair["true"]])} <span class="note">(id {pair["true"]})</span> '
                     f'→ taken for <b>{e(names[pair["predicted"]])}</b> <span class="note">(id {pair["predicted"]})</span>'
                     f'<div class="examples">{examples}</div></li>')
    confused = (f'<ol class="pairs">{"".join(pairs)}</ol>' if pairs else '<p class="note">No image is misclassified.</p>')
    matrix = (f'<img class="figure confusion" src="{part["confusion"]}" alt="confusion matrix: true class id down, predicted '
              f'class id across, image counts on a logarithmic colour scale">')
    return (f'{head}{table}<h3>Confusion matrix</h3>{matrix}<h3>Most confused pairs</h3>{confused}')


# -- 3 and 5. cards: an image, its top-5 and its heatmaps --------------------------------------------
def method_selector(methods, id_="method"):
    """A selector of the method whose heatmaps are shown; every selector on the page switches all cards."""
    options = "".join(f'<option value="{e(m)}" data-description="{e(METHODS[m][1])}">{e(m)}</option>' for m in methods)
    return (f'<div class="toolbar"><label for="{id_}"><b>Explanation method</b></label><select id="{id_}" '
            f'class="method-select">{options}</select><span class="description"></span></div>')


def cards_html(cards, methods):
    colorbar = pictures.colorbar_uri()
    return f'<div class="gallery">{"".join(card_html(card, methods, colorbar) for card in cards)}</div>'


def card_html(card, methods, colorbar):
    top = "".join(f'<li class="{"true" if row["true"] else ""}"><span class="text">{e(row["name"])}</span>'
                  f'<span class="prob" data-value="{number(row["prob"])}">{row["prob"]:.1%}</span><span class="track" '
                  f'aria-hidden="true"><span class="fill" style="width:{100 * row["prob"]:.1f}%"></span></span></li>'
                  for row in card["top"])
    figures = []
    for side in card["maps"]:
        layers = "".join(f'<img class="map px" data-method="{e(m)}" src="{side["by_method"][m]}" alt="{e(m)} map for '
                         f'the {e(side["role"])} class, {e(side["name"])} (p = {side["prob"]:.1%})">' for m in methods)
        figures.append(f'<figure><div class="stack"><img class="px" src="{card["image"]}" alt="{e(card["title"])}, '
                       f'under the heatmap">{layers}</div><figcaption><b>{e(side["role"])}</b>{e(side["name"])} '
                       f'<span class="note">p = {side["prob"]:.1%}</span></figcaption></figure>')
    ends = "".join(f'<span class="end" data-method="{e(m)}" data-value="{number(card["scales"][m])}">'
                   f'{card["scales"][m]:.3g}</span>' for m in methods)
    scale = (f'<div class="scale">{ends}<img src="{colorbar}" alt="colour scale of both heatmaps: black is 0, '
             f'pale yellow the value above it"><span class="end">0</span></div>')
    features = "".join(f'<figure><img class="px" src="{f["uri"]}" style="width:{2 * (f["columns"] * (f["shape"][1] + 1) - 1)}px" '
                       f'alt="{e(f["layer"])}: {f["shape"][2]} feature maps of {f["shape"][0]}x{f["shape"][1]}, '
                       f'black 0 to white {f["scale"]:.3g}"><figcaption><b>{e(f["layer"])}</b>: {f["shape"][2]} maps of '
                       f'{f["shape"][0]}×{f["shape"][1]}, black 0 → white {f["scale"]:.3g} (this layer\'s largest '
                       f'activation)</figcaption></figure>' for f in card["features"])
    influence = influence_html(card.get("influence"))
    closeness = card.get("closeness", "")           # a mistake's margin and counterfactual (``margins_page``)
    verdict = ("" if card["true"] is None else
               f'<span class="verdict">true: {e(card["maps"][0]["name"])}</span>')
    return (f'<article class="card" data-title="{e(card["title"])}"><h3>{e(card["title"])} {verdict}</h3>'
            f'<div class="card-body"><div><button type="button" class="image-button" aria-label="feature maps of '
            f'{e(card["title"])}"><img class="px" src="{card["image"]}" alt="{e(card["alt"])}"></button>'
            f'<div class="hint">click: feature maps</div></div><ol class="top" aria-label="top-5 probabilities">{top}</ol>'
            f'<div class="maps">{"".join(figures)}{scale}</div></div>{closeness}{influence}'
            f'<div class="features" hidden><div class="features-grid"><figure><img class="px" src="{card["image"]}" '
            f'style="width:96px" alt="{e(card["alt"])}"><figcaption>input</figcaption></figure>{features}</div></div>'
            '</article>')


def influence_html(influence):
    """A mistake's proponents and opponents: the training images that taught its true label, and those
    that argued against it; and its neighbours, the training images the net sees it as."""
    if not influence:
        return ""
    rows = []
    for side, caption in (("proponents", "taught its true label"), ("opponents", "argued against it")):
        items = "".join(f'<figure><img class="px" src="{item["uri"]}" alt="training image #{item["index"]}, '
                        f'{e(item["name"])}, score {item["score"]:.3g}"><figcaption>#{item["index"]}<br>'
                        f'{e(item["name"])}<br><span class="note">{item["score"]:.3g}</span></figcaption></figure>'
                        for item in influence[side])
        rows.append(f'<div class="influence {side}"><b>{side}</b> <span class="note">{caption}</span>'
                    f'<div class="thumbs">{items}</div></div>')
    if influence.get("neighbours"):
        items = "".join(f'<figure><img class="px" src="{item["uri"]}" alt="nearest training image #{item["index"]}, '
                        f'{e(item["name"])}, cosine {item["similarity"]:.4f}"><figcaption>#{item["index"]}<br>'
                        f'{e(item["name"])}<br><span class="note">cos {item["similarity"]:.4f}</span></figcaption>'
                        '</figure>' for item in influence["neighbours"])
        rows.append(f'<div class="influence neighbours"><b>neighbours</b> <span class="note">in {NEIGHBOUR_LAYER}: '
                    f'the net sees it as it sees these</span><div class="thumbs">{items}</div></div>')
    return f'<div class="training-data">{"".join(rows)}</div>'


def training_data_html(how, audit):
    """The section 'The training data': how each mistake's influence was computed, and the audit."""
    parts = [f'<p class="note">{e(how)}</p>']
    if audit is None:
        parts.append('<p class="note">No label audit given (explain.py audit --json, then report --audit FILE).</p>')
        return "".join(parts)
    injected = audit["injected"]
    parts.append(f'<p>{audit["total"]:,} training labels the out-of-sample models contradict '
                 f'({audit["folds"]} folds x {audit["epochs"]} epochs, confident learning); '
                 f'{len(audit["suspect_tracks"]):,} whole tracks suspect; {audit["copies"]:,} near copies across labels.'
                 + (f' With {injected["flipped"]:,} labels flipped on purpose the audit found them with precision '
                    f'{injected["precision"]:.2f} and recall {injected["recall"]:.2f}.' if injected else "") + '</p>')
    tiles = "".join(f'<figure><img class="px" src="{row["uri"]}" alt="training image #{row["index"]}: given '
                    f'{e(row["given_name"])}, the models believe {e(row["suggested_name"])}"><figcaption>#{row["index"]}'
                    f'<br>given: {e(row["given_name"])}<br>models: {e(row["suggested_name"])}<br>'
                    f'<span class="note">p(given) {row["self_confidence"]:.2f}</span></figcaption></figure>'
                    for row in audit["suspects"])
    parts.append(f'<div class="thumbs suspects">{tiles}</div>')
    return "".join(parts)


# -- 4. faithfulness --------------------------------------------------------------------------------
def faithfulness_html(scores):
    if "skipped" in scores:
        return f'<p class="note">{e(scores["skipped"])}</p>'
    heads = "".join(f'<th scope="col" class="num"><button type="button">{e(label)}</button></th>'
                    for _, label, _ in FAITHFULNESS_COLUMNS)
    rows = []
    centre = scores["baselines"].get("centre", {})
    ranks = ranking.rank_rows(scores["methods"], scores["baselines"])
    digits = {"seconds_per_image": ".4f", "rank": ".1f"}
    for group, names in (("method", scores["methods"]), ("baseline", scores["baselines"])):
        for name, row in names.items():
            row = {**row, "rank": ranks[name]["mean"]}
            cells = "".join(f'<td class="num{" beats" if group == "method" and beats(row, centre, key, better) else ""}" '
                            f'data-value="{number(row.get(key))}">'
                            f'{"–" if row.get(key) is None else format(row[key], digits.get(key, ".3f"))}</td>'
                            for key, _, better in FAITHFULNESS_COLUMNS)
            label = f"{name} (baseline)" if group == "baseline" else name
            rows.append(f'<tr class="{group}"><td>{e(label)}</td>{cells}</tr>')
    legend = ("Energy in box: share of the map's positive mass inside the sign's box (higher is better). Pointing game: "
              "the map's peak lies in the box. Deletion / insertion AUC: the class probability as the most important "
              "pixels are removed (lower is better) or restored (higher). ROAD MoRF / LeRF: the accuracy, averaged over "
              "10 to 90% of the pixels removed, most (lower is better) or least (higher) important first and filled in "
              "from their neighbours. Randomization: rank correlation with the "
              "maps of a fully re-initialized net (near 0: the map depends on what the net learned). Mean rank: over "
              "those seven columns, 1 = best, baselines included. A method should "
              "beat the centred-blob baseline, which knows nothing of the net: bold where it does (energy, pointing, deletion, "
              "insertion, ROAD).")
    advice = ranking.read_first(list(scores["methods"]), ranks)
    return (f'<p class="note">Scored on {e(scores["sample"])}, explaining the true class. {legend}</p>'
            f'<p class="read-first">{e(advice)}</p>'
            f'<table class="sortable faith"><thead><tr><th scope="col"><button type="button">method</button></th>{heads}'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def beats(row, baseline, key, better):
    """Whether ``row`` scores better than ``baseline`` on ``key`` ('higher' or 'lower' is better)."""
    mine, theirs = row.get(key), baseline.get(key)
    if better is None or mine is None or theirs is None:
        return False
    return mine > theirs if better == "higher" else mine < theirs
