#!/usr/bin/env python
"""Explain a trained npnet model: what it predicts, what its filters see, where it looks, where it fails.

    explain.py predict  --model M.h5 IMAGE...            top-5 classes with probabilities (--json)
    explain.py features --model M.h5 IMAGE               every conv layer's feature maps, one PNG each
    explain.py gradcam  --model M.h5 IMAGE [--class C ...] [--true C] [--layer L] [--normalize shared|each]
    explain.py evaluate --model M.h5 --data PATH         accuracy, per-class accuracy, confusion matrix (--json)
    explain.py errors   --model M.h5 --data PATH         gallery of the most confident mistakes, with Grad-CAM
    explain.py demo     --data PATH [--model M.h5]       what `make explain` runs, on the validation split

Images go through ``npnet.images.load_image`` and the checkpoint's own preprocessing, exactly as in
training. Figures go to --out (default explain_out/); every path written is printed. A user error
(bad file, unknown class) is one line on stderr and exit status 2; --debug shows the traceback.
"""
import argparse
import json
import sys
from pathlib import Path

from npnet import runtime

runtime.keep_freed_memory()

import numpy as np  # noqa: E402  (after the allocator setting, which must precede large arrays)

from npnet import checkpoint  # noqa: E402
from npnet.data import class_names as data_class_names, load_gtsrb, load_split  # noqa: E402
from npnet.errors import NpnetError  # noqa: E402
from npnet.explain import (evaluate, feature_map_layers, feature_maps, grad_cam, last_conv_layer,  # noqa: E402
                           model_class_names, most_confused, per_class, plots, predict, ranked_mistakes,
                           resolve_class)
from npnet.images import load_image  # noqa: E402
from npnet.layers import Conv2D  # noqa: E402
from npnet.preprocessing import preprocess  # noqa: E402

PROG = "explain.py"
NO_MODEL = "no trained model under runs/: run `make train` first"


# -- shared steps ---------------------------------------------------------------------------------
class Model:
    """A checkpoint, ready to use: the network, its preprocessing and its class names."""

    def __init__(self, path, data_path=None):
        self.path = path
        self.net, metadata = checkpoint.load(path)
        self.spec = metadata.get("preprocessing")
        if not isinstance(self.spec, dict):
            raise NpnetError(f"{path}: the checkpoint records no preprocessing spec; cannot feed it images")
        names = metadata.get("class_names")
        if names is None and data_path is not None:
            names = data_class_names(data_path)
        self.names = model_class_names(self.net, names)

    def input(self, images):
        """uint8 images (N, 32, 32, 3) -> the model's float input."""
        return preprocess(images, self.spec)


def read_images(paths):
    """Load every file; a bad one is reported on stderr (one line) and skipped.
    Returns (images uint8 (M, 32, 32, 3), the M paths read, number of failures)."""
    images, read, failed = [], [], 0
    for path in paths:
        try:
            images.append(load_image(path))
            read.append(path)
        except NpnetError as error:
            print(f"{PROG}: {error}", file=sys.stderr)
            failed += 1
    return np.array(images, dtype=np.uint8).reshape(-1, 32, 32, 3), read, failed


def out_dir(args):
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NpnetError(f"{out}: cannot create the output folder ({error.strerror or error})") from None
    return out


def wrote(path, quiet=False):
    """Report a written file (on stderr when stdout carries JSON)."""
    print(f"wrote {path}", file=sys.stderr if quiet else sys.stdout)


def titled(role, class_id, names, prob):
    return f"{role}: {plots.wrap(names[class_id], 22)}\n(id {class_id}) p = {prob:.1%}"


def positive(text):
    """argparse type: a whole number >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def load_labelled(path, split):
    """The split to evaluate: a pickle file or a folder's test split, or --split train/valid."""
    return load_split(path) if split == "test" else load_gtsrb(path, progress=False)[split]


# -- commands -------------------------------------------------------------------------------------
def cmd_predict(args):
    model = Model(args.model)
    images, paths, failed = read_images(args.images)
    out = out_dir(args)
    lines = []
    if len(images):
        predictions = predict(model.net, model.input(images), top=args.top, class_names=model.names)
        for path, top in zip(paths, predictions):
            record = {"file": str(path), "top": [p._asdict() for p in top]}
            lines.append(json.dumps(record))
            if args.json:
                print(lines[-1])
            else:
                print(f"{path}:")
                for rank, p in enumerate(top, 1):
                    print(f"  {rank}. {p.prob:7.2%}  {p.class_id:2d} {p.name}")
    target = out / "predictions.jsonl"
    target.write_text("".join(line + "\n" for line in lines))
    wrote(target, quiet=args.json)
    return 2 if failed else 0


def cmd_features(args):
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


def cmd_gradcam(args):
    model = Model(args.model)
    image = load_image(args.image)
    x = model.input(image[None])
    probs = model.net.predict_proba(x)[0]
    predicted = int(probs.argmax())
    true = resolve_class(args.true, model.names) if args.true is not None else None
    asked = [resolve_class(c, model.names) for c in args.classes]
    classes = list(dict.fromkeys([predicted] + asked + ([true] if true is not None else [])))
    cams = grad_cam(model.net, np.repeat(x, len(classes), axis=0), classes=np.array(classes), layer=args.layer)
    titles = []
    for c in classes:
        roles = [role for role, match in (("predicted", c == predicted), ("true", c == true)) if match]
        titles.append(titled(" = ".join(roles) or "class", c, model.names, probs[c]))
    layer = args.layer or last_conv_layer(model.net)
    suptitle = f"Grad-CAM at {layer} for {Path(args.image).name}"
    path = out_dir(args) / f"{Path(args.image).stem}_gradcam.png"
    wrote(plots.gradcam_comparison(image, list(cams), titles, path, suptitle, normalize=args.normalize))
    return 0


def report(model, data, evaluation, out, quiet=False, top_pairs=10):
    """Print accuracy, per-class accuracy and the most confused pairs; draw the confusion matrix."""
    rows = per_class(evaluation.confusion, model.names)
    if not quiet:
        print(f"accuracy {evaluation.accuracy:.2%} on {len(evaluation.labels)} images of {data.source}")
        print("per class:   id     n  accuracy  name")
        for row in rows:
            accuracy = "      -" if row["accuracy"] is None else f"{row['accuracy']:8.2%}"
            print(f"            {row['class_id']:3d} {row['n']:5d}  {accuracy}  {row['name']}")
        print("most confused (true -> predicted):")
        for i, j, count in most_confused(evaluation.confusion, top_pairs):
            print(f"  {count:4d} x  {i:2d} {model.names[i]}  ->  {j:2d} {model.names[j]}")
    title = f"confusion matrix: {Path(model.path).name} on {Path(data.source).name} (accuracy {evaluation.accuracy:.2%})"
    wrote(plots.confusion_plot(evaluation.confusion, out / "confusion_matrix.png", title), quiet)
    return rows


def cmd_evaluate(args):
    model = Model(args.model, args.data)
    data = load_labelled(args.data, args.split)
    evaluation = evaluate(model.net, model.input(data.images), data.labels)
    rows = report(model, data, evaluation, out_dir(args), quiet=args.json)
    if args.json:
        print(json.dumps({"accuracy": evaluation.accuracy, "n": len(evaluation.labels), "per_class": rows}))
    return 0


def mistake_maps(model, x, evaluation, chosen, layer=None):
    """Grad-CAM of the chosen mistakes for their true and their predicted class, in one pass."""
    labels, predicted = evaluation.labels[chosen], evaluation.predicted[chosen]
    cams = grad_cam(model.net, np.concatenate([x[chosen], x[chosen]]),
                    classes=np.concatenate([labels, predicted]), layer=layer)
    return cams[:len(chosen)], cams[len(chosen):]


def write_errors(model, data, x, evaluation, out, limit, layer=None):
    """The gallery of the ``limit`` most confident mistakes; returns their indices."""
    chosen = ranked_mistakes(evaluation)[:limit]
    if len(chosen) == 0:
        print("no misclassified images: nothing to draw")
        return chosen
    cams_true, cams_predicted = mistake_maps(model, x, evaluation, chosen, layer)
    captions = []
    for n in chosen:
        t, p = evaluation.labels[n], evaluation.predicted[n]
        captions.append((f"#{n}", titled("true", t, model.names, evaluation.probs[n, t]),
                         titled("predicted", p, model.names, evaluation.probs[n, p])))
    title = (f"{len(chosen)} most confident mistakes of {len(ranked_mistakes(evaluation))} "
             f"({Path(data.source).name}); Grad-CAM for the true and the predicted class")
    wrote(plots.errors_gallery(data.images[chosen], cams_true, cams_predicted, captions, out / "errors.png", title))
    return chosen


def cmd_errors(args):
    model = Model(args.model, args.data)
    data = load_labelled(args.data, args.split)
    x = model.input(data.images)
    evaluation = evaluate(model.net, x, data.labels)
    print(f"{len(ranked_mistakes(evaluation))} of {len(data.labels)} images misclassified")
    write_errors(model, data, x, evaluation, out_dir(args), args.limit, args.layer)
    return 0


def newest_model(runs="runs"):
    found = sorted(Path(runs).glob("*/best.h5"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise NpnetError(NO_MODEL)
    return found[-1]


def cmd_demo(args):
    path = args.model or newest_model(args.runs)
    print(f"model {path}")
    model = Model(path, args.data)
    data = load_gtsrb(args.data, progress=False)["valid"]
    x = model.input(data.images)
    evaluation = evaluate(model.net, x, data.labels)
    out = out_dir(args)
    report(model, data, evaluation, out)
    chosen = write_errors(model, data, x, evaluation, out, args.limit)
    if len(chosen):
        n = chosen[0]
        t, p = evaluation.labels[n], evaluation.predicted[n]
        cams = grad_cam(model.net, x[[n, n]], classes=np.array([p, t]))
        titles = [titled(role, c, model.names, evaluation.probs[n, c]) for role, c in (("predicted", p), ("true", t))]
        suptitle = f"most confident mistake: validation image #{n}, Grad-CAM on one shared scale"
        wrote(plots.gradcam_comparison(data.images[n], list(cams), titles, out / "gradcam_top_mistake.png", suptitle))
    return 0


# -- command line ---------------------------------------------------------------------------------
def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", default="explain_out", help="folder for the figures (default explain_out/)")
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    with_model = argparse.ArgumentParser(add_help=False, parents=[common])
    with_model.add_argument("--model", required=True, help="a checkpoint written by train.py (.h5)")
    with_data = argparse.ArgumentParser(add_help=False)
    with_data.add_argument("--data", required=True, help="test.p, or a GTSRB folder or zip")
    with_data.add_argument("--split", default="test", choices=("test", "valid", "train"),
                           help="which split of a folder to use (default test)")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("predict", parents=[with_model], help="top-k classes of each image")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=positive, default=5)
    p.add_argument("--json", action="store_true", help="one JSON object per image per line")
    p.set_defaults(run=cmd_predict)

    p = commands.add_parser("features", parents=[with_model], help="feature maps of every conv layer")
    p.add_argument("image", metavar="IMAGE")
    p.set_defaults(run=cmd_features)

    p = commands.add_parser("gradcam", parents=[with_model], help="Grad-CAM heatmaps, classes side by side")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--class", dest="classes", action="extend", nargs="+", default=[], metavar="ID_OR_NAME")
    p.add_argument("--true", metavar="ID_OR_NAME", help="the image's true class, shown too")
    p.add_argument("--layer", help="layer to explain (default: the last Conv2D)")
    p.add_argument("--normalize", choices=("shared", "each"), default="shared",
                   help="shared: raw values on one scale (default); each: every map scaled to 0..1")
    p.set_defaults(run=cmd_gradcam)

    p = commands.add_parser("evaluate", parents=[with_model, with_data], help="accuracy and confusion matrix")
    p.add_argument("--json", action="store_true", help="print accuracy and per-class accuracy as JSON")
    p.set_defaults(run=cmd_evaluate)

    p = commands.add_parser("errors", parents=[with_model, with_data], help="gallery of the mistakes")
    p.add_argument("--limit", type=positive, default=24)
    p.add_argument("--layer", help="layer to explain (default: the last Conv2D)")
    p.set_defaults(run=cmd_errors)

    p = commands.add_parser("demo", parents=[common], help="evaluate the newest runs/*/best.h5 and explain it")
    p.add_argument("--data", required=True, help="a GTSRB folder or zip (its validation split is used)")
    p.add_argument("--model", help="a checkpoint (default: the newest runs/*/best.h5)")
    p.add_argument("--runs", default="runs", help=argparse.SUPPRESS)
    p.add_argument("--limit", type=positive, default=24)
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except NpnetError as error:
        if args.debug:
            raise
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
