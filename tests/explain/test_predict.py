"""predict: the top-k classes of each image with names and probabilities; classes named by users."""
import numpy as np
import pytest

from npnet.io.errors import NpnetError
from npnet.explain import model_class_names, predict, resolve_class, top_k
from npnet.engine.layers import Dense, Flatten
from npnet.engine.model import Sequential
from npnet.engine.seed_net import seed_net

NAMES = ["Stop", "Yield", "No entry"]


def test_top_k_is_sorted_by_probability_with_names():
    probs = np.array([[0.2, 0.5, 0.3]])
    assert [(p.class_id, p.name, p.prob) for p in top_k(probs, 3, NAMES)[0]] == \
        [(1, "Yield", 0.5), (2, "No entry", 0.3), (0, "Stop", 0.2)]


def test_top_k_gives_at_most_k():
    assert len(top_k(np.full((2, 3), 1 / 3), 2, NAMES)[1]) == 2


def test_predict_gives_top_five_per_image_from_the_softmax():
    model = seed_net()
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (3, 32, 32, 3)).astype(np.float32)
    predictions = predict(model, x)
    probs = model.predict_proba(x)
    assert len(predictions) == 3 and all(len(top) == 5 for top in predictions)
    assert predictions[1][0].class_id == probs[1].argmax()
    assert predictions[1][0].prob == pytest.approx(probs[1].max())


def test_predict_uses_the_official_names_for_a_43_class_model():
    top = predict(seed_net(), np.zeros((1, 32, 32, 3), dtype=np.float32), top=43)[0]
    assert {p.name for p in top} >= {"Stop", "Yield", "Speed limit (20km/h)"}


def test_a_model_of_other_classes_gets_numbered_names():
    model = Sequential([Flatten(), Dense(4)], input_shape=(2, 2, 1))
    assert model_class_names(model) == ["class 0", "class 1", "class 2", "class 3"]


def test_uint8_images_are_preprocessed_with_the_spec():
    raw = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    x = raw.astype(np.float32) / 255 - 0.5
    assert predict(seed_net(), raw, preprocessing={"name": "seed"}) == predict(seed_net(), x)


@pytest.mark.parametrize("given, expected", [("2", 2), (0, 0), ("yield", 1), ("NO ENTRY", 2), (" Stop ", 0)])
def test_a_class_is_given_by_id_or_by_name_in_any_case(given, expected):
    assert resolve_class(given, NAMES) == expected


@pytest.mark.parametrize("given", ["3", "-1", "stop sign", ""])
def test_an_unknown_class_is_an_error_listing_the_valid_ones(given):
    with pytest.raises(NpnetError, match=r"0\.\.2 .*0 Stop; 1 Yield; 2 No entry"):
        resolve_class(given, NAMES)
