"""A cache folder that is a file (``--cache-dir`` given as one, or under one, or an ``OUT/cache``
file): one line naming it and exit 2 before any data is read, for train.py and every explain.py
command that caches. A cache folder that exists but cannot be written costs speed only: one
``tool: warning:`` line, the run goes on."""
import os
import warnings

import pytest

from npnet.cli import boundary
from npnet.data import load_gtsrb
from npnet.io.errors import NpnetWarning

from .conftest import assert_one_line_error, run_script
from .readers import kaggle_folder


@pytest.fixture
def images(tmp_path):
    """A Kaggle-layout folder of 40 small images: decoded, then cached."""
    return kaggle_folder(tmp_path / "kaggle", n=40)


def run(tool, images, checkpoint_file, out, *options):
    if tool == "train.py":
        return run_script("train.py", "--data", images, "--epochs", "1", "--batch-size", "8", "--out", out,
                          "--quiet", *options)
    return run_script("explain.py", tool, "--model", checkpoint_file, "--data", images, "--split", "train",
                      "--out", out, *options)


@pytest.mark.parametrize("tool", ["train.py", "evaluate", "mistakes", "faithfulness"])
def test_a_cache_dir_that_is_a_file_is_one_line(tmp_path, images, checkpoint_file, tool):
    planted = tmp_path / "planted"
    planted.write_text("not a folder")
    result = run(tool, images, checkpoint_file, tmp_path / "out", "--cache-dir", planted)
    prog = "train.py" if tool == "train.py" else "explain.py"
    assert_one_line_error(result, prog, f"{planted}: --cache-dir exists and is not a folder")
    assert planted.read_text() == "not a folder"


def test_a_cache_dir_under_a_file_is_one_line(tmp_path, images, checkpoint_file):
    planted = tmp_path / "planted"
    planted.write_text("not a folder")
    result = run("train.py", images, checkpoint_file, tmp_path / "out", "--cache-dir", planted / "cache")
    assert_one_line_error(result, "train.py", f"--cache-dir cannot be made: {planted} is not a folder")


def test_an_out_cache_that_is_a_file_is_one_line(tmp_path, images, checkpoint_file):
    out = tmp_path / "out"
    out.mkdir()
    (out / "cache").write_text("not a folder")
    result = run("evaluate", images, checkpoint_file, out)
    assert_one_line_error(result, "explain.py", "cache: the cache folder (OUT/cache; choose another with --cache-dir)")


def test_a_dangling_symlink_as_cache_dir_is_one_line(tmp_path, images, checkpoint_file):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    result = run("evaluate", images, checkpoint_file, tmp_path / "out", "--cache-dir", link)
    assert_one_line_error(result, "explain.py", f"{link}: --cache-dir exists and is not a folder")


@pytest.mark.parametrize("tool", ["train.py", "evaluate"])
def test_the_refusal_comes_before_any_data_is_read(tmp_path, images, checkpoint_file, monkeypatch, capsys, tool):
    import npnet.cli.commands.common as common
    from .test_cli_properties import load_script
    script = load_script("train" if tool == "train.py" else "explain")
    def unread(*args, **kwargs):
        pytest.fail("the data was read")
    for module in (script, common):
        for name in ("load_gtsrb", "load_split"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, unread)
    planted = tmp_path / "planted"
    planted.write_text("")
    argv = (["--data", str(images), "--out", str(tmp_path / "out")] if tool == "train.py" else
            [tool, "--model", str(checkpoint_file), "--data", str(images), "--out", str(tmp_path / "out")])
    main = script.main if tool == "train.py" else script.run_command
    assert boundary.run(tool, main, argv + ["--cache-dir", str(planted)]) == 2
    assert capsys.readouterr().err == f"{tool}: {planted}: --cache-dir exists and is not a folder\n"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc, where no folder can be made")
def test_a_cache_that_cannot_be_written_is_one_warning_line(tmp_path, images, checkpoint_file):
    result = run("evaluate", images, checkpoint_file, tmp_path / "out", "--cache-dir", "/proc/npnet-cache")
    assert result.returncode == 0
    [line] = result.stderr.splitlines()
    assert line.startswith("explain.py: warning: /proc/npnet-cache/") and "cannot write the cache" in line


def test_the_library_still_warns_and_returns_the_data(tmp_path, images):
    with pytest.warns(NpnetWarning, match="cannot write the cache"):
        splits = load_gtsrb(images, cache_dir="/proc/npnet-cache", progress=False)
    assert len(splits["train"]) + len(splits["valid"]) == 40


def test_only_the_librarys_notices_are_shortened_to_one_line(capsys):
    def main(argv):
        warnings.warn("a notice\nwith a newline", NpnetWarning)
        warnings.warn("a bug to fix", RuntimeWarning)
        return 0
    handed = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, *rest: handed.append(category)
        assert boundary.run("tool.py", main, []) == 0
    assert capsys.readouterr().err == "tool.py: warning: a notice\\nwith a newline\n"
    assert handed == [RuntimeWarning]                   # Python's own format, as it was
