"""The ranking: every column a rank among methods and baselines, marks, the order, the sentence."""
import math

import numpy as np

from npnet.explain.faithfulness import ranking


def row(energy, pointing, deletion, insertion, morf, lerf, rho):
    return {"energy_in_box": energy, "pointing_game": pointing, "deletion_auc": deletion, "insertion_auc": insertion,
            "road_morf": morf, "road_lerf": lerf, "randomization": rho, "seconds_per_image": 0.1}


CENTRE = row(0.8, 1.0, 0.15, 0.75, 0.5, 0.8, 1.0)
RANDOM = row(0.6, 0.6, 0.40, 0.40, 0.7, 0.5, 1.0)


def test_places_rank_one_best_each_way_and_ties_share_the_mean_place():
    np.testing.assert_array_equal(ranking.places([0.2, 0.9, 0.5], "higher"), [3, 1, 2])
    np.testing.assert_array_equal(ranking.places([0.2, 0.9, 0.5], "lower"), [1, 3, 2])
    np.testing.assert_array_equal(ranking.places([-0.6, 0.1, 0.3], "zero"), [3, 1, 2])
    np.testing.assert_array_equal(ranking.places([0.5, 0.7, 0.5, 0.1], "higher"), [2.5, 1, 2.5, 4])


def test_methods_and_baselines_are_ranked_together_per_column_and_averaged():
    methods = {"good": row(0.9, 1.0, 0.10, 0.80, 0.3, 0.9, 0.05), "weak": row(0.7, 0.9, 0.30, 0.50, 0.6, 0.6, -0.2)}
    ranks = ranking.rank_rows(methods, {"centre": CENTRE, "random": RANDOM})
    assert list(ranks) == ["good", "weak", "centre", "random"]
    assert ranks["good"]["energy_in_box"] == 1 and ranks["centre"]["energy_in_box"] == 2
    assert ranks["good"]["pointing_game"] == ranks["centre"]["pointing_game"] == 1.5      # tied at 1.0
    assert ranks["weak"]["randomization"] == 2 and ranks["centre"]["randomization"] == 3.5
    assert ranks["good"]["mean"] == np.mean([ranks["good"][c] for c, _ in ranking.RANKED])
    assert ranks["good"]["marks"] == [] and ranks["centre"]["marks"] == []
    assert ranks["weak"]["marks"] == ["localization"]


def test_a_method_that_keeps_its_maps_on_a_random_net_is_marked():
    ranks = ranking.rank_rows({"sharp": row(0.95, 1.0, 0.1, 0.8, 0.2, 0.9, 0.6),
                               "anti": row(0.95, 1.0, 0.1, 0.8, 0.2, 0.9, -0.5)}, {"centre": CENTRE})
    assert ranks["sharp"]["marks"] == ["randomization"] and ranks["anti"]["marks"] == ["randomization"]


def test_missing_values_are_left_out_of_that_columns_ranks():
    old = {key: value for key, value in row(0.9, 1.0, 0.1, 0.8, 0, 0, 0.1).items() if not key.startswith("road")}
    ranks = ranking.rank_rows({"old": old, "none": {"energy_in_box": None, "randomization": math.nan}},
                              {"centre": CENTRE})
    assert "road_morf" not in ranks["old"] and ranks["old"]["mean"] == np.mean([1, 1.5, 1, 1, 1])
    assert ranks["none"]["mean"] is None and ranks["none"]["marks"] == ["localization"]


def test_the_order_puts_unmarked_methods_first_each_group_by_mean_rank():
    methods = {"marked_best": row(0.99, 1.0, 0.05, 0.9, 0.1, 0.95, 0.9), "clean_second": row(0.85, 1.0, 0.2, 0.7, 0.5, 0.7, 0.0),
               "clean_first": row(0.9, 1.0, 0.1, 0.8, 0.3, 0.9, 0.1), "nothing": {}}
    ranks = ranking.rank_rows(methods, {"centre": CENTRE, "random": RANDOM})
    assert ranking.ranking(methods, ranks) == ["clean_first", "clean_second", "marked_best", "nothing"]
    sentence = ranking.read_first(methods, ranks, count=2)
    assert sentence.startswith("Read clean_first and clean_second first: the best mean rank over the 7 columns")
    assert "marked_best" not in sentence


def test_when_every_method_is_marked_the_sentence_says_so():
    methods = {"a": row(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9)}
    sentence = ranking.read_first(methods, ranking.rank_rows(methods, {"centre": CENTRE}))
    assert sentence.startswith("No method both beats the centred blob") and "a has the best mean rank" in sentence
