"""See backprop happen: one image walked forward and backward through a net, as one offline web page.

    html, data = build(model, image, x, target, meta)

``passes`` computes the numbers (the forward, the backward of L = -log p[target], each layer's gradient
check on this image, one Adam step), ``content`` turns them into the page's JSON block and the words
beside each column, ``colours`` holds the two colour scales, ``page`` writes the HTML; ``draw.js`` draws
the columns from the block, ``panel.js`` and ``backward.js`` explain a clicked unit, ``step.js`` shows the
training step. ``explain.py walkthrough`` is the command (``npnet/cli/commands/walkthrough.py``).
"""
from . import colours, content, page, passes


def build(model, image, x, target, meta):
    """(html, data) of the page for one image.

    model: a Sequential (not changed, but its layers' caches are: this runs a forward and a backward);
    image: uint8 (H, W, 3), what the page shows; x: float32 (1, H, W, C), the model's input for it;
    target: the class whose cross-entropy is walked back; meta: {title, subtitle, names, why,
    preprocessing, lr, lr_source, image_alt, model, source, label, untrained} for the page."""
    with passes.one_thread():
        walk = passes.walk_image(model, x, target)
        checks, loss_check = passes.layer_checks(model, x, target)
        step = passes.adam_step(model, walk, meta["lr"])
    shown = {key: value for key, value in meta.items() if key not in ("title", "subtitle", "lr")}
    shown["palettes"] = {"forward": colours.forward_palette(), "backward": colours.backward_palette()}
    data = content.data_block(model, walk, checks, loss_check, step, image, shown)
    words = [content.input_words(walk, meta["preprocessing"])]
    words += [(content.forward_words(model, i, walk), content.backward_words(model, i, walk))
              for i in range(len(model.layers))]
    return page.document(data, words, meta["title"], meta["subtitle"]), data


__all__ = ["build", "colours", "content", "page", "passes"]
