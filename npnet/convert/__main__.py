"""python -m npnet.convert MODEL OUT: read a model (npnet checkpoint or Keras file), write it in OUT's format.

MODEL: an npnet checkpoint, a Keras .keras file, a Keras .h5 (Keras 2 or 3) or a Keras weights-only
file of the seed net, told apart by content. OUT's extension picks the format:

    .h5     npnet's checkpoint (explain.py --model, train.py's format)
    .onnx   ONNX, opset 17: input 'input' float32 (N, H, W, C), output 'logits' (needs the onnx extra);
            --with-preprocessing: the graph takes uint8 images and applies the preprocessing itself
    .pt2    a torch.export program: torch.export.load(OUT).module() runs it (needs PyTorch)

A Keras file does not record its preprocessing: the seed's (x / 255 - 0.5) is assumed unless
--preprocessing says otherwise, and the summary printed says which one is used.
"""
import argparse
import json
import os
import sys
from pathlib import Path

from ..io import checkpoint
from ..io.checkpoint_checks import class_names_problem
from ..cli.boundary import ArgumentParser, one_line, run
from ..data import _read_names as read_class_names     # a ClassId,SignName CSV of GTSRB's 43 classes
from ..io.errors import NpnetError
from ..data.preprocessing import PREPROCESSING_METHODS
from ..io.load import load_model

PROG = "python -m npnet.convert"
FORMATS = {".h5": "npnet checkpoint", ".onnx": "ONNX", ".pt2": "PyTorch torch.export program"}


def build_parser():
    summary, formats = __doc__.split("\n\n")[1:3]
    parser = ArgumentParser(prog=PROG, description=summary, epilog="formats of OUT:\n" + formats,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="npnet checkpoint or Keras file (.keras, .h5, .weights.h5)")
    parser.add_argument("out", metavar="OUT", help="the file to write: .h5, .onnx or .pt2")
    parser.add_argument("--preprocessing", metavar="SPEC",
                        help=f"for a Keras file: one of {', '.join(m for m in PREPROCESSING_METHODS if m != 'standardize')}, or a "
                             "JSON spec such as '{\"name\": \"standardize\", \"mean\": [...], \"std\": [...]}' "
                             "(default: seed, x / 255 - 0.5)")
    parser.add_argument("--with-preprocessing", action="store_true",
                        help=".onnx only: the graph takes uint8 images and applies the preprocessing")
    parser.add_argument("--class-names", metavar="CSV",
                        help="signnames.csv (ClassId,SignName) to record, when MODEL has no class names")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser


def main(argv):
    args = build_parser().parse_args(argv)
    extension = os.path.splitext(args.out)[1].lower()
    if extension not in FORMATS:
        raise NpnetError(f"{args.out}: unknown output format {extension or '(no extension)'!r}; use "
                         + ", ".join(f"{ext} ({name})" for ext, name in FORMATS.items()))
    if args.with_preprocessing and extension != ".onnx":
        raise NpnetError("--with-preprocessing applies to .onnx output only")
    if os.path.exists(args.out) and os.path.exists(args.model) and os.path.samefile(args.out, args.model):
        raise NpnetError(f"{args.out}: is the model being converted; write the result to another file")
    model, metadata = load_model(args.model, preprocessing=_spec(args.preprocessing))
    if args.class_names is not None:
        names = read_class_names(Path(args.class_names))
        problem = class_names_problem(names, model.output_shape[-1])
        if problem:
            raise NpnetError(f"{args.class_names}: {problem}")
        metadata["class_names"] = names
    model.summary()
    for line in describe(metadata):
        print(line)
    if extension == ".h5":
        rest = {key: value for key, value in metadata.items() if key not in ("class_names", "preprocessing")}
        checkpoint.save(model, args.out, class_names=metadata.get("class_names"),
                        preprocessing=metadata.get("preprocessing"), **rest)
    elif extension == ".onnx":
        from .onnx_export import export_onnx
        export_onnx(model, args.out, metadata, with_preprocessing=args.with_preprocessing)
    else:
        from .torch_export import export_pt2
        export_pt2(model, args.out, metadata)
    print(f"wrote {one_line(args.out)} ({FORMATS[extension]})")
    return 0


def _spec(text):
    """--preprocessing: a method name or a JSON object (load_keras checks it)."""
    if text is None or not text.lstrip().startswith("{"):
        return text
    try:
        return json.loads(text)
    except ValueError as error:
        raise NpnetError(f"--preprocessing: not a valid JSON spec ({error})") from None


def describe(metadata):
    """What the summary cannot show: where the model came from and what is assumed."""
    lines = []
    if "keras_format" in metadata:
        version = ", ".join(str(v) for v in (metadata.get("keras_version"), metadata.get("backend")) if v)
        lines.append(f"source: {metadata['keras_format']}" + (f" (Keras {version})" if version else ""))
    spec = metadata.get("preprocessing")
    name = spec.get("name") if isinstance(spec, dict) else None
    assumed = metadata.get("preprocessing_assumed")
    lines.append(f"preprocessing: {name or 'none recorded'}"
                 + (" (x / 255 - 0.5) assumed: a Keras file does not record it; --preprocessing to choose"
                    if assumed else ""))
    if metadata.get("final_softmax"):
        lines.append("final softmax: left out of the model, which gives logits (predict_proba applies it)")
    if metadata.get("left_out"):
        lines.append(f"Keras layers with nothing to compute here: {', '.join(map(one_line, metadata['left_out']))}")
    return lines


if __name__ == "__main__":
    sys.exit(run(PROG, main))
