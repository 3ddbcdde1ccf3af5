#!/usr/bin/env python3
"""Train the seed's traffic-sign CNN on GTSRB.

    python train.py --data data        # the seed's recipe
    python train.py --data data --recipe best    # the best recipe found for the same net
    python train.py --data data --recipe best --final    # the same on train + valid: final.h5 (make train-best)
    python train.py --data data --resume runs/20261124-231500

Ctrl-C (or SIGTERM) stops after the current batch and saves last.h5; --resume continues from it.
"""
import argparse
import os
import signal
import sys
import time

# Ctrl-C while the engine loads is held until it has loaded (a KeyboardInterrupt inside a compiled
# module's import surfaces as an ImportError traceback), then ends as it does later: one line, status 130.
held_interrupts = []
signal.signal(signal.SIGINT, lambda signum, frame: held_interrupts.append(signum))

from npnet.runtime.process import tune

tune()  # before numpy loads: OpenBLAS reads the thread settings then (npnet/runtime/process.py)

from npnet.cli import boundary as cli
from npnet.data import cache, class_names, load_gtsrb
from npnet.data.preprocessing import PREPROCESSING_METHODS
from npnet.io import checkpoint
from npnet.io.errors import NpnetError
from npnet.training import RECIPES, Recipe, Trainer, loss_and_accuracy
from npnet.training.recipes import SCHEDULES

signal.signal(signal.SIGINT, signal.default_int_handler)
if held_interrupts:
    sys.stderr.write("train.py: stopped\n")
    sys.exit(130)


def parse_args(argv):
    parser = cli.ArgumentParser(prog="train.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data", help="GTSRB folder, zip or pickles (downloaded here if absent)")
    parser.add_argument("--recipe", choices=sorted(RECIPES),
                        help="defaults for every option below (default: seed)")
    parser.add_argument("--epochs", type=cli.whole_number(1))
    parser.add_argument("--batch-size", type=cli.whole_number(1))
    parser.add_argument("--lr", type=float, help="learning rate (Adam)")
    parser.add_argument("--seed", type=cli.whole_number(0))
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--preprocessing", choices=PREPROCESSING_METHODS)
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                        help="random rotation, scale, shift, contrast and brightness (no flips)")
    parser.add_argument("--augment-strength", type=float, help="scale every augmentation range (default 1)")
    parser.add_argument("--low-resolution", type=float, metavar="FRACTION",
                        help="show this fraction of the training images at a random lower resolution, "
                             "16-31 px, enlarged back (default 0)")
    parser.add_argument("--perspective", type=float, metavar="PIXELS",
                        help="random perspective warp: each corner moved up to this many pixels (default 0)")
    parser.add_argument("--noise", type=float, metavar="SIGMA",
                        help="sensor noise, sigma uniform in [0, SIGMA] grey levels per image (default 0)")
    parser.add_argument("--jpeg", type=float, metavar="FRACTION",
                        help="this fraction of the training images JPEG-compressed at quality 15-90 (default 0)")
    parser.add_argument("--mixup", type=float, metavar="ALPHA",
                        help="mixup with lam ~ Beta(ALPHA, ALPHA), e.g. 0.2 (default 0: off)")
    parser.add_argument("--cutmix", type=float, metavar="ALPHA",
                        help="CutMix with lam ~ Beta(ALPHA, ALPHA), e.g. 1.0 (default 0: off)")
    parser.add_argument("--holdout-tracks", type=float, metavar="FRACTION",
                        help="hold this fraction of each class's training tracks out of training and report "
                             "accuracy on them every epoch, a second validation set; the same tracks on "
                             "every run (default 0: off)")
    parser.add_argument("--holdout-fold", type=cli.whole_number(0), metavar="K",
                        help="hold out fold K of round(1 / FRACTION) disjoint folds of the tracks instead of "
                             "the fixed split (needs --holdout-tracks; default: the fixed split)")
    parser.add_argument("--final", action="store_true", default=None,
                        help="train on the training and validation splits together (every labelled image), "
                             "validate nothing, choose nothing: write final.h5, the recipe's averaged weights "
                             "after its last epoch")
    parser.add_argument("--swa-epochs", type=cli.whole_number(0), metavar="N",
                        help="stochastic weight averaging: the mean of the last N epochs' weights, "
                             "validated and saved as swa.h5 (default 0: off)")
    parser.add_argument("--teacher", action="append", metavar="CHECKPOINT", dest="teachers",
                        help="distill from this trained checkpoint (repeat for an ensemble); needs --distill-weight")
    parser.add_argument("--distill-weight", type=float,
                        help="a in (1 - a) CE + a T^2 KL(teachers || student) (default 0: no distillation)")
    parser.add_argument("--temperature", type=float, help="T of the distillation, 0.1 to 100 (default 4)")
    parser.add_argument("--label-smoothing", type=float, help="targets (1 - s) onehot + s / 43 (default 0)")
    parser.add_argument("--class-weight-power", type=float, metavar="B",
                        help="weight each image's loss by n^-B, n its class's training images, mean weight 1: "
                             "0.5 or 1 counts rare classes more (default 0: off)")
    parser.add_argument("--weight-decay", type=float, help="decoupled weight decay on kernels (default 0)")
    parser.add_argument("--ema", type=float, metavar="MOMENTUM",
                        help="validate and save the weights' moving average, e.g. 0.999 (default 0: off)")
    parser.add_argument("--schedule", choices=SCHEDULES)
    parser.add_argument("--warmup-epochs", type=cli.whole_number(0))
    parser.add_argument("--checkpoint-every", type=cli.whole_number(0), metavar="K",
                        help="keep the weights of every K-th epoch and the last in OUT/checkpoints/"
                             "epoch_NNN.h5, each with its learning rate, for explain.py influence "
                             "(default 0: none)")
    parser.add_argument("--adversarial", choices=("fgsm", "pgd"),
                        help="adversarial training: every batch attacked before its step, FGSM from a random "
                             "start (Wong et al. 2020) or PGD-7 (Madry et al. 2018), linf (default: off)")
    parser.add_argument("--adv-eps", type=float, metavar="E", help="the attack's radius in grey levels, e.g. 4")
    parser.add_argument("--out", help="output folder (default: runs/<timestamp>)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR/last.h5")
    parser.add_argument("--cache-dir", help="where decoded full-size images are cached (default data/cache)")
    parser.add_argument("--no-download", action="store_true", help="never download the dataset")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser.parse_args(argv)


def recipe_from(args):
    options = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
               "dropout": args.dropout, "preprocessing": args.preprocessing, "augment": args.augment,
               "augment_strength": args.augment_strength,
               "low_resolution": args.low_resolution, "perspective": args.perspective, "noise": args.noise,
               "jpeg": args.jpeg, "mixup": args.mixup, "cutmix": args.cutmix, "swa_epochs": args.swa_epochs,
               "holdout_tracks": args.holdout_tracks, "holdout_fold": args.holdout_fold, "final": args.final,
               "label_smoothing": args.label_smoothing,
               "class_weight_power": args.class_weight_power,
               "schedule": args.schedule, "warmup_epochs": args.warmup_epochs,
               "weight_decay": args.weight_decay, "ema": args.ema, "teachers": args.teachers,
               "distill_weight": args.distill_weight, "temperature": args.temperature,
               "checkpoint_every": args.checkpoint_every, "adversarial": args.adversarial,
               "adv_eps": args.adv_eps}
    try:
        return RECIPES[args.recipe or "seed"].with_options(**options)
    except ValueError as error:
        raise NpnetError(str(error)) from None


#: What --resume keeps from the saved run: everything but --epochs (and where the data is read from).
FIXED_ON_RESUME = ("recipe", "batch_size", "lr", "seed", "dropout", "preprocessing", "augment", "augment_strength",
                   "low_resolution", "perspective", "noise", "jpeg", "mixup", "cutmix", "swa_epochs",
                   "holdout_tracks", "holdout_fold", "final", "label_smoothing", "class_weight_power",
                   "weight_decay", "ema", "schedule", "warmup_epochs", "out",
                   "teachers", "distill_weight", "temperature", "checkpoint_every", "adversarial", "adv_eps")


def refuse_ignored_options(args):
    """--resume continues the saved recipe: an option that would change it is refused, not ignored."""
    given = [name for name in FIXED_ON_RESUME if getattr(args, name) is not None]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise NpnetError(f"{flags}: cannot change a run on --resume (it continues with its saved recipe "
                         f"and folder; only --epochs may change)")


def install_stop_handlers(trainer):
    def stop(signum, frame):
        if trainer.stop_requested:          # a second Ctrl-C: stop now (checkpoints are atomic)
            raise KeyboardInterrupt
        print(f"\n{signal.Signals(signum).name}: stopping after this batch and saving last.h5 "
              "(press Ctrl-C again to stop at once)", file=sys.stderr)
        trainer.request_stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def main(argv=None):
    args = parse_args(argv)
    progress = not args.quiet and sys.stderr.isatty()     # a log file gets the epoch lines, not bar redraws
    if args.resume:
        refuse_ignored_options(args)
        if not os.path.isfile(os.path.join(args.resume, "last.h5")):     # a mistyped folder is not made
            raise NpnetError(f"{args.resume}: no run to resume here (no last.h5)")
        out = cli.prepare_out(args.resume)
    else:
        recipe = recipe_from(args)                        # bad values are refused before any data is read
        out = cli.prepare_out(args.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S")))
    cache_dir = (cli.check_cache_dir(args.cache_dir) if args.cache_dir is not None
                 else cli.check_cache_dir(cache.CACHE_DIR, "the cache folder (the default of --cache-dir)"))
    splits = load_gtsrb(args.data, cache_dir=cache_dir, download=not args.no_download, progress=progress)
    names = class_names(args.data)
    train, valid = splits["train"], splits["valid"]
    for split in ("train", "valid"):
        if len(splits[split]) == 0:
            raise NpnetError(f"{args.data}: the {split} split holds no images")
    print(f"data: {cli.one_line(args.data)}: {len(train)} training, {len(valid)} validation"
          + (f", {len(splits['test'])} test" if "test" in splits else "") + " images")
    if args.resume:
        trainer = Trainer.resume(out, train, valid, names, epochs=args.epochs, progress=progress,
                                 data_path=args.data)
        print(f"resuming {cli.one_line(args.resume)} at epoch {trainer.position[0] + 1}, batch {trainer.position[1] + 1}")
    else:
        trainer = Trainer(recipe, train, valid, out, names, progress=progress, data_path=args.data)
        trainer.model.summary()
    if trainer.recipe.final:
        print(f"final run: training on all {len(trainer.train)} labelled images (train and valid together); "
              f"nothing is validated, final.h5 is written after epoch {trainer.recipe.epochs}")
    if trainer.holdout is not None:
        print(f"held-out tracks: {len(trainer.holdout)} images of the training split held out "
              f"({trainer.recipe.holdout_tracks:g} of each class's tracks), {len(trainer.train)} to train on")
    print(f"recipe: {trainer.recipe.to_dict()}")
    print(f"preprocessing: {trainer.spec}")
    install_stop_handlers(trainer)
    started = time.perf_counter()
    outcome = trainer.run()
    out = trainer.out_dir
    if outcome == "interrupted":
        print(f"stopped at epoch {trainer.position[0] + 1}, batch {trainer.position[1]}; saved {cli.one_line(out)}/last.h5\n"
              f"resume with: python train.py --data {cli.one_line(args.data)} --resume {cli.one_line(out)}", file=sys.stderr)
        return 130
    if trainer.recipe.final:
        return report_final(trainer, splits, started)
    swa = trainer.history[-1].get("swa_val_accuracy") if trainer.history else None
    print(f"done in {time.perf_counter() - started:.0f} s: best validation accuracy "
          f"{100 * trainer.best_val_accuracy:.2f}%; wrote {cli.one_line(out)}/best.h5, last.h5, history.json, curves.png"
          + (f"; swa.h5 (the mean of the last {trainer.swa_count} epochs) {100 * swa:.2f}%" if swa is not None else ""))
    if trainer.holdout is not None and trainer.history:
        at_best = max(trainer.history, key=lambda row: row["val_accuracy"])   # the first epoch of the best
        print(f"held-out tracks ({len(trainer.holdout)} images): {100 * at_best['holdout_accuracy']:.2f}% "
              f"at best.h5's epoch {at_best['epoch']}, {100 * trainer.history[-1]['holdout_accuracy']:.2f}% "
              f"at the last")
    report_test(out, "best.h5", splits)
    return 0


def report_final(trainer, splits, started):
    if trainer.recipe.swa_epochs:
        how = f"the mean of the last {trainer.swa_count} epochs' weights"
    elif trainer.recipe.ema:
        how = f"the weights' moving average, momentum {trainer.recipe.ema:g}"
    else:
        how = "the weights"
    print(f"done in {time.perf_counter() - started:.0f} s: wrote {cli.one_line(trainer.out_dir)}/final.h5 "
          f"({how} after epoch {trainer.recipe.epochs}, trained on {len(trainer.train)} images of train and valid), "
          f"last.h5, history.json, curves.png")
    report_test(trainer.out_dir, "final.h5", splits)
    return 0


def report_test(out, name, splits):
    """The official test split's accuracy, when the data holds it (never used to choose anything)."""
    if len(splits.get("test", ())):
        model, metadata = checkpoint.load(os.path.join(out, name))
        test_loss, test_accuracy = loss_and_accuracy(model, splits["test"], metadata["preprocessing"])
        print(f"test accuracy ({name}): {100 * test_accuracy:.2f}% on {len(splits['test'])} images "
              f"(loss {test_loss:.4f})")


if __name__ == "__main__":
    sys.exit(cli.run("train.py", main))
