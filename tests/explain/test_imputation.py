"""ROAD's linear imputation: hand-worked cases, the banded Cholesky solve against the dense reference, and
both against pytorch-grad-cam's NoisyLinearImputer with its noise off (when it is installed)."""
import sys

import numpy as np
import pytest

from npnet.engine import ops
from npnet.explain.faithfulness.imputation import (imputation_system, linear_imputation, linear_imputation_fast,
                                                   linear_imputation_reference)

BOTH = [linear_imputation_reference, linear_imputation_fast]


def one(image, removed):
    return np.asarray(image, dtype=np.float64)[None, :, :, None], np.asarray(removed, dtype=bool)[None]


@pytest.mark.parametrize("impute", BOTH)
def test_a_removed_corner_is_the_weighted_mean_of_its_three_neighbours(impute):
    image = [[9.0, 2.0, 0.0], [4.0, 5.0, 0.0], [0.0, 0.0, 0.0]]
    removed = np.zeros((3, 3), dtype=bool)
    removed[0, 0] = True
    got = impute(*one(image, removed))[0, :, :, 0]
    assert got[0, 0] == pytest.approx((2 / 6 + 4 / 6 + 5 / 12) / (5 / 12))      # 17/5: edges 1/6, corner 1/12
    np.testing.assert_array_equal(got[~removed], np.asarray(image)[~removed])


@pytest.mark.parametrize("impute", BOTH)
def test_a_removed_centre_is_the_weighted_mean_of_all_eight(impute):
    image = np.arange(9.0).reshape(3, 3)
    removed = np.zeros((3, 3), dtype=bool)
    removed[1, 1] = True
    edges, corners = 1 + 3 + 5 + 7, 0 + 2 + 6 + 8
    assert impute(*one(image, removed))[0, 1, 1, 0] == pytest.approx(edges / 6 + corners / 12)


@pytest.mark.parametrize("impute", BOTH)
def test_two_removed_pixels_that_see_each_other_are_solved_together(impute):
    # [[a, x], [y, d]]: x = (a/6 + d/6 + y/12) / (5/12), y likewise, so x = y = (a + d) / 2
    image = [[1.0, 0.0], [0.0, 3.0]]
    removed = [[False, True], [True, False]]
    got = impute(*one(image, removed))[0, :, :, 0]
    np.testing.assert_allclose(got, [[1.0, 2.0], [2.0, 3.0]], rtol=1e-12)


def test_the_system_is_the_references_setup_sparse_system():
    image = np.arange(12.0).reshape(3, 4, 1)
    removed = np.zeros((3, 4), dtype=bool)
    removed[0, 0] = removed[0, 1] = True
    A, b, pixels = imputation_system(image, removed)
    assert pixels.tolist() == [0, 1]
    np.testing.assert_allclose(A, [[-5 / 12, 1 / 6], [1 / 6, -8 / 12]])   # (0, 1) has five neighbours
    np.testing.assert_allclose(b[:, 0], [-(4 / 6 + 5 / 12), -(2 / 6 + 4 / 12 + 5 / 6 + 6 / 12)])


@pytest.mark.parametrize("shape, share", [((4, 8, 8, 3), 0.5), ((3, 32, 32, 3), 0.9), ((3, 32, 32, 1), 0.1),
                                          ((2, 5, 7, 2), 0.97), ((2, 6, 4, 3), 0.3)])
def test_the_banded_cholesky_solve_equals_the_dense_one(shape, share):
    rng = np.random.default_rng(sum(shape))
    images = rng.standard_normal(shape)
    removed = rng.random(shape[:3]) < share
    fast = linear_imputation_fast(images, removed)
    np.testing.assert_allclose(fast, linear_imputation_reference(images, removed), rtol=1e-9, atol=1e-10)
    np.testing.assert_array_equal(fast[~removed], images[~removed])


@pytest.mark.parametrize("impute", BOTH)
def test_nothing_removed_is_the_image_and_everything_removed_is_zero(impute):
    images = np.random.default_rng(0).standard_normal((2, 4, 5, 3)).astype(np.float32)
    removed = np.zeros((2, 4, 5), dtype=bool)
    removed[1] = True
    got = impute(images, removed)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got[0], images[0])
    np.testing.assert_array_equal(got[1], 0)


def test_an_imputed_image_is_smooth_and_stays_within_its_kept_values():
    """A weighted mean of its neighbours: a maximum principle holds, and a constant image stays constant."""
    rng = np.random.default_rng(4)
    removed = rng.random((1, 16, 16)) < 0.8
    constant = np.full((1, 16, 16, 2), 0.25)
    np.testing.assert_allclose(linear_imputation_fast(constant, removed), constant, rtol=1e-12)
    images = rng.uniform(-1, 1, (1, 16, 16, 2))
    got = linear_imputation_fast(images, removed)
    kept = images[~removed]
    assert got.min() >= kept.min() - 1e-12 and got.max() <= kept.max() + 1e-12


@pytest.mark.parametrize("kernels", ["fast", "reference"])
def test_the_engines_kernel_switch_picks_the_solver(monkeypatch, kernels):
    called = []
    monkeypatch.setattr(f"npnet.explain.faithfulness.imputation.linear_imputation_{kernels}",
                        lambda images, removed: called.append(kernels) or images)
    previous = ops.in_use()
    ops.use(kernels)
    try:
        linear_imputation(np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 2), dtype=bool))
    finally:
        ops.use(previous)
    assert called == [kernels]


# -- against pytorch-grad-cam ---------------------------------------------------------------------
def grad_cam_road():
    torch = pytest.importorskip("torch")
    pytest.importorskip("scipy")
    pytest.importorskip("cv2")
    from npnet.bench.reference_methods import torchvision_stub
    try:
        from pytorch_grad_cam.metrics import road
    except ImportError as error:
        pytest.skip(f"pytorch-grad-cam not importable: {error}")
    except RuntimeError:                       # a torchvision that does not load beside this torch
        for key in [k for k in sys.modules if k.startswith(("torchvision", "pytorch_grad_cam"))]:
            del sys.modules[key]
        sys.modules.update(torchvision_stub())
        from pytorch_grad_cam.metrics import road
    return torch, road


@pytest.mark.filterwarnings("ignore::DeprecationWarning")      # numpy on its torch tensors
@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_the_imputation_equals_pytorch_grad_cams_noisy_linear_imputer_without_noise(share):
    torch, road = grad_cam_road()
    rng = np.random.default_rng(int(share * 10))
    images = rng.standard_normal((3, 32, 32, 3)).astype(np.float32)
    removed = rng.random((3, 32, 32)) < share
    imputer = road.NoisyLinearImputer(noise=0.0)
    expected = np.stack([imputer(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
                                 torch.from_numpy((~mask).astype(np.float32))).numpy().transpose(1, 2, 0)
                         for image, mask in zip(images, removed)])       # its mask: 1 = kept
    got = linear_imputation_fast(images, removed)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-6)     # it solves in float64, returns float32
