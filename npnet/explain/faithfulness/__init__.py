"""How far to trust a map: faithfulness and localization metrics, and method scoring against baselines.

    metrics.py   deletion and insertion curves, energy in the sign's box, the pointing game, the
                 model-randomization check (each definition in its docstring)
    road.py      ROAD: accuracy as the most or least relevant pixels are removed and imputed
    imputation.py  ROAD's noisy linear imputation's solve: a dense reference beside a banded Cholesky
    scoring.py   every method scored on the same images, beside the centre and random baselines
    ranking.py   every score as a rank, and which methods to read first
    sample.py    the report's scored sample of a split
    perturbed.py the deletion/insertion images: a numba kernel beside its NumPy reference
"""
