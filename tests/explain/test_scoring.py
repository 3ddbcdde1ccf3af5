"""score_methods: every method, then the baselines, each scored by the same chunked code."""
import numpy as np

from npnet.explain.faithfulness import metrics, scoring
from npnet.engine.seed_net import seed_net


def test_every_method_then_the_baselines_is_scored_and_reported_chunk_by_chunk():
    net = seed_net(seed=2)
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (5, 32, 32, 3)).astype(np.float32)
    boxes = np.tile([8.0, 8.0, 24.0, 24.0], (5, 1))
    calls = []
    rows, curves, energies = scoring.score_methods(net, x, boxes, np.arange(5), ["gradcam", "saliency"],
                                                   steps=4, batch_size=2,
                                                   progress=lambda *call: calls.append(call))
    assert list(rows) == ["gradcam", "saliency", "centre", "random"] == list(curves) == list(energies)
    assert calls == [(name, done, 3) for name in rows for done in (1, 2, 3)]     # 5 images, chunks of 2
    assert all(set(row) == set(scoring.COLUMNS) for row in rows.values())
    assert all(curve["deletion"].shape == (5,) for curve in curves.values())
    assert all(curve["road_morf"].shape == curve["road_lerf"].shape == (9,) for curve in curves.values())
    inside = metrics.energy_in_box(metrics.centre_maps(5, 32, 32), boxes)
    np.testing.assert_allclose(energies["centre"], inside)
    assert rows["centre"]["energy_in_box"] == metrics.nan_mean(inside)


def test_road_is_scored_chunk_by_chunk_as_one_call_scores_it():
    from npnet.explain.faithfulness import road
    net = seed_net(seed=2)
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (5, 32, 32, 3)).astype(np.float32)
    boxes = np.tile([8.0, 8.0, 24.0, 24.0], (5, 1))
    classes = np.array([0, 4, 9, 1, 2])
    rows, curves, _ = scoring.score_methods(net, x, boxes, classes, [], seed=7, steps=4, batch_size=2)
    whole = road.road_curves(net, x, metrics.random_maps(5, 32, 32, 7), classes, seed=7)
    for name in ("morf", "lerf"):
        np.testing.assert_array_equal(curves["random"][f"road_{name}"], whole[name].mean(axis=0))
        assert rows["random"][f"road_{name}"] == road.road_area(whole[name], whole["x"]).mean()
