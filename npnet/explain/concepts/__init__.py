"""Concepts: does the net use what people see in a sign (its shape, its colours, its digits)? TCAV.

    CONCEPTS, concept_set, random_sets       table.py      GTSRB's concepts from its class metadata
    logistic_cav, fastcav, train_cav         cav.py        a concept's direction in a layer's activations
    t_test, t_cdf, incomplete_beta           student_t.py  the p-value, without scipy
    tcav, layer_gradients, tcav_scores       tcav.py       scores per concept and layer, and significance
    tcav_figure                              figure.py     bars with error bars and significance marks

``explain.py concepts`` runs it; ``docs/concepts.md`` shows the table, the choices and a result.
"""
from .cav import CAV_METHODS, fastcav, logistic_cav, train_cav
from .figure import tcav_figure
from .student_t import incomplete_beta, t_cdf, t_test
from .table import CONCEPTS, KINDS, concept_classes, concept_set, random_sets
from .tcav import (ConceptTCAV, LayerTCAV, concept_runs, layer_gradients, magnitude_scores, null_runs,
                   significance, tcav, tcav_scores)

__all__ = [
    "CONCEPTS", "KINDS", "concept_classes", "concept_set", "random_sets",
    "CAV_METHODS", "logistic_cav", "fastcav", "train_cav",
    "t_test", "t_cdf", "incomplete_beta",
    "tcav", "layer_gradients", "tcav_scores", "magnitude_scores", "concept_runs", "null_runs", "significance",
    "ConceptTCAV", "LayerTCAV", "tcav_figure",
]
