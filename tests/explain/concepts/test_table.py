"""The concept table, checked against the sign names (``signnames.csv``, as ``npnet.data.names``), and
the sets drawn from it."""
import numpy as np
import pytest

from npnet.data.names import OFFICIAL_NAMES
from npnet.explain.concepts.table import CONCEPTS, KINDS, concept_classes, concept_set, random_sets

SHAPES = [name for name, concept in CONCEPTS.items() if concept.kind == "shape"]


def classes_named(*words):
    return {c for c, name in enumerate(OFFICIAL_NAMES) if any(word in name for word in words)}


def test_every_concept_names_classes_of_gtsrb_and_a_kind():
    for name, concept in CONCEPTS.items():
        assert concept.kind in KINDS and concept.classes
        assert set(concept.classes) <= set(range(len(OFFICIAL_NAMES))), name


def test_every_class_has_exactly_one_shape():
    for c in range(len(OFFICIAL_NAMES)):
        assert sum(c in CONCEPTS[shape].classes for shape in SHAPES) == 1, OFFICIAL_NAMES[c]


def test_every_speed_limit_is_a_red_bordered_circle_with_digits():
    limits = classes_named("Speed limit (")
    assert len(limits) == 8
    for concept in ("circle", "red border", "digits"):
        assert limits <= set(CONCEPTS[concept].classes)


def test_digits_are_the_signs_with_a_speed_in_their_name():
    assert set(CONCEPTS["digits"].classes) == classes_named("km/h")


def test_the_single_shapes_are_stop_yield_and_priority_road():
    assert [OFFICIAL_NAMES[c] for c in CONCEPTS["octagon"].classes] == ["Stop"]
    assert [OFFICIAL_NAMES[c] for c in CONCEPTS["triangle down"].classes] == ["Yield"]
    assert [OFFICIAL_NAMES[c] for c in CONCEPTS["diamond"].classes] == ["Priority road"]


def test_blue_discs_are_the_mandatory_signs_and_carry_arrows():
    mandatory = classes_named("Turn ", "Ahead only", "Go straight", "Keep ", "Roundabout")
    assert set(CONCEPTS["blue disc"].classes) == mandatory
    assert mandatory | classes_named("curve") == set(CONCEPTS["arrows"].classes)


def test_no_sign_is_both_blue_and_red_bordered():
    assert not set(CONCEPTS["blue disc"].classes) & set(CONCEPTS["red border"].classes)


def test_the_explained_class_is_left_out_of_its_concepts():
    assert 3 in CONCEPTS["digits"].classes and 3 not in concept_classes("digits", excluding=3)
    assert concept_classes("octagon", excluding=14) == []


def test_a_concept_set_holds_only_its_classes_and_never_the_explained_one():
    labels = np.random.default_rng(0).integers(0, 43, 5000)
    drawn = concept_set(labels, "digits", 200, np.random.default_rng(1), excluding=3)
    assert len(drawn) == 200 == len(set(drawn))
    assert set(labels[drawn]) <= set(CONCEPTS["digits"].classes) - {3}


def test_a_concept_set_draws_its_classes_equally_however_many_images_each_has():
    labels = np.r_[np.full(9000, 0), np.full(1000, 1)]                 # 20 and 30 km/h: 9 to 1
    counts = np.bincount(labels[concept_set(labels, "digits", 400, np.random.default_rng(2))], minlength=2)
    assert abs(counts[0] - counts[1]) < 60                              # 200 each, give or take


def test_a_concept_set_is_all_its_images_when_there_are_fewer_than_asked():
    labels = np.r_[np.full(300, 13), np.full(700, 14)]
    assert np.array_equal(concept_set(labels, "octagon", 1000, np.random.default_rng(2)), np.arange(300, 1000))


def test_random_sets_are_seeded_and_hold_distinct_images():
    first = random_sets(100, 5, 30, np.random.default_rng(7))
    again = random_sets(100, 5, 30, np.random.default_rng(7))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert all(len(set(s)) == 30 and s.max() < 100 for s in first)
    assert not all(np.array_equal(first[0], s) for s in first[1:])
    with pytest.raises(ValueError):
        random_sets(10, 1, 11, np.random.default_rng(0))
