"""--class-weight-power: each image's loss weighted by n^-B of its class, mean weight 1."""
import numpy as np
import pytest

from npnet.engine.losses import softmax_cross_entropy
from npnet.io import checkpoint
from npnet.training import Recipe
from npnet.training.class_weights import class_weights

from .test_training import RECIPE, assert_same_params, stop_and_resume, tiny_dataset, train


def test_inverse_frequency_gives_every_class_the_same_total_weight():
    labels = np.array([0] * 6 + [1] * 3 + [3] * 1)
    weights = class_weights(labels, 5, 1.0).astype(np.float64)
    totals = np.bincount(labels, weights=weights[labels], minlength=5)
    np.testing.assert_allclose(totals[[0, 1, 3]], len(labels) / 3, rtol=1e-6)
    assert weights[2] == weights[4] == 0


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_the_mean_weight_over_the_training_images_is_one(power):
    labels = np.random.default_rng(0).integers(0, 43, 500)
    weights = class_weights(labels, 43, power)
    assert abs(weights[labels].astype(np.float64).mean() - 1) < 1e-6
    counts = np.bincount(labels, minlength=43)
    present = counts > 0
    np.testing.assert_allclose(weights[present] * counts[present] ** power,
                               (weights[present] * counts[present] ** power)[0], rtol=1e-6)


def test_weighted_cross_entropy_is_the_weighted_mean_of_each_image_s_loss():
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(size=(6, 5)), rng.integers(0, 5, 6)
    weights = rng.uniform(0.2, 3, 6)
    loss, _ = softmax_cross_entropy(logits, labels, 0.1, weights)
    each = [softmax_cross_entropy(logits[[n]], labels[[n]], 0.1)[0] for n in range(6)]
    assert loss == pytest.approx(np.mean(weights * each), rel=1e-12)


def test_weighted_cross_entropy_s_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    logits, labels, weights = rng.normal(size=(4, 5)), rng.integers(0, 5, 4), rng.uniform(0.2, 3, 4)
    _, dlogits = softmax_cross_entropy(logits, labels, 0.1, weights)
    h, numeric = 1e-6, np.zeros_like(logits)
    for index in np.ndindex(*logits.shape):
        step = np.zeros_like(logits)
        step[index] = h
        numeric[index] = (softmax_cross_entropy(logits + step, labels, 0.1, weights)[0]
                          - softmax_cross_entropy(logits - step, labels, 0.1, weights)[0]) / (2 * h)
    np.testing.assert_allclose(dlogits, numeric, rtol=1e-6, atol=1e-9)


def test_weights_of_one_change_nothing():
    rng = np.random.default_rng(3)
    logits, labels = rng.normal(size=(5, 4)).astype(np.float32), rng.integers(0, 4, 5)
    plain, weighted = softmax_cross_entropy(logits, labels, 0.1), softmax_cross_entropy(logits, labels, 0.1,
                                                                                        np.ones(5, np.float32))
    assert weighted[0] == pytest.approx(plain[0], rel=1e-6)
    np.testing.assert_allclose(weighted[1], plain[1], rtol=1e-6)


def test_a_run_weights_its_classes_by_its_own_training_images(tmp_path):
    data = tiny_dataset(80, seed=0), tiny_dataset(40, seed=1)
    trainer, _ = train(tmp_path, "run", data, RECIPE.with_options(epochs=1, class_weight_power=0.5))
    np.testing.assert_array_equal(trainer.class_weights, class_weights(data[0].labels, 43, 0.5))
    plain, _ = train(tmp_path, "plain", data, RECIPE.with_options(epochs=1))
    assert not np.array_equal(trainer.model.params()["dense_4/kernel"], plain.model.params()["dense_4/kernel"])


def test_a_stopped_run_with_class_weights_resumes_to_the_same_weights(tmp_path):
    data = tiny_dataset(80, seed=0), tiny_dataset(40, seed=1)
    recipe = RECIPE.with_options(epochs=2, class_weight_power=1.0)
    whole, resumed = stop_and_resume(tmp_path, data, recipe, (0, 1))
    assert_same_params(whole.model, resumed.model)
    _, metadata = checkpoint.load(tmp_path / "stopped" / "last.h5")
    assert metadata["recipe"]["class_weight_power"] == 1.0


def test_a_power_outside_0_1_or_with_teachers_is_refused():
    with pytest.raises(ValueError, match="class weight power"):
        Recipe(class_weight_power=1.5)
    with pytest.raises(ValueError, match="cannot be combined with distillation"):
        Recipe(class_weight_power=0.5, teachers=("t.h5",), distill_weight=0.5)
