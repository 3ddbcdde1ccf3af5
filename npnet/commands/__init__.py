"""The commands of explain.py, one module each.

Each module has HELP (one line), PARENTS (the shared option groups it takes: "model", "data"),
``add_arguments(parser)`` and ``run(args)`` -> exit status. ``COMMANDS`` keeps them in --help order.
"""
from . import attribute, compare, demo, errors, evaluate, faithfulness, features, gradcam, predict, report

COMMANDS = {
    "predict": predict, "features": features, "gradcam": gradcam, "attribute": attribute,
    "compare": compare, "evaluate": evaluate, "errors": errors, "demo": demo, "faithfulness": faithfulness,
    "report": report,
}
