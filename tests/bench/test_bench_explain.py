"""`python -m npnet.bench --explain` builds its table on tiny settings. Speed is never asserted."""
import importlib.util
import json
import subprocess
import sys

import pytest

from npnet.bench import explain_bench
from npnet.bench.against_torch import RUN_AS_MAIN


def tiny(monkeypatch, with_torch):
    monkeypatch.setattr(explain_bench, "SLOW_REPEATS", 1)
    monkeypatch.setattr(explain_bench, "SLOW_WARMUP", 0)
    return explain_bench.bench_explain(batch_size=4, repeats=1, slow_images=2, with_torch=with_torch,
                                       only={"gradcam", "saliency", "integrated_gradients"}, checkpoint=None,
                                       as_shipped=False)


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


def test_as_shipped_column_comes_from_a_fresh_process_without_npnets_settings(monkeypatch):
    seen = {}

    def fake_run(command, env, **kwargs):
        seen.update(command=command, env=env)
        figures = {"img_per_s": {"gradcam": 11.0, "saliency": 22.0}, "notes": ["a note"]}
        return subprocess.CompletedProcess(command, 0, stdout=json.dumps(figures), stderr="")

    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")          # the user's own: passed on
    monkeypatch.setattr(explain_bench.runtime, "set_here", ["OMP_WAIT_POLICY"])
    monkeypatch.setattr(explain_bench.subprocess, "run", fake_run)
    shipped = explain_bench.bench_as_shipped(["gradcam", "saliency"], batch_size=4, repeats=1, slow_images=2)
    assert shipped["img_per_s"] == {"gradcam": 11.0, "saliency": 22.0}
    assert "OMP_WAIT_POLICY" not in seen["env"] and seen["env"]["OPENBLAS_CORETYPE"] == "Haswell"
    assert seen["command"][3] == explain_bench.AS_SHIPPED_SCRIPT
    assert seen["command"][seen["command"].index("--methods") + 1] == "gradcam,saliency"


def test_ratio_as_shipped_is_npnet_over_the_fresh_process_figure():
    row = {"npnet": 30.0, "grad_cam": 10.0, "captum": None, "as_shipped": 20.0}
    assert explain_bench.ratio(row) == 3.0
    assert explain_bench.ratio_as_shipped(row) == 1.5
    assert explain_bench.ratio_as_shipped({**row, "as_shipped": None}) is None


def test_as_shipped_script_imports_nothing_of_npnet():
    pytest.importorskip("torch")
    report = ("import atexit, sys; "
              "atexit.register(lambda: print([m for m in sys.modules if m.startswith('npnet')]))\n")
    command = [sys.executable, "-c", report + RUN_AS_MAIN, explain_bench.AS_SHIPPED_SCRIPT, "--threads", "1",
               "--methods", "saliency", "--batch-size", "2", "--repeats", "1", "--warmup", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, last = done.stdout.strip().splitlines()[-2:]
    assert last == "[]"
    figures = json.loads(first)
    if importlib.util.find_spec("captum") is not None:
        assert figures["img_per_s"]["saliency"] > 0
    else:
        assert figures["img_per_s"]["saliency"] is None and "saliency" in figures["notes"][-1]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")       # pytorch-grad-cam's numpy calls on tensors
def test_rise_and_road_are_timed_beside_torchray_and_pytorch_grad_cam_where_installed(monkeypatch):
    from npnet.bench import rise_road_bench
    monkeypatch.setattr(rise_road_bench, "RISE_SETTINGS", {**rise_road_bench.RISE_SETTINGS, "masks": 20})
    monkeypatch.setattr(rise_road_bench, "WARMUP", 0)
    monkeypatch.setattr(rise_road_bench, "REPEATS", 1)
    result = explain_bench.bench_explain(batch_size=4, repeats=1, slow_images=2, with_torch=True,
                                         only={"rise", "road"}, checkpoint=None, as_shipped=False)
    assert result["rows"] == [] and [row["method"] for row in result["rise_road"]] == ["rise", "road"]
    assert all(row["npnet"] > 0 and row["images"] == 2 for row in result["rise_road"])
    installed = {"rise": importlib.util.find_spec("torchray"), "road": importlib.util.find_spec("pytorch_grad_cam")}
    for row in result["rise_road"]:
        if installed[row["method"]] is not None and importlib.util.find_spec("torch") is not None:
            assert row["reference"] > 0, result["notes"]
    text = explain_bench.format_explain_table(result)
    assert "RISE and ROAD" in text and "TorchRay" in text
