"""explain.py attack: how small a change of the image flips the net's answer. For each image: the image,
the attacked image (PGD, or FGSM with --steps 1), the change amplified, the probabilities before and
after, and the contrastive Grad-CAM before and after: why the net said its class and not the other
(on the image) and why the other and not its class (on the attacked image), on a diverging scale.

Untargeted by default (away from the image's predicted class, or --true); --target C pushes towards C.
eps and the step are grey levels (pixel units: eps 4 is 4/255 of the range); the step defaults to
2.5 eps / steps (Madry et al.). --minimal searches the smallest eps that flips each image instead."""
import json
import sys
from pathlib import Path

import numpy as np

from ...data.preprocessing import preprocess
from ...explain import grad_cam, resolve_class
from ...explain.attacks import minimal_flip, pgd
from ...explain.attacks.figures import attack_figure
from ...explain.attacks.pixels import NORMS
from ...explain.plots import wrap
from ...io.errors import NpnetError
from ...io.files import finite_json
from ..boundary import one_line, whole_number
from .common import Model, out_dir, positive, read_images, true_classes, wrote
from .compare import images_from_data
from .robustness import radii

HELP = "attack images (FGSM / PGD): the smallest change that flips the answer, and what it changed"
PARENTS = ("model",)


def add_arguments(parser):
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="image files (or --data with --index)")
    parser.add_argument("--data", help="a labelled split to take images from, by --index (labels = true classes)")
    parser.add_argument("--split", default="test", choices=("test", "valid", "train", "holdout"))
    parser.add_argument("--index", type=whole_number(0), action="extend", nargs="+", default=[], metavar="N")
    parser.add_argument("--cache-dir", help="where decoded images of a folder are cached (default OUT/cache)")
    parser.add_argument("--target", metavar="ID_OR_NAME", help="push every image towards this class (targeted)")
    parser.add_argument("--true", action="extend", nargs="+", default=[], metavar="ID_OR_NAME",
                        help="the class to move away from (untargeted; default: the predicted class)")
    parser.add_argument("--eps", default="4", help="the radius in grey levels (default 4): up to 255 for linf, "
                        "up to 255 * sqrt(32 * 32 * 3) = 14,133 for l2")
    parser.add_argument("--norm", choices=NORMS, default="linf", help="linf (default) or l2")
    parser.add_argument("--steps", type=positive, default=20, help="PGD steps (default 20; 1 = FGSM)")
    parser.add_argument("--step-size", type=float, help="grey levels per step (default 2.5 eps / steps; eps for 1 step)")
    parser.add_argument("--minimal", action="store_true",
                        help="search the smallest radius that flips each image (bisection; --eps is the top)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per run (figures still written)")


def run(args):
    if bool(args.images) == bool(args.data) or bool(args.data) != bool(args.index):
        raise NpnetError("attack: give image files, or --data with --index (not both)")
    largest = 255.0 if args.norm == "linf" else float(np.floor(255 * np.sqrt(32 * 32 * 3)))
    eps = radii(args.eps, largest)
    if len(eps) != 1:
        raise NpnetError("--eps: give one radius")
    eps = eps[0]
    model = Model(args.model)
    if args.data:
        images, paths, labels = images_from_data(args, model)
        failed = 0
    else:
        images, paths, failed = read_images(args.images)
        labels = None
    if not len(images):
        return 2
    pixels = images.astype(np.float32)
    before = model.net.predict_proba(model.input(images))
    away = true_classes(args.true, len(images), model.names) if args.true else [None] * len(images)
    away = np.array([int(before[n].argmax()) if c is None else c for n, c in enumerate(away)])
    targeted = args.target is not None
    goal = np.full(len(images), resolve_class(args.target, model.names)) if targeted else away
    step = args.step_size if args.step_size is not None else (eps if args.steps == 1 else 2.5 * eps / args.steps)
    if not np.isfinite(step) or step <= 0:
        raise NpnetError(f"--step-size must be a number > 0, got {args.step_size}")
    radius = np.full(len(images), eps)
    if args.minimal:
        found = minimal_flip(model.net, pixels, target=goal if targeted else None, norm=args.norm, high=eps,
                             steps=args.steps, preprocessing=model.spec)
        adversarial, radius = found.adversarial, found.radius
    else:
        adversarial = pgd(model.net, pixels, goal, eps, step, args.steps, norm=args.norm, targeted=targeted,
                          preprocessing=model.spec)
    after = model.net.predict_proba(preprocess(adversarial, model.spec))   # attacked pixels stay float
    out = out_dir(args)
    stems = ([f"{Path(args.data).stem}_{i}" for i in args.index] if args.data else [Path(p).stem for p in paths])
    stems = [stem if stems.count(stem) == 1 else f"{stem}_{n}" for n, stem in enumerate(stems)]
    records = []
    for n, path in enumerate(paths):
        c0, c1 = int(before[n].argmax()), int(after[n].argmax())
        other = c1 if c1 != c0 else int(np.argsort(-after[n])[1])
        x_before, x_after = model.input(images[n:n + 1]), preprocess(adversarial[n:n + 1], model.spec)
        maps = [grad_cam(model.net, x_before, c0, contrast=other, relu=False)[0],
                grad_cam(model.net, x_after, other, contrast=c0, relu=False)[0]]
        short = [wrap(model.names[c], 18) for c in (c0, other)]
        titles = [f"why {short[0]},\nnot {short[1]}\n(Grad-CAM, image)",
                  f"why {short[1]},\nnot {short[0]}\n(Grad-CAM, attacked)"]
        what = (f"minimal {args.norm} radius {radius[n]:.3g}" if args.minimal
                else f"{'targeted ' if targeted else ''}PGD-{args.steps} {args.norm} eps {eps:g}")
        name = Path(path).name
        figure = attack_figure(images[n], adversarial[n], before[n], after[n], maps, titles, model.names,
                               out / f"{stems[n]}_attack.png",
                               f"{name}: {what} (grey levels)")
        wrote(figure, args.json)
        change = adversarial[n] - pixels[n]
        records.append({"image": name, "label": None if labels is None else int(labels[n]), "predicted": c0,
                        "attacked_prediction": c1, "flipped": bool(c1 == goal[n]) if targeted else bool(c1 != goal[n]),
                        "linf": float(np.abs(change).max()), "l2": float(np.linalg.norm(change)),
                        "radius": float(radius[n]), "p_before": float(before[n, c0]), "p_after": float(after[n, c1])})
        if not args.json:
            print(f"{one_line(name)}: {one_line(model.names[c0])} ({before[n, c0]:.1%}) -> "
                  f"{one_line(model.names[c1])} ({after[n, c1]:.1%}); change linf {records[-1]['linf']:.2f}, "
                  f"l2 {records[-1]['l2']:.1f} grey levels")
    if args.json:
        print(json.dumps(finite_json({"norm": args.norm, "eps": eps, "steps": args.steps, "targeted": targeted,
                                      "minimal": args.minimal, "images": records}), allow_nan=False))
    return 2 if failed else 0
