"""The commands of explain.py, one module each.

Each module has HELP (one line), PARENTS (the shared option groups it takes: "model", "data"),
``add_arguments(parser)`` and ``run(args)`` -> exit status. ``COMMANDS`` keeps them in --help order;
``ALIASES`` gives other names a command also answers to.
"""
from . import (attack, attribute, audit, compare, concepts, demo, evaluate, faithfulness, features, gradcam,
               influence, influence_index, mistakes, predict, report, robustness, walkthrough)

COMMANDS = {
    "predict": predict, "features": features, "gradcam": gradcam, "attribute": attribute,
    "compare": compare, "evaluate": evaluate, "mistakes": mistakes, "demo": demo, "faithfulness": faithfulness,
    "report": report, "influence": influence, "influence-index": influence_index,
    "audit": audit, "attack": attack, "robustness": robustness, "concepts": concepts,
    "walkthrough": walkthrough,
}
ALIASES = {"mistakes": ["errors"]}
