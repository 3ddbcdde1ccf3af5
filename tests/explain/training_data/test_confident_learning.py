"""The label audit's math (npnet.explain.training_data.confident_learning): a hand-worked case, equality
with cleanlab's find_label_issues, the noise injector and the recall it reaches on informative pred_probs."""
import numpy as np
import pytest

from npnet.explain.training_data import confident_learning as cl

# Hand-worked case: N=10, K=3.
#   label 0: n0..n3, t0 = (.80 + .70 + .50 + .10) / 4 = .525
#   label 1: n4..n6, t1 = (.80 + .70 + .15) / 3      = .55
#   label 2: n7..n9, t2 = (.60 + .44 + .18) / 3      = .40667
# Believed class (p >= t): n0, n1 -> 0; n2 -> none (.50 < .525, .30 < .55, .20 < .407), not counted;
# n3 -> 1; n4, n5 -> 1; n6 -> 2; n7 -> 2; n8 -> 1 and 2 both confident, argmax .56 -> 1; n9 -> 0.
HAND_LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
HAND_PROBS = np.array([
    [0.80, 0.10, 0.10], [0.70, 0.20, 0.10], [0.50, 0.30, 0.20], [0.10, 0.80, 0.10],
    [0.10, 0.80, 0.10], [0.20, 0.70, 0.10], [0.10, 0.15, 0.75],
    [0.10, 0.30, 0.60], [0.00, 0.56, 0.44], [0.72, 0.10, 0.18]])
HAND_THRESHOLDS = [0.525, 0.55, 1.22 / 3]
HAND_JOINT = [[2, 1, 0],    # given 0: n0, n1 -> 0; n3 -> 1
              [0, 2, 1],    # given 1: n4, n5 -> 1; n6 -> 2
              [1, 1, 1]]    # given 2: n9 -> 0; n8 -> 1; n7 -> 2
# Calibrated: row 0 scaled to its 4 labels, [2, 1, 0] * 4/3 = [2.67, 1.33, 0] -> [3, 1, 0];
# rows 1 and 2 already hold their 3 labels; the total is 10 = N.
HAND_CALIBRATED = [[3, 1, 0], [0, 2, 1], [1, 1, 1]]
# One to remove per off-diagonal cell, each the largest margin p[other] - p[given] in its row:
# n3 (0 -> 1, .70), n6 (1 -> 2, .60), n9 (2 -> 0, .54), n8 (2 -> 1, .12); none has argmax = label.
# Ranked by self-confidence: n3 .10, n6 .15, n9 .18, n8 .44.
HAND_ISSUES = [3, 6, 9, 8]


def test_thresholds_are_the_mean_probability_of_each_class_over_its_labelled_images():
    np.testing.assert_allclose(cl.per_class_thresholds(HAND_LABELS, HAND_PROBS), HAND_THRESHOLDS)


def test_confident_joint_of_hand_worked_case_uncalibrated():
    np.testing.assert_array_equal(cl.confident_joint(HAND_LABELS, HAND_PROBS, calibrate=False), HAND_JOINT)


def test_confident_joint_of_hand_worked_case_calibrated_keeps_label_counts():
    joint = cl.confident_joint(HAND_LABELS, HAND_PROBS)
    np.testing.assert_array_equal(joint, HAND_CALIBRATED)
    np.testing.assert_array_equal(joint.sum(axis=1), np.bincount(HAND_LABELS))


def test_find_label_issues_of_hand_worked_case():
    np.testing.assert_array_equal(cl.find_label_issues(HAND_LABELS, HAND_PROBS), HAND_ISSUES)


def test_self_confidence_and_suggested_labels_read_the_given_and_the_argmax_column():
    assert cl.self_confidence(HAND_LABELS, HAND_PROBS).tolist() == [
        row[label] for row, label in zip(HAND_PROBS.tolist(), HAND_LABELS)]
    assert cl.suggested_labels(HAND_PROBS).tolist() == [
        max(range(3), key=row.__getitem__) for row in HAND_PROBS.tolist()]


def noisy_case(num_examples, num_classes, kind, seed):
    """(labels, pred_probs): Dirichlet pred_probs leaning to a true class, 15% of labels flipped.
    kind "ties": probabilities on a 1/20 grid, so self-confidences repeat; "rare": class 0 has one
    image, class 1 two, class 2 none if K > 3; "float32": pred_probs in float32."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, num_classes, num_examples)
    probs = rng.dirichlet(np.full(num_classes, 0.5), num_examples)
    probs[np.arange(num_examples), true] += 2 * rng.random(num_examples)
    probs /= probs.sum(axis=1, keepdims=True)
    if kind == "ties":
        probs = rng.multinomial(20, probs) / 20
    labels, _ = cl.inject_label_noise(true, 0.15, seed, num_classes)
    if kind == "rare":
        labels[labels < 3] = 3 if num_classes > 3 else 2
        labels[:3] = [0, 1, 1]
    return labels, probs.astype(np.float32) if kind == "float32" else probs


CASES = [(n, k, kind) for n in (200, 2000) for k in (3, 10, 43) for kind in ("plain", "ties", "rare", "float32")]


@pytest.fixture(scope="module")
def cleanlab():
    return pytest.importorskip("cleanlab", reason="the training-data extra: pip install -e '.[training-data]'")


@pytest.mark.parametrize("num_examples,num_classes,kind", CASES)
def test_confident_joint_equals_cleanlab(cleanlab, num_examples, num_classes, kind):
    from cleanlab.count import compute_confident_joint
    labels, probs = noisy_case(num_examples, num_classes, kind, seed=num_examples + num_classes)
    for calibrate in (False, True):
        np.testing.assert_array_equal(cl.confident_joint(labels, probs, calibrate=calibrate),
                                      compute_confident_joint(labels, probs, calibrate=calibrate))


@pytest.mark.filterwarnings("ignore:May not flag all label issues")
@pytest.mark.parametrize("num_examples,num_classes,kind", CASES)
def test_find_label_issues_equals_cleanlab_same_indices_same_order(cleanlab, num_examples, num_classes, kind):
    from cleanlab.filter import find_label_issues
    labels, probs = noisy_case(num_examples, num_classes, kind, seed=num_examples + num_classes)
    ours = cl.find_label_issues(labels, probs)
    theirs = find_label_issues(labels, probs, filter_by="prune_by_noise_rate",
                               return_indices_ranked_by="self_confidence", n_jobs=1)
    assert len(ours) > 0
    np.testing.assert_array_equal(ours, theirs)
    if kind == "ties":  # the ranking really had equal self-confidences to order
        scores = cl.self_confidence(labels, probs)[ours]
        assert len(np.unique(scores)) < len(scores)


@pytest.mark.filterwarnings("ignore:May not flag all label issues")
@pytest.mark.parametrize("min_examples_per_class", [1, 5, 40])
def test_find_label_issues_min_examples_per_class_equals_cleanlab(cleanlab, min_examples_per_class):
    from cleanlab.filter import find_label_issues
    labels, probs = noisy_case(400, 10, "rare", seed=3)
    np.testing.assert_array_equal(
        cl.find_label_issues(labels, probs, min_examples_per_class=min_examples_per_class),
        find_label_issues(labels, probs, filter_by="prune_by_noise_rate", return_indices_ranked_by="self_confidence",
                          min_examples_per_class=min_examples_per_class, n_jobs=1))


def test_inject_label_noise_flips_exactly_the_asked_count_never_to_the_same_class():
    labels = np.random.default_rng(0).integers(0, 43, 1001)
    noisy, flipped = cl.inject_label_noise(labels, 0.1, seed=1, num_classes=43)
    assert flipped.sum() == round(0.1 * 1001) == 100
    np.testing.assert_array_equal(noisy != labels, flipped)   # flipped ones all changed, the rest kept
    assert noisy.min() >= 0 and noisy.max() < 43


def test_inject_label_noise_is_reproducible_from_its_seed():
    labels = np.arange(500) % 7
    first, second, other = (cl.inject_label_noise(labels, 0.2, seed, 7) for seed in (5, 5, 6))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[1], other[1])


def test_find_label_issues_recovers_most_flipped_labels_when_pred_probs_are_informative():
    rng = np.random.default_rng(11)
    true = rng.integers(0, 10, 2000)
    probs = rng.dirichlet(np.ones(10), 2000) * 0.3     # true class gets 0.7 plus its share of 0.3
    probs[np.arange(2000), true] += 0.7
    labels, flipped = cl.inject_label_noise(true, 0.05, seed=12, num_classes=10)
    found = cl.find_label_issues(labels, probs)
    precision, recall = cl.precision_recall(found, flipped)
    hits = len(set(found.tolist()) & set(np.flatnonzero(flipped).tolist()))
    assert (precision, recall) == (hits / len(found), hits / 100)
    assert recall >= 0.8


def test_precision_recall_of_empty_findings():
    assert cl.precision_recall([], np.array([False, True])) == (0.0, 0.0)
    assert cl.precision_recall([], np.array([False, False])) == (1.0, 1.0)
    assert cl.precision_recall([0, 1], np.array([False, True, True])) == (0.5, 0.5)


BAD_INPUTS = {
    "NaN in pred_probs": (HAND_LABELS, np.where(HAND_PROBS == 0.0, np.nan, HAND_PROBS)),
    "pred_probs 1-D": (HAND_LABELS, HAND_PROBS[:, 0]),
    "labels shorter than pred_probs": (HAND_LABELS[:-1], HAND_PROBS),
    "labels 2-D": (HAND_LABELS[:, None], HAND_PROBS),
    "rows not summing to 1": (HAND_LABELS, HAND_PROBS * 0.9),
    "negative probability": (HAND_LABELS, HAND_PROBS + np.array([-0.1, 0.05, 0.05])),
    "float labels": (HAND_LABELS.astype(float), HAND_PROBS),
    "label out of range": (np.where(HAND_LABELS == 2, 3, HAND_LABELS), HAND_PROBS),
    "integer pred_probs": (HAND_LABELS, np.eye(3, dtype=int)[HAND_LABELS]),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
@pytest.mark.parametrize("function", [cl.find_label_issues, cl.confident_joint, cl.per_class_thresholds])
def test_bad_inputs_raise_value_error(function, name):
    labels, probs = BAD_INPUTS[name]
    with pytest.raises(ValueError):
        function(labels, probs)
