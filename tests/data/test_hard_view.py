"""The hard view: which frames it keeps (upsampled ones) and how it weighs classes (as in train.p)."""
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from npnet.data.hard_view import (TRAIN_CLASS_COUNTS, class_weights, hard_view, read_sizes, summary,
    upsampled, weighted_accuracy)
from npnet.io.errors import DataError


def test_a_frame_is_upsampled_when_its_smaller_side_is_under_32_pixels():
    sizes = np.array([[31, 40], [40, 31], [32, 32], [100, 80], [15, 15]])
    np.testing.assert_array_equal(upsampled(sizes), [True, True, False, False, True])


def test_the_view_keeps_the_upsampled_frames_in_order():
    sizes = np.array([[50, 50], [20, 22], [40, 40], [30, 35]])
    view = hard_view(sizes, np.array([0, 1, 0, 1]), class_counts=(1, 1))
    np.testing.assert_array_equal(view.index, [1, 3])


def test_class_weights_give_each_class_its_reference_share_split_over_its_frames():
    # reference counts 30, 10, 60 -> shares 0.3, 0.1, 0.6; the view holds class 0 twice, class 1 once,
    # class 2 not at all: P = {0, 1}, sum of shares 0.4 -> class 0 weighs 0.75 (0.375 per frame), class 1 0.25
    weights = class_weights(np.array([0, 1, 0]), class_counts=(30, 10, 60))
    np.testing.assert_allclose(weights, [0.375, 0.25, 0.375])


def test_weighted_accuracy_worked_by_hand():
    # classes 0 (shares 0.5), 1 (0.3), 2 (0.2); the view: class 0 frames right, wrong, right, right (a_0 = 3/4),
    # class 1 one frame wrong (a_1 = 0), class 2 two frames right (a_2 = 1)
    # weighted accuracy = 0.5 * 3/4 + 0.3 * 0 + 0.2 * 1 = 0.575 (the unweighted accuracy is 5/7 = 0.714)
    labels = np.array([0, 0, 0, 0, 1, 2, 2])
    correct = np.array([True, False, True, True, False, True, True])
    weights = class_weights(labels, class_counts=(50, 30, 20))
    assert weights.sum() == pytest.approx(1.0, abs=1e-15)
    assert weighted_accuracy(correct, weights) == pytest.approx(0.575, abs=1e-15)


def test_summary_scores_only_the_view_and_reports_both_accuracies():
    sizes = np.array([[20, 20], [20, 20], [64, 64], [20, 20], [64, 64]])
    labels = np.array([0, 0, 1, 1, 1])
    predicted = np.array([0, 1, 0, 1, 0])     # frames 2 and 4 are wrong but outside the view
    view = hard_view(sizes, labels, class_counts=(1, 3))
    figures = summary(view, labels, predicted, num_classes=2)
    assert figures["images"] == 3 and figures["classes"] == 2
    assert figures["accuracy"] == pytest.approx(2 / 3)
    assert figures["weighted_accuracy"] == pytest.approx(0.25 * 0.5 + 0.75 * 1.0)
    assert figures["per_class"] == [{"class_id": 0, "n": 2, "accuracy": 0.5}, {"class_id": 1, "n": 1, "accuracy": 1.0}]


def test_an_empty_view_has_no_accuracy():
    view = hard_view(np.full((3, 2), 64), np.array([0, 1, 2]))
    figures = summary(view, np.array([0, 1, 2]), np.array([0, 1, 2]), num_classes=43)
    assert figures["images"] == 0 and np.isnan(figures["weighted_accuracy"]) and np.isnan(figures["accuracy"])


def test_the_default_weights_are_train_ps_class_shares():
    labels = np.arange(43)
    np.testing.assert_allclose(class_weights(labels), np.array(TRAIN_CLASS_COUNTS) / 34799, rtol=1e-12)


def write_pickle(path, sizes):
    n = len(sizes)
    data = {"features": np.zeros((n, 32, 32, 3), np.uint8), "labels": np.zeros(n, np.uint8),
            "sizes": np.array(sizes, np.int32), "coords": np.tile(np.array([1, 1, 10, 10], np.int32), (n, 1))}
    path.write_bytes(pickle.dumps(data))
    return path


def test_sizes_are_read_from_a_pickle_split(tmp_path):
    path = write_pickle(tmp_path / "valid.p", [[20, 25], [40, 41]])
    np.testing.assert_array_equal(read_sizes(path, 2), [[20, 25], [40, 41]])


def test_a_split_that_is_not_a_pickle_has_no_sizes(tmp_path):
    assert read_sizes(tmp_path / "Final_Test", 5) is None


def test_sizes_that_do_not_fit_the_split_are_refused_naming_the_file(tmp_path):
    path = write_pickle(tmp_path / "valid.p", [[20, 25]])
    with pytest.raises(DataError, match="valid.p"):
        read_sizes(path, 3)


def test_the_train_class_counts_are_train_ps():
    folder = os.environ.get("NPNET_DATA")
    if not folder or not (Path(folder) / "train.p").is_file():
        pytest.skip("NPNET_DATA with train.p is not set")
    from npnet.data import read_pickle
    counts = np.bincount(read_pickle(Path(folder) / "train.p").labels, minlength=43)
    np.testing.assert_array_equal(counts, TRAIN_CLASS_COUNTS)
