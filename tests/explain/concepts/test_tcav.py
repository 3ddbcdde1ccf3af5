"""TCAV end to end on small nets: the sensitivity is the logit's directional derivative along the CAV
(checked by float64 central differences through the layers above), a concept that is the class scores
near 1, a random set posing as a concept scores near 0.5 and is not significant."""
import numpy as np
import pytest

from npnet.engine.layers import Conv2D, Dense, Flatten
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net
from npnet.explain.concepts.cav import logistic_cav
from npnet.explain.concepts.tcav import (concept_runs, layer_gradients, magnitude_scores, null_runs,
                                         significance, tcav, tcav_scores)
from npnet.explain.passes import forward_from
from npnet.explain.training_data.neighbours import layer_features

def with_random_biases(model, seed):
    """``model`` in float64, its biases drawn too, so that the ReLUs cut somewhere."""
    model.astype(np.float64)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"][...] = rng.uniform(-0.1, 0.1, layer.params["bias"].shape)
    return model


def small_net():
    """Two convolutions, no pooling: a max-pool window of ReLU outputs that are all 0 is a tie, where
    the logit has no derivative (only one-sided ones); without pools every A has one."""
    return Sequential([Conv2D(6, 3, activation="relu"), Conv2D(8, 2, activation="relu"), Flatten(),
                       Dense(10, activation="relu"), Dense(4)], input_shape=(10, 10, 3), seed=2)


@pytest.mark.parametrize("net, layer", [(small_net, "conv2d_1"), (small_net, "conv2d_2"), (small_net, "dense_1"),
                                        (seed_net, "dense_1"), (seed_net, "dense_3")])
def test_the_sensitivity_is_the_directional_derivative_of_the_logit_along_the_cav(net, layer):
    net = with_random_biases(net(), 5)
    rng = np.random.default_rng(6)
    x = rng.uniform(-0.5, 0.5, (12,) + net.input_shape[1:])
    c, h = 2, 1e-6
    v = logistic_cav(layer_features(net, x[:6], layer), layer_features(net, x[6:], layer))
    S = layer_gradients(net, x, c, layer) @ v                      # the hand-written backward, dotted with v
    net.forward(x, training=False)
    A = net.layer(layer).output.copy()
    step = h * v.reshape(A.shape[1:])
    numeric = (forward_from(net, layer, A + step)[:, c] - forward_from(net, layer, A - step)[:, c]) / (2 * h)
    np.testing.assert_allclose(S, numeric, rtol=0, atol=1e-8 * np.abs(numeric).max())


@pytest.fixture(scope="module")
def net_and_images():
    """An untrained seed net and 500 random images, with its logits."""
    net = seed_net(seed=3)
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (500, 32, 32, 3)).astype(np.float32)
    return net, x, net.forward(x, training=False)


def draws(rng, pool, runs, size=40):
    return [pool[rng.choice(len(pool), size, replace=False)] for _ in range(runs)]


@pytest.mark.parametrize("c", [0, 20])
def test_a_concept_that_is_the_class_scores_near_one_and_a_random_one_is_not_significant(net_and_images, c):
    # "the class" as the net sees it: the images with its highest logits; the concept's images are
    # more of them, never the ones scored. The class's gradients at a layer point nearly one way, so a
    # random direction scores near 0 or near 1 in each run: the random concept's mean of 10 runs is
    # 0.5 give or take 0.3 (the null's own spread is ~0.4), and the t-test is what tells it from a concept.
    net, x, logits = net_and_images
    order = np.argsort(-logits[:, c])
    scored, top, rest = x[order[:30]], x[order[30:100]], x[order[100:]]
    rng = np.random.default_rng(c)
    result = tcav(net, scored, c, {"the class": draws(rng, top, 10), "random": draws(rng, rest, 10)},
                  draws(rng, rest, 10), ["conv2d_3", "dense_1"])
    for layer in result.values():
        the_class, random = layer.concepts["the class"], layer.concepts["random"]
        assert the_class.scores.mean() > 0.9 and the_class.significant
        assert abs(random.scores.mean() - 0.5) < 0.3 and not random.significant
        assert layer.random.scores.mean() == pytest.approx(0.5)     # the null, symmetric by construction
        assert the_class.p_value < 0.05 / 2 < random.p_value


def test_random_against_random_scores_one_half_when_the_gradients_do_not_agree():
    # gradients drawn independently per image: along any direction half of them are positive
    rng = np.random.default_rng(3)
    gradients = rng.normal(size=(400, 30))
    randoms = [rng.normal(size=(40, 30)) for _ in range(10)]
    posing = [rng.normal(size=(40, 30)) for _ in range(10)]
    null_scores, _ = null_runs(gradients, randoms)
    scores, _ = concept_runs(gradients, posing, randoms)
    assert abs(scores.mean() - 0.5) < 0.05 and abs(null_scores.mean() - 0.5) < 1e-12
    assert not significance(scores, null_scores, alpha=0.05, tests=1)[1]


def test_the_null_pairs_every_random_set_with_every_other_both_ways():
    rng = np.random.default_rng(1)
    gradients, randoms = rng.normal(size=(50, 8)), [rng.normal(size=(20, 8)) + i for i in range(4)]
    scores, magnitudes = null_runs(gradients, randoms)
    assert scores.shape == magnitudes.shape == (12,)                # R (R - 1), R = 4
    np.testing.assert_allclose(scores[:6] + scores[6:], 1.0)       # (j, i) is (i, j) the other way
    i, j = 1, 3                                                    # the 5th pair of (0,1) (0,2) (0,3) (1,2) (1,3)
    assert scores[4] == tcav_scores(gradients @ logistic_cav(randoms[i], randoms[j])[:, None])[0]


def test_the_scores_count_the_positive_sensitivities_and_their_share_of_the_mass():
    S = np.array([[1.0, 0.0, -2.0], [-3.0, 0.0, -1.0], [2.0, 0.0, -1.0], [4.0, 0.0, 4.0]])
    np.testing.assert_allclose(tcav_scores(S), [0.75, 0.0, 0.25])
    np.testing.assert_allclose(magnitude_scores(S), [7 / 10, 0.0, 4 / 8])


def test_significance_is_bonferroni_corrected_over_the_concepts():
    null = np.tile([0.3, 0.7], 45)
    concept = np.array([0.67, 0.65, 0.63, 0.66, 0.64, 0.68, 0.62, 0.65, 0.66, 0.64])
    p, alone = significance(concept, null, alpha=0.05, tests=1)
    assert 0.05 / 10 < p < 0.05 and alone                            # significant as the only concept
    assert not significance(concept, null, alpha=0.05, tests=10)[1]  # not among ten
