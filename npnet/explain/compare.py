"""The work behind `explain.py attribute` and `explain.py compare`: which maps to compute, for which rows."""
import numpy as np

from ..errors import NpnetError
from . import methods as registry

SIGNS = ("abs", "positive", "all")


def parse_methods(text):
    """'a,b,c' or 'all' -> method names, each checked against METHODS."""
    names = list(registry.METHODS) if text.strip() == "all" else [m.strip() for m in text.split(",") if m.strip()]
    for name in names:
        if name not in registry.METHODS:
            raise NpnetError(f"unknown method {name!r}; choose from: {', '.join(registry.METHODS)} or all")
    if not names:
        raise NpnetError(f"no method given; choose from: {', '.join(registry.METHODS)} or all")
    return names


def check_sign(sign):
    if sign not in SIGNS:
        raise NpnetError(f"unknown --sign {sign!r}; choose one of: {', '.join(SIGNS)}")
    return sign


def method_map(net, x, method, classes, layer=None):
    """(N, H, W) non-negative map of any method: a CAM as is, an attribution as |a| summed over channels."""
    if method in registry.CAM_METHODS:
        return registry.cam(net, x, method, classes=classes, layer=layer)
    return np.abs(registry.attribution(net, x, method, classes=classes)).sum(axis=-1)


def compare_rows(probs, asked, true):
    """For each image: [(class, role)] = predicted, then the asked classes, then the true one (merged)."""
    rows = []
    for n, p in enumerate(probs):
        predicted = int(p.argmax())
        t = None if true is None else true[n]
        classes = list(dict.fromkeys([predicted] + list(asked) + ([t] if t is not None else [])))
        roles = []
        for c in classes:
            role = " = ".join(r for r, ok in (("predicted", c == predicted), ("true", c == t)) if ok) or "class"
            roles.append((n, c, role))
        rows.extend(roles)
    return rows
