"""--holdout-fold: the held-out tracks as one of round(1 / fraction) disjoint folds of whole tracks."""
import numpy as np
import pytest

from npnet.data.splits import track_folds, track_groups
from npnet.training import Recipe
from npnet.training.holdout import FOLD_SEED, held_out_mask, split_holdout

from .test_training import RECIPE, tiny_dataset, train


@pytest.fixture
def images():
    return tiny_dataset(600, seed=0)       # 4 classes, about 5 blocks of 30 each


def test_the_folds_are_disjoint_and_cover_every_image(images):
    masks = [held_out_mask(images, 0.2, fold) for fold in range(5)]
    np.testing.assert_array_equal(np.sum(masks, axis=0), np.ones(len(images)))


def test_a_fold_is_the_one_track_folds_deals(images):
    for fold in range(5):
        np.testing.assert_array_equal(held_out_mask(images, 0.2, fold),
                                      track_folds(images, 5, seed=FOLD_SEED) == fold)


def test_a_fold_never_splits_a_track(images):
    groups, held = track_groups(images), held_out_mask(images, 0.2, 2)
    for group in np.unique(groups):
        assert len(set(held[groups == group])) == 1


def test_without_a_fold_the_fixed_split_is_held_out(images):
    from npnet.data.splits import track_split_mask
    np.testing.assert_array_equal(held_out_mask(images, 0.2), track_split_mask(images, 0.2, seed=FOLD_SEED))


def test_split_holdout_trains_on_the_rows_the_fold_leaves(images):
    kept, held = split_holdout(images, 0.25, 1)
    mask = track_folds(images, 4, seed=FOLD_SEED) == 1
    np.testing.assert_array_equal(held.images, images.images[mask])
    np.testing.assert_array_equal(kept.images, images.images[~mask])


def test_a_run_on_a_fold_measures_that_fold(tmp_path, images):
    trainer, _ = train(tmp_path, "run", (images, tiny_dataset(40, seed=1)),
                       RECIPE.with_options(epochs=1, holdout_tracks=0.2, holdout_fold=3))
    np.testing.assert_array_equal(trainer.holdout.images, images.images[held_out_mask(images, 0.2, 3)])


@pytest.mark.parametrize("options, message", [
    ({"holdout_fold": 0}, "needs held-out tracks"),
    ({"holdout_tracks": 0.2, "holdout_fold": 5}, r"must be in \[0, 4\]"),
    ({"holdout_tracks": 0.2, "holdout_fold": -2}, r"must be in \[0, 4\]"),
])
def test_a_fold_outside_the_folds_is_refused(options, message):
    with pytest.raises(ValueError, match=message):
        Recipe(**options)
