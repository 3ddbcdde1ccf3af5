"""Class and layer names of thousands of characters, from a checkpoint or a signnames.csv: refused in
one line naming the file and the name, before a figure wraps them into hundreds of title lines (and
matplotlib warns that its axes collapsed) or a line prints them whole. A name at the limit (100
characters) is drawn and printed without a warning line."""
import pytest

from npnet.data import class_names
from npnet.data.names import OFFICIAL_NAMES
from npnet.engine.seed_net import seed_net
from npnet.io import checkpoint
from npnet.io.checkpoint_checks import MAX_NAME_CHARS
from npnet.io.errors import NpnetError

from .conftest import assert_one_line_error, run_script, write_dataset

LONG = 5000


def sign_image(tmp_path):
    from PIL import Image
    path = tmp_path / "sign.png"
    Image.new("RGB", (40, 40), (200, 30, 30)).save(path)
    return path


def names_of(length):
    return [(f"Sign {i} " + "x" * length)[:length] for i in range(43)]


def saved(tmp_path, names=None, layer_name=None):
    model = seed_net(seed=3)
    if layer_name is not None:
        model.layers[0].name = layer_name
    path = tmp_path / "model.h5"
    checkpoint.save(model, path, class_names=names, preprocessing={"name": "seed"})
    return path


@pytest.mark.parametrize("command", ["predict", "gradcam", "attribute", "mistakes"])
def test_a_class_name_of_thousands_of_characters_is_one_line(tmp_path, command):
    model = saved(tmp_path, names_of(LONG))
    target = (["--data", write_dataset(tmp_path / "data") / "valid.p"] if command == "mistakes"
              else [sign_image(tmp_path)] + (["--method", "saliency"] if command == "attribute" else []))
    result = run_script("explain.py", command, "--model", model, *target, "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", f"model.h5: class name 0 has {LONG:,} characters, more than 100")


def test_a_layer_name_of_thousands_of_characters_is_one_line(tmp_path):
    model = saved(tmp_path, list(OFFICIAL_NAMES), layer_name="conv_" + "q" * LONG)
    result = run_script("explain.py", "features", "--model", model, sign_image(tmp_path), "--out", tmp_path / "out")
    assert_one_line_error(result, "explain.py", f"has a name of {LONG + 5:,} characters, more than 100")


def test_a_long_name_in_signnames_csv_is_one_line_naming_it(tmp_path):
    data = write_dataset(tmp_path / "data")
    rows = ["ClassId,SignName"] + [f"{i},{name}" for i, name in enumerate(names_of(LONG))]
    (data / "signnames.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(NpnetError, match=rf"signnames\.csv: class name 0 has {LONG:,} characters"):
        class_names(data)
    result = run_script("train.py", "--data", data, "--epochs", "1", "--out", tmp_path / "out", "--quiet")
    assert_one_line_error(result, "train.py", "signnames.csv: class name 0 has")


@pytest.mark.parametrize("command", ["predict", "gradcam", "mistakes"])
def test_class_names_at_the_limit_are_drawn_and_printed_without_a_warning_line(tmp_path, command):
    model = saved(tmp_path, names_of(MAX_NAME_CHARS))
    target = ["--data", write_dataset(tmp_path / "data") / "valid.p"] if command == "mistakes" else [sign_image(tmp_path)]
    result = run_script("explain.py", command, "--model", model, *target, "--out", tmp_path / "out")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) < 2 * MAX_NAME_CHARS
