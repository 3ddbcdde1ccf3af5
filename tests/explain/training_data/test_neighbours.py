"""Nearest neighbours by cosine similarity (neighbours.py) and the near-copies found with them (duplicates.py).

Every ranking is checked against brute force: the full float64 cosine matrix, argsorted (stable, so
equal similarities keep increasing index).
"""

import numpy as np
import pytest

import npnet
from npnet.explain.training_data.duplicates import cross_label_copies, leaks
from npnet.data.preprocessing import preprocess
from npnet.explain.training_data.neighbours import image_features, layer_features, nearest


def cosine_matrix(query, reference):
    """cos(q, r) for every pair in float64, 0 where either row is zero; each entry summed on its own
    (not by a matrix product), so equal rows give exactly equal entries."""
    def unit(a):
        a = np.asarray(a, dtype=np.float64)
        norms = np.linalg.norm(a, axis=1, keepdims=True)
        return np.divide(a, norms, out=np.zeros_like(a), where=norms > 0)
    return (unit(query)[:, None, :] * unit(reference)[None, :, :]).sum(axis=2)


def brute_nearest(query, reference, k, exclude_self=False):
    sims = cosine_matrix(query, reference)
    if exclude_self:
        np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(sims, order, axis=1)


def exact_cosine_features(rng, n, dims=16):
    """Rows with 1, 4 or 16 entries of +-1 (lengths 1, 2, 4): every cosine is a small dyadic fraction,
    exact in float32 in any summation order, so equal cosines tie exactly and ties are common."""
    features = np.zeros((n, dims), np.float32)
    for row, nonzero in enumerate(rng.choice([m for m in (1, 4, 16) if m <= dims], size=n)):
        columns = rng.choice(dims, size=nonzero, replace=False)
        features[row, columns] = rng.choice([-1.0, 1.0], size=nonzero)
    return features


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_nearest_ranks_as_brute_force_across_chunk_boundaries(rng, batch_size):
    query, reference = rng.normal(size=(70, 12)), rng.normal(size=(90, 12))
    indices, sims = nearest(query, reference, k=9, batch_size=batch_size)
    expected_indices, expected_sims = brute_nearest(query, reference, 9)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(sims, expected_sims, atol=1e-6)


@pytest.mark.parametrize("k", [1, 5, 33])
def test_equal_similarities_are_ranked_by_lower_index(rng, k):
    query, reference = exact_cosine_features(rng, 40), exact_cosine_features(rng, 120)
    indices, sims = nearest(query, reference, k=k, batch_size=16)
    expected_indices, expected_sims = brute_nearest(query, reference, k)
    ranked = -np.sort(-cosine_matrix(query, reference), axis=1)
    assert (ranked[:, k - 1] == ranked[:, k]).any()  # the data ties across the cut at k
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(sims, expected_sims.astype(np.float32))


def test_nearest_returns_int64_indices_and_float32_similarities(rng):
    indices, sims = nearest(rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), k=2)
    assert indices.dtype == np.int64 and sims.dtype == np.float32 and indices.shape == sims.shape == (3, 2)


def test_exclude_self_never_lists_a_row_as_its_own_neighbour(rng):
    features = exact_cosine_features(rng, 50)
    indices, sims = nearest(features, features, k=10, exclude_self=True, batch_size=8)
    expected_indices, expected_sims = brute_nearest(features, features, 10, exclude_self=True)
    assert not (indices == np.arange(50)[:, None]).any()
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(sims, expected_sims.astype(np.float32))


def test_a_zero_vector_has_cosine_0_with_everything(rng):
    reference = rng.normal(size=(6, 5))
    reference[2] = 0
    _, sims = nearest(np.zeros((1, 5)), reference, k=6)
    np.testing.assert_array_equal(sims, 0)
    order, sims = nearest(reference, reference, k=6)
    assert sims[2].tolist() == [0] * 6 and order[2].tolist() == list(range(6))  # all tie at 0


def test_k_beyond_the_reference_rows_is_refused(rng):
    features = rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match="k must be between 1 and 3"):
        nearest(features, features, k=4, exclude_self=True)


def test_layer_features_are_the_layers_output_after_an_inference_forward():
    model = npnet.seed_net()
    x = np.random.default_rng(0).normal(size=(10, 32, 32, 3)).astype(np.float32)
    features = {name: layer_features(model, x, name, batch_size=4)
                for name in ("conv2d_1", "max_pooling2d_2", "dense_3", "dense_4")}
    model.forward(x, training=False)
    for name, got in features.items():
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, model.layer(name).output.reshape(10, -1), rtol=1e-5, atol=1e-6)


def test_image_features_are_the_layers_output_for_the_preprocessed_images_batch_by_batch(rng):
    model = npnet.seed_net()
    images = rng.integers(0, 256, size=(10, 32, 32, 3), dtype=np.uint8)
    got = image_features(model, images, {"name": "seed"}, "dense_3", batch_size=4)  # batches of 4, 4 and 2
    model.forward(preprocess(images, {"name": "seed"}), training=False)
    np.testing.assert_allclose(got, model.layer("dense_3").output, rtol=1e-5, atol=1e-6)


def planted(rng, n=60, dims=32):
    """Random features and labels, with row 41 a near-copy of row 3 (another label) and row 50 a
    near-copy of row 7 (the same label)."""
    features = rng.normal(size=(n, dims)).astype(np.float32)
    labels = rng.integers(0, 5, size=n)
    features[41] = features[3] + 0.01 * rng.normal(size=dims)
    features[50] = features[7] + 0.01 * rng.normal(size=dims)
    labels[41], labels[50] = (labels[3] + 1) % 5, labels[7]
    return features, labels


def test_cross_label_copies_finds_a_near_copy_labelled_differently_and_not_one_labelled_alike(rng):
    features, labels = planted(rng)
    pairs = cross_label_copies(features, labels, threshold=0.99)
    assert [(i, j) for i, j, _ in pairs] == [(3, 41)]
    assert pairs[0][2] == pytest.approx(cosine_matrix(features[[3]], features[[41]])[0, 0], abs=1e-6)


def test_cross_label_copies_lists_every_differently_labelled_pair_above_the_threshold(rng):
    features = exact_cosine_features(rng, 80, dims=4)  # many exact copies
    labels = rng.integers(0, 3, size=80)
    sims = cosine_matrix(features, features)
    i, j = np.nonzero(np.triu(sims >= 0.75, k=1) & (labels[:, None] != labels[None, :]))
    expected = sorted(zip(-sims[i, j], i, j))
    pairs = cross_label_copies(features, labels, threshold=0.75)
    assert [(a, b) for a, b, _ in pairs] == [(a, b) for _, a, b in expected]


def test_cross_label_copies_keeps_one_pair_per_pair_of_groups(rng):
    features, labels = planted(rng)
    features[42], labels[42] = features[41] * 1.01, labels[41]  # a second frame of 41's track
    groups = np.arange(60)
    groups[42] = groups[41]
    assert [(i, j) for i, j, _ in cross_label_copies(features, labels, 0.99)] in ([(3, 41), (3, 42)],
                                                                                [(3, 42), (3, 41)])
    assert len(cross_label_copies(features, labels, 0.99, groups=groups)) == 1


def test_leaks_finds_queries_copied_from_training(rng):
    train = rng.normal(size=(50, 16)).astype(np.float32)
    queries = rng.normal(size=(20, 16)).astype(np.float32)
    queries[[4, 13]] = train[[30, 8]] * 1.5 + 0.01 * rng.normal(size=(2, 16))
    found, neighbours, sims = leaks(queries, train, threshold=0.99)
    assert found.tolist() == [4, 13] and neighbours.tolist() == [30, 8]
    np.testing.assert_allclose(sims, cosine_matrix(queries, train)[found, neighbours], atol=1e-6)
