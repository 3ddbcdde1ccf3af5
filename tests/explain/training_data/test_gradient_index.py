"""The influence index: projections of per-example gradients whose dot products estimate TracIn."""
import numpy as np
import pytest

from npnet.explain.training_data.gradient_index import agreement, embed, project, projections
from npnet.explain.training_data.per_example import layers_with_weights, per_example_gradients
from npnet.explain.training_data.tracin import Checkpoint, influence

from .test_tracin import small_net


def test_a_layer_projection_is_the_kronecker_projection_of_its_gradient(rng):
    model = small_net(1).astype(np.float64)
    x, y = rng.standard_normal((4, 8, 8, 2)), rng.integers(0, 3, 4)
    names = layers_with_weights(model)
    gradients = per_example_gradients(model, x, y, names)
    matrices = projections(model, names, 1, width=3, seed=7)
    for name in names:
        p_in, p_out = (m.astype(np.float64) for m in matrices[0, name])
        expected = gradients[name].vectors() @ np.kron(p_in, p_out)       # P^T vec(dW), P formed whole
        np.testing.assert_allclose(project(gradients[name], p_in, p_out), expected, rtol=1e-10, atol=1e-12)


def test_embedding_folds_checkpoints_with_the_square_root_of_their_rates(rng):
    checkpoints = [Checkpoint(small_net(s).astype(np.float64), rate) for s, rate in ((1, 0.25), (2, 0.04))]
    x, y = rng.standard_normal((3, 8, 8, 2)), rng.integers(0, 3, 3)
    names = layers_with_weights(checkpoints[0].model)
    matrices = projections(checkpoints[0].model, names, 2, width=2, seed=0)
    expected = np.zeros((3, len(names) * 4))
    for i, checkpoint in enumerate(checkpoints):
        gradients = per_example_gradients(checkpoint.model, x, y, names)
        blocks = [gradients[name].vectors() @ np.kron(*(m.astype(np.float64) for m in matrices[i, name]))
                  for name in names]
        expected += np.sqrt(checkpoint.learning_rate) * np.concatenate(blocks, axis=1)
    np.testing.assert_allclose(embed(checkpoints, x, y, names, 2, 0, normalized=False), expected, rtol=1e-5)


def test_wide_projections_rank_training_images_as_the_exact_scores_do(rng):
    checkpoints = [Checkpoint(small_net(1), 0.01), Checkpoint(small_net(2), 0.005)]
    train_x, query_x = rng.standard_normal((60, 8, 8, 2)).astype(np.float32), rng.standard_normal((4, 8, 8, 2)).astype(np.float32)
    train_y, query_y = rng.integers(0, 3, 60), rng.integers(0, 3, 4)
    exact = influence(checkpoints, train_x, train_y, query_x, query_y).scores
    narrow, wide = (embed(checkpoints, train_x, train_y, None, w, 0, False) @
                    embed(checkpoints, query_x, query_y, None, w, 0, False).T for w in (1, 24))
    assert agreement(exact, wide)["spearman"] > 0.95
    assert agreement(exact, wide)["spearman"] > agreement(exact, narrow)["spearman"]


def test_normalized_embeddings_have_at_most_unit_scale_per_checkpoint(rng):
    checkpoints = [Checkpoint(small_net(1), 1.0)]
    x, y = rng.standard_normal((30, 8, 8, 2)).astype(np.float32), rng.integers(0, 3, 30)
    r = embed(checkpoints, x, y, None, 24, 0, normalized=True)
    # ||P^T g|| / ||g|| concentrates around 1 for a wide projection
    assert np.all(np.abs(np.linalg.norm(r, axis=1) - 1) < 0.35)


def test_agreement_of_identical_scores_is_perfect(rng):
    scores = rng.standard_normal((50, 3))
    same = agreement(scores, scores)
    assert same["spearman"] == pytest.approx(1.0) and same["top_overlap"] == same["opponent_overlap"] == 1.0
    reversed_ = agreement(scores, -scores)
    assert reversed_["spearman"] == pytest.approx(-1.0) and reversed_["top_overlap"] == 0.0
