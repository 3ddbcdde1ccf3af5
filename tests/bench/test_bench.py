"""The benchmark runs end to end on tiny settings. Speed is never asserted here, only that every
figure is there and positive."""
import json
import os
import subprocess
import sys

import pytest

from npnet import bench
from npnet.bench import against_torch

FIGURES = ("train_img_per_s", "infer_img_per_s", "gradcam_img_per_s", "first_call_s", "peak_rss_mb")


def test_bench_json_has_every_figure(tmp_path):
    """`python -m npnet.bench` as a user runs it, first-call subprocess included."""
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "npnet.bench", "--batch-size", "8", "--repeats", "1",
                           "--json", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert json.loads(out.read_text()) == printed
    for key in FIGURES:
        assert printed[key] > 0, key
    assert printed["batch_size"] == 8 and printed["repeats"] == 1 and printed["warmup"] >= 1
    assert printed["threads"]["numba"] >= 1
    assert set(printed["threads"]["env"]) == set(bench.THREAD_ENV)


def test_compare_without_torch_prints_a_note_and_succeeds(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)              # `import torch` now fails
    monkeypatch.setattr(bench.runtime, "keep_freed_memory", lambda: True)   # leave pytest's malloc alone
    code = bench.main(["--batch-size", "4", "--repeats", "1", "--skip-first-call", "--compare", "torch"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "torch is not installed, comparison skipped" in printed
    assert "train step (img/s)" in printed


def test_compare_with_torch_reports_ratios_and_agreement(monkeypatch, capsys):
    pytest.importorskip("torch")
    monkeypatch.setattr(bench.runtime, "keep_freed_memory", lambda: True)
    code = bench.main(["--batch-size", "8", "--repeats", "1", "--skip-first-call", "--compare", "torch",
                       "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("train", "infer", "gradcam"):
        assert result["torch"][f"{key}_img_per_s"] > 0 and result["ratios"][key] > 0
        assert result["torch_as_shipped"][f"{key}_img_per_s"] > 0 and result["ratios_as_shipped"][key] > 0
    check = result["correctness"]
    assert len(check["grads_max_rel_diff"]) == 14
    assert check["logits_max_abs_diff"] < 1e-4      # a sanity bound; tests/engine/test_against_torch.py is exact
    assert "first_call_s" not in result


def test_bench_reports_the_openblas_kernels_the_environment_chose():
    # Nehalem (SSE4.2) kernels run on any x86-64 CPU of the last 15 years, so asking for them is safe
    script = "import npnet.bench as b; print(b.blas_core())"
    env = {**os.environ, "OPENBLAS_CORETYPE": "Nehalem"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Nehalem"


CPUINFO = """processor\t: 0
model name\t: Example CPU @ 2.0GHz
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw amx_tile
processor\t: 1
model name\t: Example CPU @ 2.0GHz
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512bw amx_tile
"""


def test_bench_names_the_cpu_and_its_vector_flags_in_a_fixed_order():
    described = bench.cpu_description(CPUINFO)
    assert described == {"model": "Example CPU @ 2.0GHz",
                         "vector_flags": ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "amx_tile"]}


def test_bench_table_prints_the_cpu_line(monkeypatch, capsys):
    monkeypatch.setattr(bench.runtime, "keep_freed_memory", lambda: True)
    monkeypatch.setattr(bench.cli, "cpu_description", lambda: bench.cpu_description(CPUINFO))
    assert bench.main(["--batch-size", "4", "--repeats", "1", "--skip-first-call"]) == 0
    assert "cpu: Example CPU @ 2.0GHz; vector flags: sse4_2 avx avx2 fma avx512f avx512bw amx_tile" \
        in capsys.readouterr().out


def test_torch_as_shipped_starts_without_the_settings_npnet_made(monkeypatch):
    seen = {}

    def fake_run(command, env, **kwargs):
        seen.update(command=command, env=env)
        figures = {"train_img_per_s": 1.0, "infer_img_per_s": 2.0, "gradcam_img_per_s": 3.0}
        return subprocess.CompletedProcess(command, 0, stdout=json.dumps(figures), stderr="")

    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")          # the user's own: passed on
    monkeypatch.setattr(bench.runtime, "set_here", ["OMP_WAIT_POLICY"])
    monkeypatch.setattr(against_torch.subprocess, "run", fake_run)
    figures = against_torch.bench_torch_as_shipped(batch_size=4, repeats=1)
    assert figures["infer_img_per_s"] == 2.0
    assert "OMP_WAIT_POLICY" not in seen["env"] and seen["env"]["OPENBLAS_CORETYPE"] == "Haswell"
    assert seen["command"][3] == against_torch.AS_SHIPPED_SCRIPT


def test_torch_as_shipped_script_imports_nothing_of_npnet():
    pytest.importorskip("torch")
    # started as the benchmark starts it, with --help so that it stops after its imports
    report = ("import atexit, sys; "
              "atexit.register(lambda: print([m for m in sys.modules if m.startswith('npnet')]))\n")
    script = report + against_torch.RUN_AS_MAIN
    command = [sys.executable, "-c", script, against_torch.AS_SHIPPED_SCRIPT, "--help"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--threads" in done.stdout                           # the script itself ran
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_compare_with_onnxruntime_times_inference_of_the_exported_net(monkeypatch, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr(bench.runtime, "keep_freed_memory", lambda: True)
    code = bench.main(["--batch-size", "8", "--repeats", "1", "--skip-first-call", "--compare", "onnxruntime",
                       "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["onnxruntime"]["infer_img_per_s"] > 0 and result["ratios_onnxruntime"]["infer"] > 0
    assert set(result["ratios_onnxruntime"]) == {"infer"}           # ONNX Runtime only infers here
    assert result["onnxruntime"]["threads"] == result["threads"]["numba"]
    assert result["onnxruntime"]["logits_max_abs_diff"] < 1e-4      # the same weights


def test_the_table_shows_a_dash_where_an_engine_has_no_figure():
    figures = {"train_img_per_s": 10.0, "infer_img_per_s": 20.0, "forward_img_per_s": 15.0,
               "gradcam_img_per_s": 5.0}
    result = {"batch_size": 8, "repeats": 1, "peak_rss_mb": 1.0, **figures,
              "threads": {"numba": 2, "numba_layer": "omp", "blas": 2, "cpu_count": 2, "env": {}},
              "onnxruntime": {"infer_img_per_s": 40.0, "version": "1", "threads": 2, "logits_max_abs_diff": 0.0},
              "ratios_onnxruntime": {"infer": 0.5}}
    lines = bench.format_table(result).splitlines()
    assert lines[2].split()[-1] == "-" and lines[3].split()[-2:] == ["40", "(0.50x)"]   # train; inference
