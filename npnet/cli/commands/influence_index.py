"""explain.py influence-index: project every training image's gradients once, for fast influence queries.

    explain.py influence-index --run RUN [--width 12] [--layers ...]

Writes RUN/influence_index.npz beside the run's checkpoints (its output folder is the run):
per training image, its gradients at every checkpoint projected to layers x width^2 numbers
(``npnet.explain.training_data.gradient_index``). ``explain.py influence --run RUN`` then answers
from it in a matrix product; --exact still computes without it.
"""
import time

from ...explain.training_data.gradient_index import DEFAULT_WIDTH, INDEX_NAME, build_index, save_index
from ...explain.training_data.run import load_run, training_images
from ..boundary import prepare_out, whole_number
from .common import cache_folder, wrote
from .influence import chosen_layers

HELP = "build RUN/influence_index.npz for fast influence queries"
PARENTS = ()


def add_arguments(parser):
    parser.add_argument("--run", dest="run_dir", metavar="RUN", required=True, help="a train.py run folder with checkpoints/epoch_NNN.h5")
    parser.add_argument("--width", type=whole_number(1, 64), default=DEFAULT_WIDTH,
                        help=f"projection width k per side: k*k numbers per layer (default {DEFAULT_WIDTH})")
    parser.add_argument("--layers", help="comma-separated layers whose weights count (default all)")
    parser.add_argument("--seed", type=whole_number(0, 2**32 - 1), default=0, help="the projections' seed")
    parser.add_argument("--train-data", help="where the run's training images are (default: the path its "
                                             "checkpoints record)")


def run(args):
    training_run = load_run(args.run_dir)
    layers = chosen_layers(training_run.final.model, args.layers)
    split, rows = training_images(training_run, args.train_data, cache_folder(args))
    prepare_out(args.run_dir)
    started = time.perf_counter()
    index = build_index(training_run, split.images[rows], split.labels[rows], rows, layers, args.width, args.seed)
    path = save_index(index, training_run.folder / INDEX_NAME)
    print(f"{len(rows)} training images x {len(training_run.checkpoints)} checkpoints projected to "
          f"{index['raw'].shape[1]} numbers each in {time.perf_counter() - started:.0f} s")
    wrote(path)
    return 0
