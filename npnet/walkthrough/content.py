"""What the walkthrough page holds: its numbers as one JSON block, and the words beside each column.

The block (``<script type="application/json" id="npnet-walkthrough">``) is what the page draws and what a
test reads back. Every array is the engine's float32 array for the one image, its batch axis dropped,
as nested lists of numbers rounded to 6 significant digits:

    input            {shape, pixels (uint8 H, W, 3), output: x, doutput: dL/dx}
    layers[i]        one per model layer, in order: {name, type, shape, parameters, below (the name of
                     the layer it reads), output: A, doutput: dL/dA, gradient_check, ...}
                     Conv2D: kernel, bias, dkernel, dbias;  MaxPool2D: winners (each window's winner,
                     di * p + dj, as the engine's argmax);  Dense: bias, dbias, top_inputs and to_below
                     (its kernel is too large to embed: the terms a unit's panel lists, computed here)
    loss             {class, name, why, value, probs, dlogits: p - y, gradient_check}
    step             one Adam step: the first convolution's kernel before, dkernel, the update and after;
                     the loss before and after
    gradient_check   per tensor: {rel_error, entries (flat indices checked), analytic, numeric, skipped, size}
"""
import json

import numpy as np

from . import passes

DIGITS = 6
TOP_TERMS = 8          # the terms a dense unit's panel lists (the rest are summed)
TOP_TERMS_BELOW = 6    # the terms listed for a unit below a dense layer (1,152 units under dense_1)


def rounded(array):
    """A float array -> nested lists of floats rounded to 6 significant digits (``'%.6g'``)."""
    array = np.asarray(array)
    flat = [float(f"{v:.{DIGITS}g}") for v in array.ravel().tolist()]
    return np.array(flat, dtype=np.float64).reshape(array.shape).tolist() if array.ndim else flat[0]


def relu_dz(layer, dA, A):
    """dz = dA * [A > 0] where the layer has a ReLU, else dA."""
    return dA * (A > 0) if getattr(layer, "activation", None) == "relu" else dA


def top_terms(values, weights, count):
    """For each column u of ``weights`` (D, U) with ``values`` (D,): the ``count`` terms values[i] *
    weights[i, u] largest in size, as [[i, values[i], weights[i, u]], ...], and the sum of the rest."""
    products = values[:, None] * weights
    order = np.argsort(-np.abs(products), axis=0, kind="stable")[:count]           # (count, U)
    columns = np.arange(weights.shape[1])
    top = [[[int(i), float(f"{values[i]:.{DIGITS}g}"), float(f"{weights[i, u]:.{DIGITS}g}")]
            for i in order[:, u]] for u in columns]
    rest = products.sum(axis=0, dtype=np.float64) - products[order, columns].sum(axis=0, dtype=np.float64)
    return top, rounded(rest)


def check_block(results):
    return {key: {"rel_error": float(f"{r['rel_error']:.4g}"), "entries": r["entries"],
                  "analytic": rounded(np.array(r["analytic"])), "numeric": rounded(np.array(r["numeric"])),
                  "skipped": r["skipped"], "size": r["size"]} for key, r in results.items()}


def layer_block(model, index, walk, checks):
    layer = model.layers[index]
    name = layer.name
    A, dA = walk.outputs[name][0], walk.doutputs[name][0]
    below = model.layers[index - 1].name if index else "input"
    block = {"name": name, "type": type(layer).__name__, "shape": list(A.shape), "parameters": layer.count_params(),
             "below": below, "activation": getattr(layer, "activation", None),
             "output": rounded(A), "doutput": rounded(dA), "gradient_check": check_block(checks[name])}
    if type(layer).__name__ == "Conv2D":
        block.update(kernel_size=list(layer.kernel_size), padding=[list(w) for w in layer.padding_widths()],
                     kernel=rounded(layer.params["kernel"]),
                     bias=rounded(layer.params["bias"]), dkernel=rounded(walk.grads[name]["kernel"]),
                     dbias=rounded(walk.grads[name]["bias"]))
    elif type(layer).__name__ == "MaxPool2D":
        block.update(pool_size=layer.pool_size, winners=walk.winners[name][0].astype(int).tolist())
    elif type(layer).__name__ == "Dense":
        a = (walk.outputs[below] if index else walk.x)[0].reshape(-1).astype(np.float64)
        kernel = layer.params["kernel"].astype(np.float64)
        dz = relu_dz(layer, dA, A).astype(np.float64)
        top, rest = top_terms(a, kernel, TOP_TERMS)
        to_below, rest_below = top_terms(dz, kernel.T, TOP_TERMS_BELOW)
        block.update(bias=rounded(layer.params["bias"]), dbias=rounded(walk.grads[name]["bias"]),
                     kernel_shape=list(kernel.shape), top_inputs=top, top_inputs_rest=rest,
                     to_below=to_below, to_below_rest=rest_below)
    return block


def step_block(step, layer):
    before, after = step.before[f"{layer}/kernel"], step.after[f"{layer}/kernel"]
    moves = [np.abs(step.after[key] - step.before[key]) for key in step.before]
    moved = int(sum((m > 0).sum() for m in moves))
    return {"layer": layer, "lr": step.lr, "kernel_before": rounded(before), "kernel_after": rounded(after),
            "update": rounded(after - before), "loss_before": step.loss_before, "loss_after": step.loss_after,
            "prob_before": step.prob_before, "prob_after": step.prob_after, "moved": moved,
            "weights": int(sum(m.size for m in moves)), "largest_move": float(max(m.max() for m in moves))}


def data_block(model, walk, checks, loss_check, step, image, meta):
    """The page's JSON block as a dict (``json_text`` writes it). ``image``: the uint8 image (H, W, 3);
    ``meta``: {model, source, label, class, name, why, names, untrained, ...} from the command."""
    layers = [layer_block(model, i, walk, checks) for i in range(len(model.layers))]
    first_conv = next(i for i, layer in enumerate(model.layers) if type(layer).__name__ == "Conv2D")
    step_data = step_block(step, model.layers[first_conv].name)
    step_data["dkernel"] = layers[first_conv]["dkernel"]
    return {"format": "npnet-walkthrough/1", **meta,
            "checked_entries": passes.CHECKED_ENTRIES,
            "input": {"name": "input", "type": "Input", "shape": list(walk.x.shape[1:]),
                      "pixels": np.asarray(image, dtype=np.uint8).tolist(), "output": rounded(walk.x[0]),
                      "doutput": rounded(walk.dx[0])},
            "layers": layers,
            "loss": {"class": walk.target, "value": walk.loss, "probs": rounded(walk.probs[0]),
                     "dlogits": rounded(walk.doutputs[model.layers[-1].name][0]),
                     "gradient_check": check_block({"logits": loss_check})},
            "step": step_data}


def json_text(data):
    """The block as JSON safe inside a <script> element: every '<' written as \\u003c."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


# -- the words beside the columns ------------------------------------------------------------------
def count(n):
    return f"{n:,}"


def share(part, whole):
    return f"{100 * part / whole:.1f}%" if whole else "0%"


def shape_words(shape):
    return "×".join(str(d) for d in shape)


def forward_words(model, index, walk):
    """One sentence of sizes and counts for layer ``index``'s forward column."""
    layer = model.layers[index]
    A = walk.outputs[layer.name][0]
    kind = type(layer).__name__
    below = model.layers[index - 1].name if index else "the input"
    zeros = int((A == 0).sum())
    size = f"{shape_words(A.shape)} = {count(A.size)} values" if A.ndim > 1 else f"{count(A.size)} values"
    if kind == "Conv2D":
        kh, kw, C, F = layer.params["kernel"].shape
        return (f"{size} ({F} channels). {count(layer.count_params())} parameters: {F} kernels of {kh}×{kw}×{C} "
                f"and {F} biases. {count(zeros)} zero ({share(zeros, A.size)}): the ReLU turned them off.")
    if kind == "MaxPool2D":
        p = layer.pool_size
        return (f"{size}. No parameters: each value is the largest of a {p}×{p} window of {below}. "
                f"{count(zeros)} zero ({share(zeros, A.size)}): all {p * p} were 0.")
    if kind == "Flatten":
        return f"{size}: {below}'s numbers in one row (row, column, channel order). Nothing is computed."
    if kind == "Dropout":
        return (f"{size}, passed unchanged: dropout is off when the net predicts (in training it zeroes "
                f"each value with probability {layer.rate:g} and scales the rest by {1 / (1 - layer.rate):g}).")
    if kind == "Dense":
        D, U = layer.params["kernel"].shape
        text = f"{count(U)} values. {count(layer.count_params())} parameters: {count(D)}×{count(U)} weights and {U} biases."
        if layer.activation == "relu":
            return text + f" {count(zeros)} zero ({share(zeros, A.size)}): the ReLU turned them off."
        return text + " No ReLU: these are the logits, any sign."
    return size


def backward_words(model, index, walk):
    """One sentence for layer ``index``'s backward column: the size of dL/dA, its zeros and why."""
    layer = model.layers[index]
    dA, A = walk.doutputs[layer.name][0], walk.outputs[layer.name][0]
    above = model.layers[index + 1] if index + 1 < len(model.layers) else None
    zeros = int((dA == 0).sum())
    text = f"dL/dA: {count(dA.size)} entries, {count(zeros)} zero ({share(zeros, dA.size)})"
    if above is not None and type(above).__name__ == "MaxPool2D":
        losers = dA.size - walk.outputs[above.name][0].size
        text += (f": the pool hands each window's gradient to its winner alone, so {count(losers)} "
                 f"(3 in 4) get 0")
        if zeros > losers:
            text += f", and {count(zeros - losers)} winners got 0 from above"
    elif above is None:
        text = f"dL/dz = p − y: {count(dA.size)} entries, one per class"
    elif type(above).__name__ in ("Flatten", "Dropout"):
        text += f": {above.name}'s gradient, {'reshaped' if type(above).__name__ == 'Flatten' else 'passed'} back"
    elif type(above).__name__ == "Conv2D":
        text += (f": each is the sum of what the {above.name} units reading it send back, the full correlation of "
                 f"their dz with the flipped kernel")
    elif type(above).__name__ == "Dense":
        text += f": each is the sum of what the {count(above.units)} units of {above.name} send back, dx = dz · Wᵀ"
    if zeros and above is not None and type(above).__name__ in ("Conv2D", "Dense"):
        text += f"; {count(zeros)} are 0 because no unit reading them passed a gradient back"
    text += "."
    if getattr(layer, "activation", None) == "relu":
        blocked = int(((dA != 0) & (A <= 0)).sum())
        off = int((A <= 0).sum())
        text += (f" The ReLU then blocks the gradient of the {count(off)} units that were off: dz = dL/dA × [A > 0]"
                 f" ({count(blocked)} non-zero entries of dL/dA stop there). Their weights get no gradient.")
    return text


def input_words(walk, spec_name):
    x, dx = walk.x[0], walk.dx[0]
    return (f"{shape_words(x.shape)} = {count(x.size)} values: the image's pixels after the model's "
            f"preprocessing ({spec_name}).",
            f"dL/dx: {count(dx.size)} entries, {count(int((dx == 0).sum()))} zero. How a change of each pixel "
            f"would change the loss: what saliency maps show.")
