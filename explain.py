#!/usr/bin/env python
"""Explain a trained npnet model: what it predicts, what its filters see, where it looks, where it fails.

    explain.py predict   --model M.h5 IMAGE...          top-5 classes with probabilities (--json, --tta N)
    explain.py features  --model M.h5 IMAGE             every conv layer's feature maps, one PNG each
    explain.py gradcam   --model M.h5 IMAGE [--method NAME] [--class C ...] [--true C] [--layer L]
    explain.py attribute --model M.h5 IMAGE... --method NAME [--class C ...] [--sign abs|positive|all]
    explain.py compare   --model M.h5 IMAGE... [--methods a,b,c|all] [--class C ...] [--true C ...]
    explain.py compare   --model M.h5 --data SPLIT --index N...   images of a labelled split, by position
    explain.py evaluate  --model M.h5 --data PATH       accuracy, per-class, confusion matrix, hard view (--json, --tta N)
    explain.py mistakes  --model M.h5 --data PATH       gallery of the most confident mistakes, with Grad-CAM (alias: errors)
    explain.py faithfulness --model M.h5 --data PATH    every method scored on the sign boxes, beside baselines (--json)
    explain.py report    --data PATH [--model M.h5]     one self-contained web page: accuracy, mistakes, every method
    explain.py influence --run RUN --data SPLIT --index N...   training images that taught each answer (TracIn)
    explain.py influence-index --run RUN                 RUN/influence_index.npz, for fast influence queries
    explain.py audit     --data PATH [--folds 5]         training labels that look wrong, near copies
    explain.py attack    --model M.h5 IMAGE... [--eps 4]  the smallest change that flips the answer (PGD, FGSM)
    explain.py robustness --model M.h5 --data PATH      accuracy under attack at several radii, fragile classes
    explain.py concepts  --model M.h5 --data DIR --class C   TCAV: does the class use a shape, colour, digits (--json)
    explain.py demo      --data PATH [--model M.h5]     what `make explain` runs, on the validation split
    explain.py walkthrough IMAGE | --data SPLIT --index N   one image forward and backward, every unit clickable

Images go through ``npnet.data.images.load_image`` and the checkpoint's own preprocessing, exactly as in
training. Figures go to --out (default explain_out/); every path written is printed. A user error
(bad file, unknown class) is one line on stderr and exit status 2; --debug shows the traceback.
Each command lives in its own module, ``npnet/cli/commands/<command>.py``.
"""
import argparse
import signal
import sys

# Ctrl-C while the engine loads is held until it has loaded (a KeyboardInterrupt inside a compiled
# module's import surfaces as an ImportError traceback), then ends as it does later: one line, status 130.
held_interrupts = []
signal.signal(signal.SIGINT, lambda signum, frame: held_interrupts.append(signum))

from npnet.runtime import process as runtime

runtime.tune()  # before numpy loads: OpenBLAS reads the thread settings then (npnet/runtime/process.py)

from npnet.cli import boundary as cli  # (after the allocator setting, which must precede large arrays)
from npnet.cli.commands import ALIASES, COMMANDS
from npnet.cli.commands.common import PROG
from npnet.io.errors import NonFiniteError

signal.signal(signal.SIGINT, signal.default_int_handler)
if held_interrupts:
    sys.stderr.write("explain.py: stopped\n")
    sys.exit(130)


def build_parser():
    summary, commands_list = __doc__.split("\n\n")[:2]
    parser = cli.ArgumentParser(prog=PROG, description=summary, epilog=commands_list,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", default="explain_out", help="folder for the figures (default explain_out/)")
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    with_model = argparse.ArgumentParser(add_help=False)
    with_model.add_argument("--model", required=True, help="a checkpoint written by train.py (.h5), or a Keras "
                            ".keras or .h5 file (read by content; preprocessing x/255 - 0.5 assumed)")
    with_data = argparse.ArgumentParser(add_help=False)
    with_data.add_argument("--data", required=True, help="test.p, or a GTSRB folder or zip")
    with_data.add_argument("--split", default="test", choices=("test", "valid", "train", "holdout"),
                           help="which split of a folder to use (default test); holdout: the training tracks "
                                "the model's run held out (train.py --holdout-tracks)")
    with_data.add_argument("--cache-dir", help="where decoded full-size images of an image folder are cached "
                                               "(default: OUT/cache, inside --out)")
    groups = {"model": with_model, "data": with_data}
    commands = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        parents = [common] + [groups[group] for group in module.PARENTS]
        sub = commands.add_parser(name, parents=parents, help=module.HELP, description=module.__doc__,
                                  aliases=ALIASES.get(name, []))
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def run_command(argv):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except NonFiniteError as error:     # the model's numbers overflowed: the line names the model file
        raise NonFiniteError(f"{args.model}: {error}") if getattr(args, "model", None) else error


def main(argv=None):
    """explain.py's exit status; every user error is one line on stderr and status 2 (npnet.cli.boundary)."""
    return cli.run(PROG, run_command, argv)


if __name__ == "__main__":
    sys.exit(main())
