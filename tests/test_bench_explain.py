"""`python -m npnet.bench --explain` builds its table on tiny settings. Speed is never asserted."""
import sys

import pytest

from npnet.bench import explain_bench


def tiny(monkeypatch, with_torch):
    monkeypatch.setattr(explain_bench, "SLOW_REPEATS", 1)
    monkeypatch.setattr(explain_bench, "SLOW_WARMUP", 0)
    return explain_bench.bench_explain(batch_size=4, repeats=1, slow_images=2, with_torch=with_torch,
                                       only={"gradcam", "saliency", "integrated_gradients"}, checkpoint=None)


def test_npnet_only_table_builds(monkeypatch):
    result = tiny(monkeypatch, with_torch=False)
    names = [row["method"] for row in result["rows"]]
    assert names == ["gradcam", "saliency", "integrated_gradients"]
    gradcam = result["rows"][0]
    assert gradcam["npnet"] > 0 and gradcam["images"] == 4
    assert result["rows"][2]["images"] == 2                       # a slow method: fewer images
    for row in result["rows"]:
        assert row["grad_cam"] is None and row["captum"] is None
        assert row["npnet_status"] in ("ok", "missing", "error")
    text = explain_bench.format_explain_table(result)
    assert "gradcam" in text and "pytorch-grad-cam" in text and "Captum" in text


def test_torch_rows_skipped_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)               # `import torch` now fails
    result = tiny(monkeypatch, with_torch=True)
    assert any("torch not installed" in note for note in result["notes"])
    for row in result["rows"]:
        assert row["grad_cam"] is None and row["captum"] is None
        assert row["grad_cam_status"] in ("n/a", "-") and row["captum_status"] in ("n/a", "-")
    assert "torch absent" in explain_bench.format_explain_table(result)


def test_references_run_where_installed(monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("captum")
    result = tiny(monkeypatch, with_torch=True)
    saliency = next(row for row in result["rows"] if row["method"] == "saliency")
    assert saliency["captum"] > 0
