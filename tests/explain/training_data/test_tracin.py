"""TracInCP equals its definition computed the slow way: one image at a time through model.backward,
every weight gradient flattened, dot products in float64."""
import numpy as np
import pytest

from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net
from npnet.explain.training_data.per_example import layers_with_weights, per_example_gradients
from npnet.explain.training_data.tracin import Checkpoint, influence, self_influence
from tests.tolerances import rounding_tolerance


def small_net(seed):
    """Every kind of layer influence differentiates, small: conv (relu) -> pool -> conv -> flatten ->
    dense (relu) -> dense."""
    return Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Conv2D(5, 2, activation="relu"),
                       Flatten(), Dense(6, activation="relu"), Dense(3)], input_shape=(8, 8, 2), seed=seed)


def slow_gradient(model, x, label, layers):
    """grad_theta l(theta; (x, label)) over ``layers``, flattened: the model's own summed-gradient
    backward on a batch of one (the loss gradient p - e_y, as for one example of a batch of one)."""
    logits = model.forward(x[None], training=False)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    p[0, label] -= 1
    model.backward(p, input_grad=False, fuse_conv_pool=False)
    grads = model.grads()
    return np.concatenate([grads[f"{name}/{key}"].ravel() for name in layers for key in ("kernel", "bias")])


def slow_influence(checkpoints, train_x, train_y, query_x, query_y, layers, normalize=False):
    scores = np.zeros((len(train_x), len(query_x)))
    for checkpoint in checkpoints:
        model = checkpoint.model
        g_train = np.array([slow_gradient(model, x, y, layers) for x, y in zip(train_x, train_y)])
        g_query = np.array([slow_gradient(model, x, y, layers) for x, y in zip(query_x, query_y)])
        if normalize:
            g_train /= np.linalg.norm(g_train, axis=1, keepdims=True)
            g_query /= np.linalg.norm(g_query, axis=1, keepdims=True)
        scores += checkpoint.learning_rate * g_train @ g_query.T
    return scores


@pytest.fixture
def small_case(rng):
    checkpoints = [Checkpoint(small_net(seed).astype(np.float64), rate) for seed, rate in ((1, 0.01), (2, 0.003))]
    train_x, query_x = rng.standard_normal((7, 8, 8, 2)), rng.standard_normal((3, 8, 8, 2))
    return checkpoints, train_x, rng.integers(0, 3, 7), query_x, rng.integers(0, 3, 3)


def test_per_example_vectors_are_the_backward_of_one_image(small_case):
    checkpoints, train_x, train_y, _, _ = small_case
    model = checkpoints[0].model
    names = layers_with_weights(model)
    gradients = per_example_gradients(model, train_x, train_y, names)
    batched = np.concatenate([gradients[name].vectors() for name in names], axis=1)
    one_by_one = np.array([slow_gradient(model, x, y, names) for x, y in zip(train_x, train_y)])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-10, atol=1e-12)


def test_influence_is_the_sum_of_learning_rate_times_gradient_dot_products(small_case):
    checkpoints, train_x, train_y, query_x, query_y = small_case
    result = influence(checkpoints, train_x, train_y, query_x, query_y, batch_size=3)
    expected = slow_influence(checkpoints, train_x, train_y, query_x, query_y,
                              layers_with_weights(checkpoints[0].model))
    np.testing.assert_allclose(result.scores, expected, rtol=1e-10, atol=1e-14)


def test_influence_of_named_layers_counts_only_their_weights(small_case):
    checkpoints, train_x, train_y, query_x, query_y = small_case
    layers = ["conv2d_2", "dense_2"]
    result = influence(checkpoints, train_x, train_y, query_x, query_y, layers=layers)
    expected = slow_influence(checkpoints, train_x, train_y, query_x, query_y, layers)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-10, atol=1e-14)


def test_normalized_influence_sums_cosines(small_case):
    checkpoints, train_x, train_y, query_x, query_y = small_case
    result = influence(checkpoints, train_x, train_y, query_x, query_y, normalize=True, batch_size=4)
    expected = slow_influence(checkpoints, train_x, train_y, query_x, query_y,
                              layers_with_weights(checkpoints[0].model), normalize=True)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-10, atol=1e-14)
    assert np.all(np.abs(result.scores) <= sum(c.learning_rate for c in checkpoints) * (1 + 1e-12))


def test_self_influence_is_the_influence_of_an_image_on_itself(small_case):
    checkpoints, train_x, train_y, _, _ = small_case
    expected = np.diag(slow_influence(checkpoints, train_x, train_y, train_x, train_y,
                                      layers_with_weights(checkpoints[0].model)))
    np.testing.assert_allclose(self_influence(checkpoints, train_x, train_y), expected, rtol=1e-10)


def test_proponents_and_opponents_are_the_highest_and_lowest_scores(small_case):
    checkpoints, train_x, train_y, query_x, query_y = small_case
    result = influence(checkpoints, train_x, train_y, query_x, query_y, top=3)
    for q in range(len(query_x)):
        column = result.scores[:, q]
        assert list(result.proponents[q]) == list(np.argsort(-column, kind="stable")[:3])
        assert list(result.opponents[q]) == list(np.argsort(column, kind="stable")[:3])
        assert np.all(np.diff(result.proponent_scores()[q]) <= 0)
        assert np.all(np.diff(result.opponent_scores()[q]) >= 0)


def test_last_layer_score_is_the_factorized_form():
    """For dense_4 alone: ((p - e_y).(p' - e_y')) (a.a' + 1), a the dense_3 output."""
    rng = np.random.default_rng(3)
    model = seed_net().astype(np.float64)
    x = rng.standard_normal((6, 32, 32, 3))
    y = rng.integers(0, 43, 6)
    result = influence([Checkpoint(model, 0.5)], x[:4], y[:4], x[4:], y[4:], layers=["dense_4"])
    logits = model.forward(x, training=False)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta = p - np.eye(43)[y]
    a = model.layer("dense_3").output
    expected = 0.5 * (delta[:4] @ delta[4:].T) * (a[:4] @ a[4:].T + 1)
    np.testing.assert_allclose(result.scores, expected, rtol=1e-12)


def test_seed_net_float32_influence_matches_float64_definition():
    """The engine's float32 path on the seed net against the float64 slow definition, to rounding."""
    rng = np.random.default_rng(4)
    model64 = seed_net(seed=5).astype(np.float64)
    model32 = seed_net(seed=5)
    x = rng.standard_normal((5, 32, 32, 3))
    y = rng.integers(0, 43, 5)
    names = layers_with_weights(model64)
    expected = slow_influence([Checkpoint(model64, 1.0)], x[:3], y[:3], x[3:], y[3:], names)
    result = influence([Checkpoint(model32, 1.0)], x[:3].astype(np.float32), y[:3], x[3:].astype(np.float32),
                       y[3:], batch_size=2)
    # scale: the same dot products of magnitudes; terms: the gradient's chain through the net, then the dot
    g = [np.abs(slow_gradient(model64, xi, yi, names)) for xi, yi in zip(x, y)]
    scale = np.array([[gt @ gq for gq in g[3:]] for gt in g[:3]])
    tolerance = rounding_tolerance(scale, terms=[1152, 1152, 256, 128, 64, len(g[0])], dtype=np.float32)
    assert np.all(np.abs(result.scores - expected) <= tolerance)
    assert np.all(np.abs(result.scores - expected) > 0)          # float32, not the float64 path


def test_unknown_layer_is_refused(small_case):
    checkpoints, train_x, train_y, query_x, query_y = small_case
    with pytest.raises(ValueError, match="no layer with weights named max_pooling2d_1"):
        influence(checkpoints, train_x, train_y, query_x, query_y, layers=["max_pooling2d_1"])


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_influence_equals_captum_tracincp_on_the_pytorch_twin():
    """Captum's TracInCP (per-sample gradients by its own hooks) on the twin of each checkpoint."""
    torch = pytest.importorskip("torch", reason="the training-data extra: pip install -e '.[training-data]'")
    captum_influence = pytest.importorskip("captum.influence", reason="the training-data extra")
    from torch.utils.data import TensorDataset
    from npnet.bench.torch_twin import from_npnet
    rng = np.random.default_rng(6)
    checkpoints = [Checkpoint(seed_net(seed=s), rate) for s, rate in ((1, 0.002), (2, 0.0007))]
    x = rng.standard_normal((12, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 43, 12)
    ours = influence(checkpoints, x[:9], y[:9], x[9:], y[9:], batch_size=4).scores
    twins = {str(i): from_npnet(c.model).eval() for i, c in enumerate(checkpoints)}

    def load(model, name):
        model.load_state_dict(twins[name].state_dict())
        return checkpoints[int(name)].learning_rate

    tensors = [torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))]
    tracin = captum_influence.TracInCP(from_npnet(checkpoints[0].model).eval(), TensorDataset(tensors[0][:9], tensors[1][:9]),
                                       list(twins), load, loss_fn=torch.nn.CrossEntropyLoss(reduction="sum"),
                                       batch_size=4, sample_wise_grads_per_batch=True)
    theirs = tracin.influence((tensors[0][9:], tensors[1][9:]), k=None).numpy().T
    # two float32 engines, the same sums in other orders (the largest score bounds every term's scale)
    tolerance = rounding_tolerance(np.abs(theirs).max(), terms=[1152, 1152, 256, 128, 64, 422187])
    assert np.all(np.abs(ours - theirs) <= tolerance)
    assert np.abs(theirs).max() > 0
