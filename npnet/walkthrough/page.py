"""The walkthrough as one HTML document: the columns of the net, forward above backward, the unit panel,
the training step and the gradient checks.

Everything is inline: the style sheet and the scripts beside this file (``walkthrough.css``; ``draw.js``
the columns, ``panel.js`` and ``backward.js`` a unit's panel, ``step.js`` the training step), the image as
a data URI, the numbers as one JSON block (``content.data_block``). The scripts draw every picture from
that block onto canvases, so a picture and the number in its panel come from the same array. Text that
comes from data (layer, class and file names) is escaped.
"""
from html import escape
from pathlib import Path

import numpy as np

from ..report.pictures import image_uri
from . import content

HERE = Path(__file__).parent
SCRIPTS = ("draw.js", "panel.js", "backward.js", "step.js")


def e(value):
    return escape(str(value), quote=True)


def fmt(value):
    """A number as the page writes it: 3 significant digits, exponent form below 0.001."""
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e5 else f"{value:.2e}"


def worst(check):
    """The largest rel_error over a layer's checked tensors: its badge."""
    return max(result["rel_error"] for result in check.values())


def badge(name, check):
    value = worst(check)
    ok = value < 1e-6
    tensors = "; ".join(f"dL/d{key if key != 'input' else 'input'}: {r['rel_error']:.1e} at {len(r['entries'])} of "
                        f"{r['size']:,} entries" for key, r in check.items())
    return (f'<a class="badge {"ok" if ok else "bad"}" href="#check-{e(name)}" data-value="{value!r}" '
            f'title="gradient check on this image, float64 central differences: {e(tensors)}">'
            f'<span aria-hidden="true">{"✓" if ok else "✗"}</span> grad check {fmt(value)}</a>')


def layer_kind(block):
    kind = block["type"]
    if kind == "Conv2D":
        kh, kw = block["kernel_size"]
        return f"Conv2D {kh}×{kw}" + (", ReLU" if block["activation"] == "relu" else "")
    if kind == "MaxPool2D":
        return f"MaxPool2D {block['pool_size']}×{block['pool_size']}"
    if kind == "Dense":
        return "Dense" + (", ReLU" if block["activation"] == "relu" else " (logits)")
    return kind


def column(index, block, kind, forward_words, backward_words, check):
    """The four cells of one column: its head, the forward picture, the arrow, the backward picture."""
    name = block["name"]
    head = (f'<div class="head" id="col-{e(name)}"><h3>{e(name)}</h3><span class="kind">{e(kind)}</span>'
            f'{badge(name, check) if check else ""}</div>')
    if block["type"] in ("Flatten", "Dropout"):
        return (head + f'<div class="cell fwd pass"><span class="arrow" aria-hidden="true">→</span>'
                f'<p class="words">{e(forward_words)}</p></div><div class="gap"></div>'
                f'<div class="cell bwd pass"><span class="arrow" aria-hidden="true">←</span>'
                f'<p class="words">{e(backward_words)}</p></div>')
    cells = []
    for direction, words, label in (("forward", forward_words, "output A"), ("backward", backward_words, "dL/dA")):
        what = "the input x" if index == 0 and direction == "forward" else \
            "dL/dx" if index == 0 else f"{name}'s {label}"
        scale = "grey" if direction == "forward" else "dark blue to grey to light orange"
        alt = (f"{what}: {block_shape_words(block)}, drawn on one {scale} colour scale for the layer. Click or press "
               f"Enter on a unit to see its computation.")
        cells.append(f'<div class="cell {"fwd" if direction == "forward" else "bwd"}">'
                     f'<canvas class="units" data-col="{index}" data-dir="{direction}" tabindex="0" role="application" '
                     f'aria-roledescription="unit picture" aria-label="{e(alt)}" aria-describedby="keys-help"></canvas>'
                     f'<div class="scale" data-col="{index}" data-dir="{direction}"></div>'
                     f'<p class="words">{e(words)}</p></div>')
    gap = ('<div class="gap"><span class="rowlabel">backward: right to left ←</span></div>' if index == 0
           else '<div class="gap"></div>')
    return head + cells[0] + gap + cells[1]


def block_shape_words(block):
    shape = block["shape"]
    if len(shape) == 3:
        return f"{shape[2]} channels of {shape[0]}×{shape[1]}"
    return f"{shape[0]} units"


def probabilities_column(data):
    loss = data["loss"]
    probs = loss["probs"]
    names, target = data["names"], loss["class"]
    predicted = int(np.argmax(probs))
    rows = "".join(f'<li class="{"target" if k == target else ""}{" predicted" if k == predicted else ""}">'
                   f'<button type="button" class="prob" data-unit="{k}" aria-label="class {k}, {e(names[k])}: '
                   f'p = {p:.2%}"><span class="id">{k}</span><span class="name">{e(names[k])}</span>'
                   f'<span class="track" aria-hidden="true"><span class="fill" style="width:{100 * p:.2f}%"></span>'
                   f'</span><span class="p">{p:.1%}</span></button></li>' for k, p in enumerate(probs))
    head = '<div class="head" id="col-probabilities"><h3>probabilities</h3><span class="kind">softmax</span></div>'
    forward = (f'<div class="cell fwd probs"><ol class="probs" aria-label="the probability of each class">{rows}'
               f'</ol><p class="words">p = exp(z) / Σ exp(z). The loss is about class {target}, '
               f'{e(names[target])} ({e(data["why"])}).</p></div>')
    backward = (f'<div class="cell bwd loss"><p class="loss-value">L = −log p<sub>{target}</sub> = '
                f'<b data-value="{loss["value"]!r}">{fmt(loss["value"])}</b></p><p class="words">The cross-entropy of '
                f'{e(names[target])}. Its gradient at the logits is dL/dz = p − y (y = 1 at class {target}, 0 '
                f'elsewhere): every wrong class is pushed down by its probability, the right one up by 1 − p. '
                f'{badge("loss", loss["gradient_check"])}</p></div>')
    return head + forward + '<div class="gap"></div>' + backward


def net_html(data, words):
    columns = [column(0, data["input"], "the image", *words[0], None)]
    columns += [column(i + 1, block, layer_kind(block), *words[i + 1], block["gradient_check"])
                for i, block in enumerate(data["layers"])]
    columns.append(probabilities_column(data))
    picture = (f'<img class="px picture" src="{image_uri(np.array(data["input"]["pixels"], dtype=np.uint8))}" '
               f'alt="{e(data["image_alt"])}">')
    columns[0] = columns[0].replace('<div class="cell fwd">', f'<div class="cell fwd">{picture}', 1)
    count = len(columns)
    return (f'<div class="scroller" tabindex="-1"><div class="net" style="grid-template-columns: repeat({count}, max-content)">'
            f'{"".join(columns)}</div></div>')


def legend_html():
    return ('<div class="legend"><div><b>Forward</b> (what each unit computed): <span class="ramp forward" aria-hidden="true">'
            '</span> black 0 → white the layer\'s largest value (an input or logit below 0: black is the most negative).</div>'
            '<div><b>Backward</b> (dL/dA, how the loss changes as the unit grows): <span class="ramp backward" '
            'aria-hidden="true"></span> dark blue most negative → grey 0 → light orange most positive; the lightness alone '
            'gives the sign. Each layer has its own scale, its ends written under it.</div></div>')


def step_html(data):
    step, names = data["step"], data["names"]
    target = data["loss"]["class"]
    return (f'<p class="lead">Training moves every weight against its gradient. Here is what one step of Adam (learning '
            f'rate {step["lr"]:g}{e(data["lr_source"])}, a fresh optimizer: its first step) does with this image\'s gradient '
            f'alone. On its first step Adam moves each weight by about the learning rate, in the direction opposite to '
            f'the sign of its gradient, whatever the gradient\'s size.</p>'
            f'<button type="button" id="step-toggle" aria-pressed="false" aria-controls="step-body">Take the step</button>'
            f'<div id="step-body" class="step-body" data-state="before">'
            f'<div class="kernels" id="step-kernels">'
            f'<figure class="k before"><canvas id="step-kernel" data-what="before" role="img" aria-label="the 32 kernels of '
            f'{e(step["layer"])}, each 3×3 pixels with its red, green and blue weights as colour; mid grey is 0"></canvas>'
            f'<figcaption id="step-kernel-caption">{e(step["layer"])}\'s kernels <b>before</b></figcaption></figure>'
            f'<figure class="k"><canvas data-what="dkernel" role="img" aria-label="dW, the kernels\' gradient, on its own '
            f'scale"></canvas><figcaption>dW (on its own scale)</figcaption></figure>'
            f'<figure class="k after-only"><canvas data-what="update" role="img" aria-label="the update, after minus before, '
            f'on its own scale"></canvas><figcaption>the update, after − before (own scale)</figcaption></figure>'
            f'<figure class="k after-only"><canvas data-what="after" role="img" aria-label="the kernels after the step, on '
            f'the scale of before"></canvas><figcaption><b>after</b>, on the scale of before</figcaption></figure></div>'
            f'<p class="step-words after-only">{step["moved"]:,} of the {step["weights"]:,} weights moved, each by about the '
            f'learning rate (the largest by {fmt(step["largest_move"])}): the update is close to −lr × the sign of dW, '
            f'which is why its picture is all extremes. The other {step["weights"] - step["moved"]:,} had a gradient of '
            f'exactly 0 on this image (their unit was off, or lost its pool window). The change is invisible in the '
            f'kernels, yet the loss on this image fell from '
            f'<b data-value="{step["loss_before"]!r}">{fmt(step["loss_before"])}</b> to <b id="loss-after" '
            f'data-value="{step["loss_after"]!r}">{fmt(step["loss_after"])}</b> and p({e(names[target])}) went from '
            f'{step["prob_before"]:.1%} to {step["prob_after"]:.1%}. So many tiny moves, all downhill for this one image: '
            f'that is why training averages the gradient of a batch of images before it steps, and takes thousands of '
            f'steps.</p><p class="step-words before-only">The loss on this image now: <b>{fmt(step["loss_before"])}</b>. '
            f'Press the button to take one step.</p></div>')


def checks_html(data):
    rows = []
    for block in data["layers"] + [{"name": "loss", "gradient_check": data["loss"]["gradient_check"]}]:
        for key, r in block["gradient_check"].items():
            what = {"input": "dL/d(its input)", "kernel": "dL/dW", "bias": "dL/db", "logits": "dL/dz = p − y"}[key]
            skipped = f", {r['skipped']} skipped at a kink" if r["skipped"] else ""
            anchor = f' id="check-{e(block["name"])}"' if key == next(iter(block["gradient_check"])) else ""
            rows.append(f'<tr{anchor}>'
                        f'<td><code>{e(block["name"])}</code></td><td>{what}</td><td class="num">{len(r["entries"]):,} of '
                        f'{r["size"]:,}{skipped}</td><td class="num" data-value="{r["rel_error"]!r}">{r["rel_error"]:.1e}'
                        f'</td></tr>')
    return ('<p class="lead">Is the hand-written backward right? For each layer, with its input a and the gradient g = '
            'dL/dA it received on this image, f = Σ g · layer(a) has the same gradient as the loss. Central differences '
            f'of f in float64, (f(w + h) − f(w − h)) / 2h with h = 1e-6, at {data["checked_entries"]} entries of each '
            'tensor (half where the gradient is not zero, half anywhere; every entry of a smaller one), against the '
            'backward: rel_error = |a − n| / (|a| + |n|). Below 1e-6 the two agree; a wrong backward scores 1e-2 to 1. '
            'An entry whose ±h nudge turns a ReLU on or off, or changes a pool\'s winner, sits on a kink where the '
            'difference quotient means nothing: it is skipped and counted.</p>'
            '<table class="checks"><thead><tr><th scope="col">layer</th><th scope="col">gradient</th>'
            '<th scope="col" class="num">entries checked</th><th scope="col" class="num">rel_error</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def document(data, words, title, meta):
    """The whole page. data: ``content.data_block``; words: [(forward, backward)] per column (the input,
    then each layer); title: text; meta: text (escaped here)."""
    style = (HERE / "walkthrough.css").read_text()
    scripts = "\n".join((HERE / name).read_text() for name in SCRIPTS)
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{style}</style></head><body>"
            f'<header class="top"><h1>{e(title)}</h1><p class="meta">{e(meta)}</p></header><main>'
            '<section class="intro" aria-labelledby="intro-heading"><h2 id="intro-heading">How to read this page</h2>'
            '<p>The net reads the image <b>left to right</b>: each column is what one layer computed, each small square a '
            'channel, each pixel in it a unit, one number. Then backprop runs <b>right to left</b>, in the row below: the '
            'loss says how wrong the answer was, and every unit is handed dL/dA, how much the loss would change if that '
            'unit grew a little. That number is all a weight needs to learn.</p>'
            '<p><b>Click any unit</b> to see its arithmetic with the real numbers, forward and back. '
            '<span id="keys-help">Or press Tab to reach a picture, move with the arrow keys, change channel with Page Up '
            'and Page Down, and press Enter.</span></p>'
            f'{legend_html()}</section>'
            f'<section class="network" aria-label="the network, forward above, backward below">{net_html(data, words)}</section>'
            '<aside id="panel" hidden aria-labelledby="panel-title"><div class="panel-head"><h2 id="panel-title">'
            'A unit</h2><button type="button" class="close" aria-label="close the panel">×</button></div>'
            '<div class="panel-body"></div></aside>'
            f'<section id="step" aria-labelledby="step-heading"><h2 id="step-heading">One training step</h2>{step_html(data)}'
            '</section>'
            f'<section id="checks" aria-labelledby="checks-heading"><h2 id="checks-heading">Gradient checks, on this image'
            f'</h2>{checks_html(data)}</section>'
            '<p class="status" id="status" aria-live="polite"></p></main>'
            f'<script type="application/json" id="npnet-walkthrough">{content.json_text(data)}</script>'
            f"<script>{scripts}</script></body></html>\n")
