"""A command that cannot do its work makes no folder and writes no file the user did not ask for."""
from .conftest import assert_one_line_error, run_script, write_dataset


def test_resuming_a_mistyped_folder_makes_no_folder(tmp_path):
    data = write_dataset(tmp_path / "data")
    result = run_script("train.py", "--data", data, "--no-download", "--quiet", "--resume", tmp_path / "rnu" / "x")
    assert_one_line_error(result, "train.py", "rnu/x: no run to resume here (no last.h5)")
    assert not (tmp_path / "rnu").exists()


def test_a_predict_whose_every_image_fails_makes_no_output_folder(tmp_path, checkpoint_file):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    result = run_script("explain.py", "predict", "--model", checkpoint_file, tmp_path / "broken.png",
                        "--out", tmp_path / "out" / "deeper")
    assert result.returncode == 2 and "broken.png: cannot read image" in result.stderr
    assert not (tmp_path / "out").exists()
