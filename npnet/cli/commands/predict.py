"""explain.py predict: the top-k classes of each image, with probabilities; with --tta N also the top-k of
the probabilities averaged over N fixed shifts and scales of the image (``npnet.data.tta``), listed apart."""
import json

from ..boundary import one_line
from ...explain import predict
from ...io.files import finite_json, write_text_atomic
from ...data.tta import MAX_VIEWS
from .evaluate import views
from .common import Model, out_dir, positive, read_images, wrote

HELP = "top-k classes of each image"
PARENTS = ("model",)


def add_arguments(parser):
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--top", type=positive, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object per image per line")
    parser.add_argument("--tta", type=views, metavar="N",
                        help=f"also list the top-k of the probabilities averaged over the first N (1..{MAX_VIEWS}) "
                             f"of a fixed list of shifts and scales (npnet/data/tta.py)")


def print_top(top):
    for rank, p in enumerate(top, 1):
        print(f"  {rank}. {p.prob:7.2%}  {p.class_id:2d} {one_line(p.name)}")


def run(args):
    model = Model(args.model)
    images, paths, failed = read_images(args.images)
    if not len(images):
        return 2                    # every image failed (each said why): nothing written, no folder made
    out = out_dir(args)
    lines = []
    predictions = predict(model.net, model.input(images), top=args.top, class_names=model.names)
    augmented = ([None] * len(paths) if args.tta is None else
                 predict(model.net, images, top=args.top, class_names=model.names, preprocessing=model.spec,
                         tta=args.tta))
    for path, top, tta_top in zip(paths, predictions, augmented):
        record = {"file": str(path), "top": [p._asdict() for p in top]}
        if tta_top is not None:
            record["tta"] = {"views": args.tta, "top": [p._asdict() for p in tta_top]}
        lines.append(json.dumps(finite_json(record), allow_nan=False))
        if args.json:
            print(lines[-1])
        else:
            print(f"{one_line(path)}:")
            print_top(top)
            if tta_top is not None:
                print(f"  test-time augmentation, {args.tta} views:")
                print_top(tta_top)
    target = out / "predictions.jsonl"
    write_text_atomic(target, "".join(line + "\n" for line in lines))
    wrote(target, quiet=args.json)
    return 2 if failed else 0
