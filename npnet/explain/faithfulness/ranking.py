"""Which methods to read first: every faithfulness column turned into a rank, methods and baselines alike.

    ranks = rank_rows(methods, baselines)      {name: {column: rank, ..., "mean": m, "marks": [...]}}
    order = ranking(methods, ranks)            method names, best first

methods, baselines: {name: row} as ``scoring.score_methods`` (or ``explain.py faithfulness --json``)
gives them. For each column of ``RANKED`` every row with a value gets a rank among all rows that have
one, 1 = best, tied values sharing the mean of their places; "mean" is the mean of a row's ranks (None
without any). The baselines are ranked with the methods, so their ranks show where a method stands
against maps that know nothing of the net.

A method is marked (``marks``) when
    "localization"   it beats the centre baseline on neither energy in the box nor the pointing game
    "randomization"  |Spearman correlation with the maps of a fully randomized net| >= RANDOMIZATION_LIMIT:
                     its maps stay much the same when every weight is random (Adebayo et al. 2018)
The order: the unmarked methods by mean rank, then the marked ones by mean rank (ties keep the
methods' order); so the first names are the ones to read first.
"""
import math

import numpy as np

# column, which way is better: "higher", "lower", or "zero" (|value| nearer 0)
RANKED = (("energy_in_box", "higher"), ("pointing_game", "higher"), ("deletion_auc", "lower"),
          ("insertion_auc", "higher"), ("road_morf", "lower"), ("road_lerf", "higher"),
          ("randomization", "zero"))
LOCALIZATION = ("energy_in_box", "pointing_game")
RANDOMIZATION_LIMIT = 0.5
CENTRE = "centre"


def value(row, column):
    """row[column] as a float, or None when missing, null or NaN."""
    number = row.get(column)
    return None if number is None or not math.isfinite(number) else float(number)


def places(values, better):
    """Ranks 1..n of ``values`` (a list of floats), 1 = best, ties sharing the mean of their places."""
    keys = np.array([-v if better == "higher" else abs(v) if better == "zero" else v for v in values])
    order = np.argsort(keys, kind="stable")
    ranks = np.empty(len(keys))
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and keys[order[end + 1]] == keys[order[start]]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def marks(row, centre):
    """The reasons not to read a method first (see the module's docstring)."""
    found = []
    beaten = [value(row, c) is not None and value(centre, c) is not None and value(row, c) > value(centre, c)
              for c in LOCALIZATION]
    if centre and not any(beaten):
        found.append("localization")
    rho = value(row, "randomization")
    if rho is not None and abs(rho) >= RANDOMIZATION_LIMIT:
        found.append("randomization")
    return found


def rank_rows(methods, baselines):
    """{name: {column: rank for each RANKED column the row has, "mean": mean rank or None, "marks": [...]}}
    for every method, then every baseline (a baseline carries no marks)."""
    rows = {**methods, **baselines}
    ranks = {name: {} for name in rows}
    for column, better in RANKED:
        present = [name for name, row in rows.items() if value(row, column) is not None]
        for name, rank in zip(present, places([value(rows[n], column) for n in present], better)):
            ranks[name][column] = float(rank)
    centre = baselines.get(CENTRE, {})
    for name, got in ranks.items():
        got["mean"] = float(np.mean(list(got.values()))) if got else None
        got["marks"] = marks(rows[name], centre) if name in methods else []
    return ranks


def ranking(methods, ranks):
    """Method names, best first: unmarked by mean rank, then marked by mean rank; None ranks last."""
    def key(item):
        position, name = item
        mean = ranks[name]["mean"]
        return (bool(ranks[name]["marks"]), mean is None, mean if mean is not None else 0.0, position)
    return [name for _, name in sorted(enumerate(methods), key=key)]


def read_first(methods, ranks, count=3):
    """One sentence: which methods to read first for this model, and why."""
    order = ranking(methods, ranks)
    clean = [name for name in order if not ranks[name]["marks"]][:count]
    columns = len(RANKED)
    if clean:
        names = clean[0] if len(clean) == 1 else ", ".join(clean[:-1]) + " and " + clean[-1]
        return (f"Read {names} first: the best mean rank over the {columns} columns among the methods that beat "
                f"the centred blob on localization and whose maps change when the weights are randomized "
                f"(|rank correlation| below {RANDOMIZATION_LIMIT}).")
    if order:
        return (f"No method both beats the centred blob on localization and passes the randomization check; "
                f"{order[0]} has the best mean rank over the {columns} columns.")
    return "No method was scored."
