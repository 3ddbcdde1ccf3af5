"""python -m npnet.convert MODEL OUT: the format by OUT's extension, what is assumed said in the summary,
every mistake one line and exit status 2."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from npnet.io import checkpoint
from npnet.cli.boundary import run
from npnet.convert.__main__ import PROG, main
from npnet.data.preprocessing import preprocess

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def convert(*argv):
    return run(PROG, main, [str(arg) for arg in argv])


def test_a_keras_file_becomes_an_npnet_checkpoint_with_keras_logits(tmp_path, capsys):
    out = tmp_path / "model.h5"
    assert convert(FIXTURES / "keras2.h5", out) == 0
    printed = capsys.readouterr().out
    assert "preprocessing: seed (x / 255 - 0.5) assumed" in printed and "final softmax: left out" in printed
    assert "source: Keras HDF5" in printed and f"wrote {out}" in printed
    model, metadata = checkpoint.load(out)
    stored = np.load(FIXTURES / "keras2_logits.npz")
    logits = model.forward(preprocess(stored["images"], metadata["preprocessing"]))
    assert np.abs(logits - stored["logits"]).max() / np.abs(stored["logits"]).max() < 1e-5
    assert metadata["keras_version"] == "2.21.0"


def test_a_chosen_preprocessing_is_recorded_and_not_called_assumed(tmp_path, capsys):
    out = tmp_path / "model.h5"
    assert convert(FIXTURES / "keras3.keras", out, "--preprocessing", '{"name": "image_standardize"}') == 0
    assert "preprocessing: image_standardize\n" in capsys.readouterr().out
    assert checkpoint.load(out)[1]["preprocessing"] == {"name": "image_standardize"}


@pytest.mark.parametrize("argv, message", [
    (["model.xyz"], "model.xyz: unknown output format '.xyz'; use .h5 (npnet checkpoint), .onnx (ONNX), .pt2"),
    (["model.pt2", "--with-preprocessing"], "--with-preprocessing applies to .onnx output only"),
    (["model.h5", "--preprocessing", "{oops"], "--preprocessing: not a valid JSON spec"),
    (["model.h5", "--preprocessing", "sharpen"], "unknown preprocessing 'sharpen'"),
    (["model.h5", "--class-names", "missing.csv"], "missing.csv: cannot read the sign names"),
    (["model.h5", "--class-names", "signnames.csv"], "class_names has 43 names, but the network has 5 classes"),
])
def test_a_mistake_is_one_line_and_status_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "signnames.csv").write_text("ClassId,SignName\n" + "".join(f"{i},sign {i}\n" for i in range(43)))
    assert convert(FIXTURES / "keras3.h5", tmp_path / argv[0], *argv[1:]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"{PROG}: ") and message in error, error
    assert not (tmp_path / argv[0]).exists()


def test_converting_a_file_onto_itself_is_refused_and_leaves_it_as_it_was(tmp_path, capsys):
    source = tmp_path / "model.h5"
    assert convert(FIXTURES / "keras3.h5", source) == 0
    before = source.read_bytes()
    capsys.readouterr()
    for target in (source, tmp_path / "." / "model.h5"):
        assert convert(source, target) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "is the model being converted" in error, error
    assert source.read_bytes() == before


def test_help_lists_the_output_formats():
    result = subprocess.run([sys.executable, "-m", "npnet.convert", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    for extension in (".h5", ".onnx", ".pt2", "--with-preprocessing"):
        assert extension in result.stdout


def test_onnx_and_pt2_are_written_when_their_packages_are_there(tmp_path):
    pytest.importorskip("onnx")
    assert convert(FIXTURES / "keras3.keras", tmp_path / "m.onnx", "--with-preprocessing") == 0
    pytest.importorskip("torch")
    assert convert(FIXTURES / "keras3.keras", tmp_path / "m.pt2") == 0
    assert (tmp_path / "m.onnx").stat().st_size > 0 and (tmp_path / "m.pt2").stat().st_size > 0


def test_class_names_from_a_csv_are_recorded(tmp_path):
    from npnet.engine.seed_net import seed_net
    from .keras_files import config_of, legacy_h5, weights_of
    source = seed_net()
    model_file = legacy_h5(tmp_path / "seed_model.h5", config_of(source), weights_of(source))
    names = tmp_path / "names.csv"
    names.write_text("ClassId,SignName\n" + "".join(f"{i},sign {i}\n" for i in range(43)))
    assert convert(model_file, tmp_path / "out.h5", "--class-names", names) == 0
    assert checkpoint.load(tmp_path / "out.h5")[1]["class_names"][42] == "sign 42"
