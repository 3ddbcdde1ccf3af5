"""npnet against PyTorch on the same weights: logits, every gradient, Grad-CAM and one Adam update.

Skipped where torch is not installed (``pip install -e '.[bench]'``). float32 throughout, so the
tolerances are float32's: the two engines sum in different orders.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from npnet.bench import torch_twin  # noqa: E402
from npnet.explain import grad_cam  # noqa: E402
from npnet.engine.losses import softmax_cross_entropy  # noqa: E402
from npnet.engine.seed_net import seed_net  # noqa: E402
from npnet.engine.optimizers import Adam  # noqa: E402

BATCH = 32


@pytest.fixture
def nets():
    """(npnet seed net, its torch twin in eval mode, x (N, 32, 32, 3), labels (N,))."""
    model = seed_net(seed=3)
    rng = np.random.default_rng(7)
    x = rng.random((BATCH, 32, 32, 3), dtype=np.float32)
    labels = rng.integers(0, 43, size=BATCH)
    return model, torch_twin.from_npnet(model).eval(), x, labels


def test_twin_holds_the_same_weights(nets):
    model, twin, _, _ = nets
    twin_params = torch_twin.params(twin)
    assert list(twin_params) == list(model.params())
    for key, value in model.params().items():
        np.testing.assert_array_equal(twin_params[key], value, err_msg=key)


def test_logits_equal(nets):
    model, twin, x, _ = nets
    logits = model.forward(x, training=False)
    with torch.no_grad():
        logits_t = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(logits, logits_t, rtol=1e-4, atol=1e-5)


def test_max_pools_pick_the_same_winners(nets):
    """Gradients are only comparable where both engines route each window to the same input."""
    model, twin, x, _ = nets
    model.forward(x, training=False)
    winners = torch_twin.pool_winners(twin, torch.from_numpy(x))
    assert list(winners) == ["max_pooling2d_1", "max_pooling2d_2", "max_pooling2d_3"]
    for name, w in winners.items():
        np.testing.assert_array_equal(model.layer(name).argmax, w, err_msg=name)


@pytest.mark.parametrize("fuse_conv_pool", [False, True], ids=["layer_by_layer", "conv_and_pool_in_one_step"])
def test_every_gradient_of_the_loss_equal(nets, fuse_conv_pool):
    """Mean cross-entropy, dropout off (training=False): dL/dW, dL/db for every layer, and dL/dx,
    both by explanations' backward and by training's (conv -> pool in one step)."""
    model, twin, x, labels = nets
    twin.zero_grad()
    loss, dlogits = softmax_cross_entropy(model.forward(x, training=False), labels)
    dx = model.backward(dlogits, input_grad=True, fuse_conv_pool=fuse_conv_pool)

    x_t = torch.from_numpy(x).requires_grad_(True)
    loss_t = torch.nn.functional.cross_entropy(twin(x_t), torch.from_numpy(labels))
    loss_t.backward()

    assert loss == pytest.approx(loss_t.item(), rel=1e-5)
    twin_grads = torch_twin.grads(twin)
    assert len(twin_grads) == 14
    for key, grad in model.grads().items():
        np.testing.assert_allclose(grad, twin_grads[key], rtol=1e-3, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-3, atol=1e-6)


def test_grad_cam_equal(nets):
    model, twin, x, _ = nets
    maps = grad_cam(model, x, layer="conv2d_3", upsample=False)      # the predicted class's maps
    predicted = model.layer("dense_4").output.argmax(axis=1)         # the logits grad_cam saw
    maps_t, predicted_t = torch_twin.grad_cam(twin, torch.from_numpy(x), "conv2d_3")
    np.testing.assert_array_equal(predicted, predicted_t.numpy())
    assert maps.shape == (BATCH, 6, 6) and maps.max() > 0
    np.testing.assert_allclose(maps, maps_t.numpy(), rtol=1e-3, atol=1e-6 * maps.max())


def test_adam_steps_equal_with_eps_applied_the_keras_way(nets):
    """npnet (Keras) adds eps to sqrt(v); torch adds it to sqrt(v / (1 - beta2^t)). The updates
    are identical when torch's eps at step t is eps / sqrt(1 - beta2^t), so that is what it gets."""
    model, twin, x, labels = nets
    loss, dlogits = softmax_cross_entropy(model.forward(x, training=False), labels)
    model.backward(dlogits, input_grad=False)
    grads = {key: g.copy() for key, g in model.grads().items()}
    before = {key: p.copy() for key, p in model.params().items()}

    eps, beta2 = 1e-7, 0.999
    optimizer = Adam(lr=0.001, epsilon=eps)
    optimizer_t = torch.optim.Adam(twin.parameters(), lr=0.001, betas=(0.9, beta2), eps=eps)
    twin_params = torch_twin.named_parameters(twin)
    for step in range(1, 4):                 # the same gradients, three times
        optimizer.step(model.params(), grads)
        for key, p in twin_params.items():   # npnet's gradients, in torch's layout
            layout = (3, 2, 0, 1) if p.ndim == 4 else (1, 0) if p.ndim == 2 else (0,)
            p.grad = torch.from_numpy(np.ascontiguousarray(grads[key].transpose(layout)))
        optimizer_t.param_groups[0]["eps"] = eps / np.sqrt(1 - beta2 ** step)
        optimizer_t.step()

    after_t = torch_twin.params(twin)
    for key, p in model.params().items():
        assert np.abs(p - before[key]).max() > 1e-3     # the weights did move (~lr per step)
        np.testing.assert_allclose(p, after_t[key], rtol=1e-5, atol=1e-7, err_msg=key)
