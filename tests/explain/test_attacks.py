"""Attacks in pixel units: FGSM and PGD equal their definitions, the ball and the clip, the minimal
flip brackets a change of prediction, and torchattacks' and Captum's FGSM and PGD on the PyTorch twin."""
import numpy as np
import pytest

from npnet.engine.layers import Dense, Flatten
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net
from npnet.explain.attacks import fgsm, minimal_flip, counterfactual, pgd, robust_accuracy
from npnet.explain.attacks.gradient_attacks import predicted_classes
from npnet.explain.attacks.pixels import project, random_start
from npnet.io.errors import NpnetError
from tests.tolerances import rounding_tolerance

SEED = {"name": "seed"}


def linear_net(seed=0):
    """logits = W (x / 255 - 0.5) + b on 2x2x3 images: its loss gradient is known in closed form."""
    return Sequential([Flatten(), Dense(5)], input_shape=(2, 2, 3), seed=seed)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def closed_form_gradient(model, pixels, classes):
    """dL/dx of the cross-entropy for the linear net: W (p - e_c) / 255, per image, in float64."""
    dense = model.layers[1]
    W, b = dense.params["kernel"].astype(np.float64), dense.params["bias"].astype(np.float64)
    x = pixels.reshape(len(pixels), -1).astype(np.float64) / 255 - 0.5
    p = softmax(x @ W + b)
    p[np.arange(len(p)), classes] -= 1
    return (p @ W.T / 255).reshape(pixels.shape)


@pytest.fixture
def pixels():
    return np.random.default_rng(1).integers(0, 256, (4, 2, 2, 3)).astype(np.float32)


def test_fgsm_is_one_signed_step_of_the_loss_gradient_clipped_to_the_image(pixels):
    model, classes = linear_net(), np.array([0, 1, 2, 3])
    expected = np.clip(pixels + 8 * np.sign(closed_form_gradient(model, pixels, classes)), 0, 255)
    np.testing.assert_array_equal(fgsm(model, pixels, classes, 8, preprocessing=SEED), expected)


def test_targeted_fgsm_steps_down_the_loss_of_the_target(pixels):
    model, target = linear_net(), np.array([4, 4, 0, 1])
    expected = np.clip(pixels - 8 * np.sign(closed_form_gradient(model, pixels, target)), 0, 255)
    np.testing.assert_array_equal(fgsm(model, pixels, target, 8, targeted=True, preprocessing=SEED), expected)


def test_l2_fgsm_steps_along_the_unit_gradient(pixels):
    model, classes = linear_net(), np.array([0, 1, 2, 3])
    gradient = closed_form_gradient(model, pixels, classes)
    unit = gradient / np.linalg.norm(gradient.reshape(4, -1), axis=1).reshape(4, 1, 1, 1)
    expected = np.clip(pixels + 30 * unit, 0, 255)
    np.testing.assert_allclose(fgsm(model, pixels, classes, 30, norm="l2", preprocessing=SEED), expected,
                               rtol=0, atol=30 * 1e-5)


def test_linf_projection_clips_each_value_to_the_ball_then_to_the_image():
    original = np.array([10, 250, 100, 0], np.float32).reshape(1, 2, 2, 1)
    moved = np.array([20, 260, 97, -3], np.float32).reshape(1, 2, 2, 1)
    projected = project(moved, original, np.float32(4), "linf")
    np.testing.assert_array_equal(projected.ravel(), [14, 254, 97, 0])


def test_l2_projection_scales_the_change_onto_the_sphere_then_clips():
    original = np.array([100, 100, 254, 0], np.float32).reshape(1, 2, 2, 1)
    moved = np.array([103, 104, 254, 0], np.float32).reshape(1, 2, 2, 1)    # change (3, 4, 0, 0): norm 5
    np.testing.assert_allclose(project(moved, original, np.float32(2.5), "l2").ravel(), [101.5, 102, 254, 0])
    inside = np.array([101, 101, 254, 0], np.float32).reshape(1, 2, 2, 1)    # norm sqrt(2) < 2.5: kept
    np.testing.assert_array_equal(project(inside, original, np.float32(2.5), "l2"), inside)
    over = np.array([100, 100, 264, 0], np.float32).reshape(1, 2, 2, 1)      # norm 10 -> 2.5, then 256 -> 255
    np.testing.assert_array_equal(project(over, original, np.float32(2.5), "l2").ravel(), [100, 100, 255, 0])


def test_random_start_lies_in_the_ball_and_the_image():
    original = np.random.default_rng(0).integers(0, 256, (50, 4, 4, 3)).astype(np.float32)
    rng = np.random.default_rng(3)
    linf = random_start(original, np.float32(6), "linf", rng)
    assert np.abs(linf - original).max() <= 6 and 0 <= linf.min() and linf.max() <= 255
    l2 = random_start(original, np.float32(6), "l2", rng)
    assert np.linalg.norm((l2 - original).reshape(50, -1), axis=1).max() <= 6 * (1 + 1e-6)


def test_pgd_equals_its_loop_written_out(pixels):
    """Three signed steps, each projected and clipped, from the closed-form gradient."""
    model, classes = linear_net(), np.array([0, 1, 2, 3])
    x = pixels.astype(np.float64)
    for _ in range(3):
        x = x + 3 * np.sign(closed_form_gradient(model, x.astype(np.float32), classes))
        x = np.clip(pixels + np.clip(x - pixels, -5, 5), 0, 255)
    np.testing.assert_array_equal(pgd(model, pixels, classes, 5, 3, 3, preprocessing=SEED), x.astype(np.float32))


def test_pgd_stays_in_the_ball_and_the_image():
    model = seed_net()
    images = np.random.default_rng(2).integers(0, 256, (6, 32, 32, 3)).astype(np.uint8)
    for norm, eps in (("linf", 4), ("l2", 300)):
        adversarial = pgd(model, images, None, eps, eps / 4, 5, norm=norm, random_start=True, preprocessing=SEED)
        change = adversarial - images.astype(np.float32)
        size = np.abs(change).max(axis=(1, 2, 3)) if norm == "linf" else np.linalg.norm(change.reshape(6, -1), axis=1)
        assert adversarial.dtype == np.float32 and size.max() <= eps * (1 + 1e-5)
        assert adversarial.min() >= 0 and adversarial.max() <= 255


def test_the_model_loaded_from_a_checkpoint_brings_its_preprocessing(tmp_path, pixels):
    import npnet
    model = linear_net()
    npnet.save(model, tmp_path / "m.h5", preprocessing=SEED)
    loaded, _ = npnet.load(tmp_path / "m.h5")
    np.testing.assert_array_equal(fgsm(loaded, pixels, 0, 8), fgsm(model, pixels, 0, 8, preprocessing=SEED))
    with pytest.raises(NpnetError, match="no preprocessing spec"):
        fgsm(model, pixels, 0, 8)


def test_bad_arguments_are_named(pixels):
    model = linear_net()
    with pytest.raises(NpnetError, match="eps must be"):
        fgsm(model, pixels, 0, -1, preprocessing=SEED)
    with pytest.raises(NpnetError, match="pixel values in"):
        fgsm(model, pixels * 2, 0, 1, preprocessing=SEED)
    with pytest.raises(NpnetError, match="unknown norm"):
        pgd(model, pixels, 0, 1, 1, 1, norm="l1", preprocessing=SEED)
    with pytest.raises(NpnetError, match="targeted attack needs classes"):
        pgd(model, pixels, None, 1, 1, 1, targeted=True, preprocessing=SEED)


def test_minimal_flip_brackets_a_change_of_prediction():
    model = seed_net(seed=3)
    images = np.random.default_rng(4).integers(0, 256, (5, 32, 32, 3)).astype(np.uint8)
    result = minimal_flip(model, images, high=4, tolerance=0.01, steps=5, preprocessing=SEED)
    flipped = np.isfinite(result.radius)
    assert flipped.any() and (result.below[flipped] > 0).any()     # an untrained net flips within a grey level
    assert np.all(result.radius[flipped] - result.below[flipped] <= 0.01)
    for radius, changes in ((result.radius, True), (result.below, False)):
        rows = np.flatnonzero(flipped & (radius > 0))
        again = pgd(model, images[rows], result.clean[rows], radius[rows], 2.5 * radius[rows] / 5, 5,
                    preprocessing=SEED)
        assert np.all((predicted_classes(model, again, SEED) != result.clean[rows]) == changes)
    assert np.all(result.predicted[flipped] != result.clean[flipped])


def test_counterfactual_reaches_the_asked_class_with_an_l2_change_of_its_radius():
    model = seed_net(seed=3)
    images = np.random.default_rng(5).integers(0, 256, (4, 32, 32, 3)).astype(np.uint8)
    result = counterfactual(model, images, 7, high=4000, tolerance=8, steps=10, preprocessing=SEED)
    reached = np.isfinite(result.radius) & (result.radius > 0)
    assert reached.any() and np.all(result.predicted[reached] == 7)
    change = np.linalg.norm((result.adversarial - images.astype(np.float32)).reshape(4, -1), axis=1)
    assert np.all(change[reached] <= result.radius[reached] * (1 + 1e-5))


def test_robust_accuracy_counts_the_attacked_images_the_model_still_gets_right():
    model = seed_net(seed=3)
    rng = np.random.default_rng(6)
    images = rng.integers(0, 256, (8, 32, 32, 3)).astype(np.uint8)
    labels = predicted_classes(model, images.astype(np.float32), SEED)
    labels[:2] = (labels[:2] + 1) % 43                                # two the model gets wrong
    table = robust_accuracy(model, images, labels, eps=(0.5, 2), attacks=("fgsm", "pgd3"), preprocessing=SEED)
    assert table["images"] == 8 and table["clean"] == 0.75
    by_hand = np.mean(predicted_classes(model, fgsm(model, images, labels, 2, preprocessing=SEED), SEED) == labels)
    assert table["attacks"]["fgsm"]["2"] == by_hand
    by_hand = np.mean(predicted_classes(model, pgd(model, images, labels, 0.5, 0.125, 3, random_start=True,
                                                   preprocessing=SEED), SEED) == labels)
    assert table["attacks"]["pgd3"]["0.5"] == by_hand
    assert set(table["attacks"]) == {"fgsm", "pgd3"}


# -- the references, on the PyTorch twin ----------------------------------------------------------
def twin_on_unit_images(model):
    """The twin taking images in [0, 1], as torchattacks and Captum expect: twin(u - 0.5) is the
    seed preprocessing x / 255 - 0.5 of x = 255 u."""
    torch = pytest.importorskip("torch", reason="the attacks extra: pip install -e '.[attacks]'")
    from npnet.bench.torch_twin import from_npnet
    twin = from_npnet(model).eval()

    class OnUnitImages(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.twin = twin

        def forward(self, u):
            return self.twin(u - 0.5)
    return OnUnitImages().eval()


def attack_case():
    model = seed_net(seed=5)
    images = np.random.default_rng(7).integers(0, 256, (6, 32, 32, 3)).astype(np.uint8)
    labels = np.random.default_rng(8).integers(0, 43, 6)
    return model, images, labels


def assert_same_image(ours, theirs_unit, step):
    """Equal up to the float32 rounding of the two engines' pixel arithmetic (1e-4 of a grey level),
    and no value a whole step apart (which a gradient sign that disagrees would give)."""
    difference = np.abs(ours - theirs_unit * 255)
    assert difference.max() < max(1e-3, step * 1e-3), difference.max()


@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_equals_torchattacks_on_the_pytorch_twin(norm, targeted):
    torch = pytest.importorskip("torch", reason="the attacks extra")
    torchattacks = pytest.importorskip("torchattacks", reason="the attacks extra: pip install -e '.[attacks]'")
    model, images, labels = attack_case()
    twin = twin_on_unit_images(model)
    eps, step = (6.0, 1.5) if norm == "linf" else (200.0, 50.0)
    kind = torchattacks.PGD if norm == "linf" else torchattacks.PGDL2
    attack = kind(twin, eps=eps / 255, alpha=step / 255, steps=7, random_start=False)
    if targeted:
        attack.set_mode_targeted_by_label(quiet=True)
    unit = torch.from_numpy(images.astype(np.float32) / 255)
    theirs = attack(unit, torch.from_numpy(labels)).numpy()
    ours = pgd(model, images, labels, eps, step, 7, norm=norm, targeted=targeted, preprocessing=SEED)
    assert_same_image(ours, theirs, step)


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_pgd_equals_captum_with_the_cross_entropy_loss_and_no_gradient_threshold():
    torch = pytest.importorskip("torch", reason="the attacks extra")
    robust = pytest.importorskip("captum.robust", reason="the attacks extra")
    model, images, labels = attack_case()
    twin = twin_on_unit_images(model)
    attack = robust.PGD(twin, loss_func=torch.nn.CrossEntropyLoss(reduction="none"), lower_bound=0, upper_bound=1)
    attack.fgsm.zero_thresh = 0.0
    unit = torch.from_numpy(images.astype(np.float32) / 255)
    theirs = attack.perturb(unit, radius=6 / 255, step_size=1.5 / 255, step_num=7,
                            target=torch.from_numpy(labels)).detach().numpy()
    assert_same_image(pgd(model, images, labels, 6, 1.5, 7, preprocessing=SEED), theirs, 1.5)


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_fgsm_equals_captum_and_torchattacks():
    torch = pytest.importorskip("torch", reason="the attacks extra")
    torchattacks = pytest.importorskip("torchattacks", reason="the attacks extra")
    robust = pytest.importorskip("captum.robust", reason="the attacks extra")
    model, images, labels = attack_case()
    twin = twin_on_unit_images(model)
    unit, target = torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels)
    ours = fgsm(model, images, labels, 4, preprocessing=SEED)
    assert_same_image(ours, torchattacks.FGSM(twin, eps=4 / 255)(unit, target).numpy(), 4)
    captum = robust.FGSM(twin, loss_func=torch.nn.CrossEntropyLoss(reduction="none"), lower_bound=0, upper_bound=1)
    captum.zero_thresh = 0.0
    assert_same_image(ours, captum.perturb(unit, 4 / 255, target).detach().numpy(), 4)


def test_the_loss_gradient_through_center_standardize_equals_autograd_on_the_twin():
    """dL/dpixels through the best recipe's preprocessing (its hand-written backward) and the net,
    against PyTorch's autograd of the same preprocessing written in torch, then the twin."""
    torch = pytest.importorskip("torch", reason="the attacks extra")
    from npnet.bench.torch_twin import from_npnet
    from npnet.explain.attacks.pixels import loss_gradient
    model, images, labels = attack_case()
    spec = {"name": "center_standardize"}
    ours, _ = loss_gradient(model, images.astype(np.float32), labels, False, spec)
    x = torch.from_numpy(images.astype(np.float32)).requires_grad_(True)
    center = x[:, 8:24, 8:24, :]
    mean = center.mean(dim=(1, 2, 3), keepdim=True)
    std = center.std(dim=(1, 2, 3), keepdim=True, unbiased=False)
    floor = 1 / np.sqrt(16 * 16 * 3)
    standardized = torch.clamp((x - mean) / torch.clamp(std, min=floor), -4, 4)
    loss = torch.nn.functional.cross_entropy(from_npnet(model).eval()(standardized), torch.from_numpy(labels),
                                             reduction="sum")
    theirs, = torch.autograd.grad(loss, x)
    theirs = theirs.numpy()
    # float32 on both sides, the same sums in other orders: through the net's layers, then the
    # statistics of the 768 central values (the largest entry of each image bounds its terms' scale)
    scale = np.abs(theirs).max(axis=(1, 2, 3), keepdims=True)
    tolerance = rounding_tolerance(scale, terms=[43, 64, 128, 256, 1152, 512, 128, 27, 768])
    assert np.all(np.abs(ours - theirs) <= tolerance)
    assert np.abs(theirs).max() > 0
