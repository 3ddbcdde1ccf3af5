"""explain.py gradcam: class activation maps of one image, any CAM method, classes side by side.

With --true C different from the predicted class p, one more panel: why p and not C, the method's map
of y^p - y^C (``npnet.explain.contrastive``) on its own diverging scale -m .. m (white 0, red for p,
blue for C). Grad-CAM's is signed (no final ReLU); the other CAMs' are after their ReLU, so only red;
Eigen-CAM reads no class and gets no such panel."""
from pathlib import Path

from ...explain import cam, last_conv_layer, plots, resolve_class
from ...explain.method_plots import display_name
from ...explain.contrastive import CLASSLESS, contrastive_map, title_note
from ...explain.methods import CAM_METHODS, lookup
from ...data.images import load_image
from .common import Model, explained_classes, method_options, out_dir, titled, wrote

HELP = "class activation maps (Grad-CAM or --method), classes side by side"
PARENTS = ("model",)


def add_arguments(parser):
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("--method", default="gradcam", metavar="NAME",
                        help=f"the CAM method (default gradcam): {', '.join(CAM_METHODS)}")
    parser.add_argument("--class", dest="classes", action="extend", nargs="+", default=[], metavar="ID_OR_NAME")
    parser.add_argument("--true", metavar="ID_OR_NAME", help="the image's true class, shown too; when the "
                        "prediction differs, one more panel: why the predicted class and not the true one")
    parser.add_argument("--layer", help="layer to explain (default: the last Conv2D)")
    parser.add_argument("--normalize", choices=("shared", "each"), default="shared",
                        help="shared: raw values on one scale (default); each: every map scaled to 0..1")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of the method, e.g. batch_size=64 for scorecam (repeatable)")


def output_name(image_path, method):
    """<stem>_gradcam.png for Grad-CAM (as before the other methods), <stem>_<method>.png otherwise."""
    return f"{Path(image_path).stem}_{method}.png"


def run(args):
    lookup(args.method, CAM_METHODS, "cam")
    model = Model(args.model)
    options = method_options(args.option)
    image = load_image(args.image)
    x = model.input(image[None])
    probs = model.net.predict_proba(x)[0]
    predicted = int(probs.argmax())
    true = resolve_class(args.true, model.names) if args.true is not None else None
    asked = [resolve_class(c, model.names) for c in args.classes]
    rows = explained_classes(predicted, asked, true)
    classes = [c for c, _ in rows]
    maps = cam(model.net, x[[0] * len(classes)], args.method, classes=classes, layer=args.layer, **options)
    titles = [titled(role, c, model.names, probs[c]) for c, role in rows]
    name = display_name(args.method)
    suptitle = f"{name} at {args.layer or last_conv_layer(model.net)} for {Path(args.image).name}"
    contrast = (contrast_panel(model, x, args.method, predicted, true, args.layer, options)
                if true is not None and true != predicted and args.method not in CLASSLESS else None)
    path = out_dir(args) / output_name(args.image, args.method)
    wrote(plots.gradcam_comparison(image, list(maps), titles, path, suptitle, args.normalize, method=name,
                                   contrast=contrast))
    return 0


def contrast_panel(model, x, method, predicted, true, layer, options):
    """(map (H, W), title, colorbar label) of why ``predicted`` and not ``true`` for the one image x."""
    values, signed = contrastive_map(model.net, x[:1], method, predicted, true, layer, **options)
    title = (f"why {plots.wrap(model.names[predicted], 22)}\nand not {plots.wrap(model.names[true], 22)}\n"
             f"(ids {predicted} vs {true})")
    label = f"{display_name(method)} of y^pred - y^true\n({title_note(signed)})"
    return values[0], title, label
