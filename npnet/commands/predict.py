"""explain.py predict: the top-k classes of each image, with probabilities."""
import json

from ..cli import one_line
from ..explain import predict
from ..files import finite_json, write_text_atomic
from .common import Model, out_dir, positive, read_images, wrote

HELP = "top-k classes of each image"
PARENTS = ("model",)


def add_arguments(parser):
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--top", type=positive, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object per image per line")


def run(args):
    model = Model(args.model)
    images, paths, failed = read_images(args.images)
    out = out_dir(args)
    lines = []
    if not len(images):
        return 2                    # every image failed (each said why): an earlier result stays as it was
    predictions = predict(model.net, model.input(images), top=args.top, class_names=model.names)
    for path, top in zip(paths, predictions):
        record = {"file": str(path), "top": [p._asdict() for p in top]}
        lines.append(json.dumps(finite_json(record), allow_nan=False))
        if args.json:
            print(lines[-1])
        else:
            print(f"{one_line(path)}:")
            for rank, p in enumerate(top, 1):
                print(f"  {rank}. {p.prob:7.2%}  {p.class_id:2d} {one_line(p.name)}")
    target = out / "predictions.jsonl"
    write_text_atomic(target, "".join(line + "\n" for line in lines))
    wrote(target, quiet=args.json)
    return 2 if failed else 0
