"""Feature maps: what each convolution and pooling layer computes for an image.

A Conv2D layer with F filters turns its input into F maps, one per filter: map f is high where the
pattern filter f looks for is present. After the ReLU, a map that is zero everywhere means the
filter did not fire at all (for every image, it is a "dead" filter). MaxPool2D keeps the strongest
response of each 2x2 window, halving each map's size.
"""
from ..engine.layers import Conv2D, MaxPool2D
from ..data.preprocessing import preprocess
from .inputs import check_images


def feature_map_layers(model, kinds=(Conv2D, MaxPool2D)):
    """Names of the layers whose outputs are shown as feature maps, in order."""
    return [layer.name for layer in model.layers if isinstance(layer, kinds)]


def feature_maps(model, images, layers=None, preprocessing=None):
    """{layer name: activations (N, H, W, C)} after one inference forward pass.

    images        : model input (N, 32, 32, 3); uint8 when ``preprocessing`` (the spec) is given
    layers        : the names to keep (default: every Conv2D and MaxPool2D layer)

    The arrays are the layers' own ``output`` (after the ReLU for convolutions), copied so that a
    later forward does not change them.
    """
    if preprocessing is not None:
        images = preprocess(images, preprocessing)
    images = check_images(model, images)
    names = feature_map_layers(model) if layers is None else list(layers)
    wanted = [model.layer(name) for name in names]     # KeyError names the unknown layer
    model.forward(images, training=False)
    return {layer.name: layer.output.copy() for layer in wanted}
