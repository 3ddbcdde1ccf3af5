"""TCAV: how much a class's logit rises along a concept's direction in a layer, and whether that is chance.

    result = tcav(model, class_x, c, concept_x, random_x, layers)     {layer: LayerTCAV}
    G = layer_gradients(model, class_x, c, layer)                       (N, D): dy^c/dA_l per image
    S = G @ V.T                                                         (N, R): sensitivities to R CAVs
    tcav_scores(S), magnitude_scores(S)                                 (R,), (R,)

Kim et al. 2018, "Interpretability Beyond Feature Attribution: Quantitative Testing with Concept
Activation Vectors (TCAV)". For a class c, a layer l with activations A_l(x) (flattened, D numbers) and
a concept's CAV v (unit, D; ``cav.py``), the sensitivity of image x is the directional derivative of
the class logit y^c along v:

    S_c,v(x) = grad_A y^c(A_l(x)) . v            (the hand-written backward, ``passes.class_gradient``)

    TCAV score     = |{x in X_c : S(x) > 0}| / |X_c|        the share of the class's images whose logit
                                                           rises along the concept
    magnitude score = sum_x max(S(x), 0) / sum_x |S(x)|     the share of the sensitivity's mass that is
                                                           positive (0 when every S is 0)

Both are 0.5 for a direction the class does not care about either way, 1 for one it always gains from.

Significance, as the paper and its code (github.com/tensorflow/tcav) do it: the concept's CAV is learned
against each of R random sets, giving R scores (each run r may have its own concept set, drawn afresh
from the concept's images: see ``table.py``); a CAV is learned for every ordered pair (i, j), i != j, of
the random sets too, random set i taken as the "concept" against random set j, giving R (R - 1) scores
of random-vs-random, the null. Swapping the two sets of a pair flips its CAV (v_ji = -v_ij, exactly for
the mean difference, and for the logistic fit, whose loss is the same with the labels swapped and w, b
negated), so only the R (R - 1) / 2 pairs i < j are fitted and the score of (j, i) is the share of
S < 0 of (i, j): the null's scores are symmetric about 0.5 (where no S is 0). A two-sided Student
t-test of the concept's R scores against the null's R (R - 1) (``student_t.t_test``) gives the p-value;
the concept is significant at level alpha when p < alpha / m, m the concepts tested at that layer
(Bonferroni). A concept that is not significant has no score to read: its direction does no better
than a random one.
"""
from collections import namedtuple

import numpy as np

from ...runtime import blas
from ..passes import class_gradient
from ..training_data.neighbours import layer_features
from .cav import train_cav
from .student_t import t_test

ConceptTCAV = namedtuple("ConceptTCAV", "scores magnitudes p_value significant")
ConceptTCAV.__doc__ = ("One concept at one layer: scores (R,) and magnitudes (R,), one per random set; the "
                       "t-test's p-value against random-vs-random and the Bonferroni verdict (None for the null).")
LayerTCAV = namedtuple("LayerTCAV", "concepts random")
LayerTCAV.__doc__ = "One layer: {concept name: ConceptTCAV}, and the random-vs-random null (a ConceptTCAV)."


def layer_gradients(model, x, class_id, layer, batch_size=256):
    """dy^c/dA of layer ``layer``'s output A for each image, flattened: (N, D) in the model's dtype.
    x (N, 32, 32, 3) the model's input (N >= 1); one forward and backward per ``batch_size`` images."""
    parts = []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        gradient, _, _ = class_gradient(model, batch, class_id, stop_at=layer)
        parts.append(gradient.reshape(len(batch), -1))
    return np.concatenate(parts)


def tcav_scores(S):
    """The share of rows with S > 0, per column: S (N, R) -> (R,) float64."""
    return (np.asarray(S) > 0).mean(axis=0)


def magnitude_scores(S):
    """sum max(S, 0) / sum |S| per column (0 where every S of it is 0): S (N, R) -> (R,) float64."""
    S = np.asarray(S, dtype=np.float64)
    total = np.abs(S).sum(axis=0)
    return np.divide(np.maximum(S, 0).sum(axis=0), total, out=np.zeros_like(total), where=total > 0)


def concept_runs(gradients, concept_acts, random_acts, method="logistic", l2=0.01):
    """(scores (R,), magnitudes (R,)): for each run r a CAV of concept set ``concept_acts[r]`` (n, D)
    against random set ``random_acts[r]`` (n_r, D), and the sensitivities of ``gradients`` (N, D) along it."""
    if len(concept_acts) != len(random_acts):
        raise ValueError(f"one concept set per random set: got {len(concept_acts)} and {len(random_acts)}")
    with blas.single_threaded():     # products of a few hundred rows: one thread is faster on a busy machine
        cavs = np.stack([train_cav(concept, random, method, l2)
                         for concept, random in zip(concept_acts, random_acts)])                 # (R, D)
    S = gradients.astype(np.float64) @ cavs.T                                                     # (N, R)
    return tcav_scores(S), magnitude_scores(S)


def null_runs(gradients, random_acts, method="logistic", l2=0.01):
    """(scores (R (R - 1),), magnitudes (R (R - 1),)) of random-vs-random: a CAV of random set i
    against random set j for each pair i < j of the R sets ``random_acts`` [(n_r, D)], then the same
    pairs swapped, whose CAVs are the negated ones (v_ji = -v_ij)."""
    pairs = [(i, j) for i in range(len(random_acts)) for j in range(i + 1, len(random_acts))]
    with blas.single_threaded():
        cavs = np.stack([train_cav(random_acts[i], random_acts[j], method, l2) for i, j in pairs])   # (P, D)
    S = gradients.astype(np.float64) @ np.concatenate([cavs, -cavs]).T                            # (N, 2P)
    return tcav_scores(S), magnitude_scores(S)


def significance(scores, null_scores, alpha, tests):
    """(p-value, significant): the two-sided t-test of ``scores`` against ``null_scores``, and
    whether p < alpha / tests (Bonferroni over ``tests`` concepts)."""
    _, p = t_test(scores, null_scores)
    return p, bool(p < alpha / tests)


def set_features(model, sets, layer, runs):
    """The ``layer`` features of a concept's sets: ``runs`` references to one (n, D) array when
    ``sets`` is one array, else one (n_r, D) array per set of the list (one forward for them all)."""
    if not isinstance(sets, (list, tuple)):
        return [layer_features(model, sets, layer)] * runs
    features = layer_features(model, np.concatenate(sets), layer)
    return np.split(features, np.cumsum([len(each) for each in sets])[:-1])


def tcav(model, class_x, class_id, concept_x, random_x, layers, method="logistic", l2=0.01, alpha=0.05):
    """TCAV of class ``class_id`` for every concept at every layer: {layer: LayerTCAV}.

    class_x   : the model's input for images of the class (N, 32, 32, 3): whose sensitivities count
    concept_x : {concept name: model input of its images (n, 32, 32, 3), one set for every run (the
                paper's), or a list of R such sets, one per random set (what ``explain.py concepts`` gives)}
    random_x  : R >= 2 random sets [(n_r, 32, 32, 3)]: the counterpart of every concept's CAVs, and
                each other's in the null
    layers    : layer names; method, l2 : the CAV (``cav.train_cav``); alpha : the test's level
    """
    if len(random_x) < 2:
        raise ValueError(f"TCAV needs R >= 2 random sets (two scores a side for the t-test), got {len(random_x)}")
    result = {}
    for layer in layers:
        gradients = layer_gradients(model, class_x, class_id, layer)
        randoms = [layer_features(model, x, layer) for x in random_x]
        null = ConceptTCAV(*null_runs(gradients, randoms, method, l2), None, None)
        concepts = {}
        for name, x in concept_x.items():
            scores, magnitudes = concept_runs(gradients, set_features(model, x, layer, len(randoms)), randoms,
                                              method, l2)
            concepts[name] = ConceptTCAV(scores, magnitudes, *significance(scores, null.scores, alpha,
                                                                           len(concept_x)))
        result[layer] = LayerTCAV(concepts, null)
    return result
