"""explain.py features: every conv layer's feature maps for one image, one PNG per layer."""
from pathlib import Path

from ...explain import feature_map_layers, feature_maps, plots, predict
from ...data.images import load_image
from ...engine.layers import Conv2D
from .common import Model, out_dir, wrote

HELP = "feature maps of every conv layer"
PARENTS = ("model",)


def add_arguments(parser):
    parser.add_argument("image", metavar="IMAGE")


def run(args):
    model = Model(args.model)
    image = load_image(args.image)
    x = model.input(image[None])
    best = predict(model.net, x, top=1, class_names=model.names)[0][0]
    layers = feature_map_layers(model.net, kinds=(Conv2D,))
    maps = feature_maps(model.net, x, layers=layers)
    out = out_dir(args)
    stem = Path(args.image).stem
    for name in layers:
        title = (f"{name}: {maps[name].shape[-1]} feature maps of {Path(args.image).name}\n"
                 f"predicted: {best.name} ({best.prob:.1%})")
        wrote(plots.feature_grid(image, maps[name][0], title, out / f"{stem}_features_{name}.png"))
    return 0
