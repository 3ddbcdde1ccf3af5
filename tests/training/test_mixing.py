"""Mixup and CutMix: the images and the share lam that the targets are blended by agree."""
import numpy as np
import pytest

from npnet.engine.losses import softmax_cross_entropy
from npnet.engine.seed_net import seed_net
from npnet.training.mixing import mix_batch
from npnet.training.step import train_step


@pytest.fixture
def images(rng):
    return rng.integers(0, 256, (16, 32, 32, 3)).astype(np.uint8)


def test_mixup_is_the_blend_of_each_image_and_its_partner(images, rng):
    mixed, partner, lam = mix_batch(images, rng, "mixup", alpha=0.4)
    assert sorted(partner) == list(range(16)) and 0 <= lam <= 1
    np.testing.assert_allclose(mixed, lam * images + (1 - lam) * images[partner].astype(np.float64), atol=1e-3)


def test_cutmix_pastes_one_box_and_lam_is_the_share_left_of_the_image(images, rng):
    for _ in range(20):
        mixed, partner, lam = mix_batch(images, rng, "cutmix", alpha=1.0)
        from_partner = np.all(mixed == images[partner], axis=3) & np.any(images != images[partner], axis=3)
        from_self = np.all(mixed == images, axis=3)
        assert np.all(from_partner | from_self)
        rows, columns = np.nonzero(np.any(~from_self, axis=0))
        if len(rows):                                      # the pasted pixels form one rectangle
            box = (rows.max() - rows.min() + 1) * (columns.max() - columns.min() + 1)
            assert lam == pytest.approx(1 - box / 1024)
        else:
            assert lam == 1.0 or np.array_equal(images, images[partner])


def test_an_unknown_mode_is_refused(images, rng):
    with pytest.raises(ValueError, match="mode"):
        mix_batch(images, rng, "blend", alpha=1.0)


class NoUpdate:
    def step(self, params, grads):
        pass


def test_a_mixed_step_trains_on_the_blended_loss_and_gradient(rng):
    x = rng.standard_normal((6, 32, 32, 3)).astype(np.float32)
    labels, partner_labels, lam = rng.integers(0, 43, 6), rng.integers(0, 43, 6), 0.3
    model = seed_net(dropout=0.0)
    loss, logits = train_step(model, NoUpdate(), x, labels, 0.1, mixed_with=(partner_labels, lam))
    grads = {key: value.copy() for key, value in model.grads().items()}
    loss_a, dlogits_a = softmax_cross_entropy(logits, labels, 0.1)
    loss_b, dlogits_b = softmax_cross_entropy(logits, partner_labels, 0.1)
    assert loss == pytest.approx(lam * loss_a + (1 - lam) * loss_b, rel=1e-6)
    model.forward(x, training=True)
    model.backward(lam * dlogits_a + (1 - lam) * dlogits_b, input_grad=False)
    for key, value in model.grads().items():
        np.testing.assert_allclose(grads[key], value, rtol=1e-4, atol=1e-7)
