"""Evaluation: accuracy, the confusion matrix (rows true, columns predicted), and the mistakes."""
import numpy as np

from npnet.explain import confusion_matrix, classify, most_confused, per_class, ranked_mistakes
from npnet.explain.mistakes import Evaluation
from npnet.engine.seed_net import seed_net


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    confusion = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 0, 2]), 3)
    np.testing.assert_array_equal(confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])


def test_per_class_accuracy_is_the_diagonal_over_the_row():
    rows = per_class(np.array([[3, 1], [0, 0]]), ["a", "b"])
    assert rows == [{"class_id": 0, "name": "a", "n": 4, "accuracy": 0.75},
                    {"class_id": 1, "name": "b", "n": 0, "accuracy": None}]


def test_most_confused_pairs_are_the_largest_off_diagonal_cells():
    confusion = np.array([[9, 1, 4], [0, 9, 0], [2, 0, 9]])
    assert most_confused(confusion, top=2) == [(0, 2, 4), (2, 0, 2)]


def test_most_confused_leaves_out_empty_cells():
    assert most_confused(np.eye(3, dtype=int) * 5) == []


def test_mistakes_are_ranked_most_confident_first():
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]])
    labels = np.array([0, 0, 0, 1])
    evaluation = Evaluation(probs, probs.argmax(axis=1), labels, None, None)
    np.testing.assert_array_equal(ranked_mistakes(evaluation), [2, 3, 1])


def test_evaluate_agrees_with_the_models_predictions():
    model = seed_net()
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (20, 32, 32, 3)).astype(np.float32)
    predicted = model.predict_proba(x).argmax(axis=1)
    labels = predicted.copy()
    labels[:5] = (labels[:5] + 1) % 43
    evaluation = classify(model, x, labels)
    assert evaluation.accuracy == 0.75
    assert evaluation.confusion.sum() == 20 and np.trace(evaluation.confusion) == 15
