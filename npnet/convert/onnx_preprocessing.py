"""npnet's preprocessing specs as ONNX ops, for ``--with-preprocessing``: the graph then takes uint8 images.

The same formulas as ``npnet.data.preprocessing`` (x: the images cast to float32, shape (N, H, W, C)):

    seed                x / 255 - 0.5                                      Div, Sub
    standardize         (x - mean[c]) / std[c]                             Sub, Div
    image_standardize   (x - m) / max(s, 1 / sqrt(H W C)), m and s the mean and standard deviation
                        of each image over (H, W, C)                       ReduceMean, Sqrt, Max, Div
    center_standardize  clip((x - m) / max(s, 1 / sqrt(h w C)), -4, 4), m and s over the middle half
                        of the rows and columns (h x w)                    Slice, ReduceMean, ..., Clip

'equalize' ranks every pixel's luminance in its image (a stable sort): ONNX has no stable per-row
argsort, so it is refused rather than approximated. 'lcn' (a border-renormalized Gaussian window) is
not written as ops yet: refused too.
"""
import numpy as np

from ..io.errors import NpnetError
from ..data.preprocessing import spec_problem

EXPRESSIBLE = ("seed", "standardize", "image_standardize", "center_standardize")
NOT_EXPRESSIBLE = {"equalize": "it ranks each image's pixels by a stable sort",
                   "lcn": "its border-renormalized Gaussian window is not written as ONNX ops yet"}


def add_preprocessing(graph, spec, x, shape):
    """Append the nodes that cast ``x`` (uint8 images) to float32 and apply ``spec``; returns the output's name."""
    problem = spec_problem(spec, channels=shape[-1])
    if problem:
        raise NpnetError(f"--with-preprocessing: the preprocessing spec {problem}")
    name = spec["name"]
    if name not in EXPRESSIBLE:
        raise NpnetError(f"--with-preprocessing: '{name}' cannot be written as ONNX ops ({NOT_EXPRESSIBLE[name]}); "
                         "export without it and preprocess images before the model")
    from onnx import TensorProto
    x = graph.node("Cast", [x], "preprocessing/cast", to=TensorProto.FLOAT)
    f32 = np.float32
    if name == "seed":
        x = graph.node("Div", [x, graph.constant("preprocessing/255", f32(255))], "preprocessing/div")
        return graph.node("Sub", [x, graph.constant("preprocessing/half", f32(0.5))], "preprocessing/sub")
    if name == "standardize":
        x = graph.node("Sub", [x, graph.constant("preprocessing/mean", np.asarray(spec["mean"], f32))],
                       "preprocessing/sub")
        return graph.node("Div", [x, graph.constant("preprocessing/std", np.asarray(spec["std"], f32))],
                          "preprocessing/div")
    if name == "image_standardize":
        return _standardize(graph, x, x, int(np.prod(shape)))
    H, W = shape[0], shape[1]
    starts, ends = [H // 4, W // 4], [H - H // 4, W - W // 4]
    center = graph.node("Slice", [x, graph.constant("preprocessing/starts", np.asarray(starts, np.int64)),
                                  graph.constant("preprocessing/ends", np.asarray(ends, np.int64)),
                                  graph.constant("preprocessing/axes", np.asarray([1, 2], np.int64))],
                        "preprocessing/center")
    x = _standardize(graph, x, center, (ends[0] - starts[0]) * (ends[1] - starts[1]) * shape[-1])
    return graph.node("Clip", [x, graph.constant("preprocessing/low", f32(-4)),
                               graph.constant("preprocessing/high", f32(4))], "preprocessing/clip")


def _standardize(graph, x, region, size):
    """(x - mean(region)) / max(std(region), 1 / sqrt(size)), mean and std per image."""
    axes = [1, 2, 3]
    mean = graph.node("ReduceMean", [region], "preprocessing/mean", axes=axes, keepdims=1)
    deviation = graph.node("Sub", [region, mean], "preprocessing/deviation")
    square = graph.node("Mul", [deviation, deviation], "preprocessing/square")
    std = graph.node("Sqrt", [graph.node("ReduceMean", [square], "preprocessing/variance", axes=axes, keepdims=1)],
                     "preprocessing/std")
    floor = graph.constant("preprocessing/floor", np.float32(1.0 / np.sqrt(size)))
    scale = graph.node("Max", [std, floor], "preprocessing/scale")
    return graph.node("Div", [graph.node("Sub", [x, mean], "preprocessing/centered"), scale], "preprocessing/standardized")
