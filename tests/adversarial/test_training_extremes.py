"""train.py at the edges of its options: noise and augmentation at their caps, images the
preprocessing cannot scale, a distillation temperature far out of range, a teacher whose output
overflows. Each run either trains with nothing on stderr, or stops in one line (exit 2) naming what
is wrong; never NumPy's RuntimeWarnings as extra lines."""
import numpy as np
import pytest

from npnet.data.preprocessing import PREPROCESSING_METHODS, fit_preprocessing, preprocess
from npnet.io import checkpoint

from .conftest import assert_one_line_error, pickle_dict, run_script, write_dataset, write_pickle
from .test_huge_weights import huge

AT_THE_CAPS = ["--noise", "64", "--augment", "--augment-strength", "3", "--perspective", "8",
               "--low-resolution", "1", "--jpeg", "1"]


def constant_dataset(folder, value):
    """train.p and valid.p whose every pixel is ``value``: each channel's std is 0."""
    for split, n in (("train", 32), ("valid", 8)):
        content = pickle_dict(n, seed=n)
        content["features"][...] = value
        write_pickle(folder / f"{split}.p", content)
    return folder


def train(data, out, *options):
    return run_script("train.py", "--data", data, "--epochs", "1", "--batch-size", "16", "--out", out,
                      "--quiet", *options, timeout=300)


@pytest.mark.parametrize("preprocessing", PREPROCESSING_METHODS)
def test_training_on_constant_images_at_the_caps_prints_no_warning_line(tmp_path, preprocessing):
    data = constant_dataset(tmp_path / "data", 255)
    result = train(data, tmp_path / "out", "--preprocessing", preprocessing, *AT_THE_CAPS)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_standardize_divides_a_constant_channel_by_one_grey_level():
    images = np.zeros((4, 8, 8, 3), np.uint8)
    images[..., 0] = np.arange(4)[:, None, None] * 60          # red varies, green and blue do not
    spec = fit_preprocessing("standardize", images)
    assert spec["std"][1:] == [1.0, 1.0] and spec["std"][0] > 60
    with np.errstate(all="raise"):
        assert np.isfinite(preprocess(images, spec)).all()


@pytest.mark.parametrize("temperature", ["1e308", "1e-300", "0.09", "100.5", "nan", "inf"])
def test_a_temperature_outside_its_range_is_one_line(tmp_path, checkpoint_file, temperature):
    data = write_dataset(tmp_path / "data")
    result = train(data, tmp_path / "out", "--teacher", checkpoint_file, "--distill-weight", "0.5",
                   f"--temperature={temperature}")
    assert_one_line_error(result, "train.py", "temperature must be in [0.1, 100]")


@pytest.mark.parametrize("temperature", ["0.1", "100"])
def test_distillation_at_the_temperatures_limits_prints_no_warning_line(tmp_path, checkpoint_file, temperature):
    data = write_dataset(tmp_path / "data")
    result = train(data, tmp_path / "out", "--teacher", checkpoint_file, "--distill-weight", "0.5",
                   "--temperature", temperature, *AT_THE_CAPS)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_a_teacher_whose_output_overflows_is_one_line_naming_it(tmp_path):
    teacher = tmp_path / "huge_teacher.h5"
    checkpoint.save(huge(), teacher, preprocessing={"name": "seed"})
    data = write_dataset(tmp_path / "data")
    result = train(data, tmp_path / "out", "--teacher", teacher, "--distill-weight", "0.5")
    assert_one_line_error(result, "train.py", "huge_teacher.h5: the teacher's output is not finite")
