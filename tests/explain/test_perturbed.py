"""The deletion and insertion images: the numba loop computes exactly what the NumPy reference does."""
import numpy as np
import pytest

from npnet.engine import ops
from npnet.explain.faithfulness.perturbed import perturbed_images, perturbed_images_fast, perturbed_images_reference


@pytest.mark.parametrize("insert", [False, True])
@pytest.mark.parametrize("fill_shape", [(), (3, 5, 4, 2)], ids=["one value", "per value"])
def test_perturbed_images_fast_equals_reference(rng, insert, fill_shape):
    images = rng.standard_normal((3, 5, 4, 2)).astype(np.float32)
    ranks = np.array([rng.permutation(20).reshape(5, 4) for _ in range(3)])
    limits = np.array([0, 7, 13, 20])
    image_of, step_of = np.divmod(np.arange(3 * 4), 4)
    fill = np.broadcast_to(rng.standard_normal(fill_shape).astype(np.float32), images.shape)
    fast_rows = perturbed_images_fast(images, ranks, limits, image_of, step_of, fill, insert)
    np.testing.assert_array_equal(fast_rows, perturbed_images_reference(images, ranks, limits, image_of, step_of,
                                                                        fill, insert))
    moved = ranks[image_of[5]] < limits[step_of[5]]        # image 1 after step 1: its 7 first pixels
    assert moved.sum() == 7
    expected = np.where(moved[..., None], images[1], fill[1]) if insert else \
        np.where(moved[..., None], fill[1], images[1])
    np.testing.assert_array_equal(fast_rows[5], expected)


@pytest.mark.parametrize("kernels", ["fast", "reference"])
def test_perturbed_images_follows_the_engines_kernel_switch(monkeypatch, kernels):
    called = []
    monkeypatch.setattr("npnet.explain.faithfulness.perturbed.perturbed_images_" + kernels,
                        lambda *args: called.append(kernels))
    ops.use(kernels)
    try:
        perturbed_images(*[None] * 7)
    finally:
        ops.use("fast")
    assert called == [kernels]
