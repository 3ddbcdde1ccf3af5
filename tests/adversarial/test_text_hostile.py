"""User-supplied text never drives matplotlib's mathtext or the terminal.

A file name, a class name or a layer name reaches figures and printed lines. Text holding ``$...$``
or a backslash is drawn as written (``npnet.io.files.render_png``); a control character is printed as
its escape (``npnet.cli.boundary``), and a name's own newline cannot forge a line.
"""
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from npnet.cli import boundary
from npnet.data.names import OFFICIAL_NAMES
from npnet.engine.seed_net import seed_net
from npnet.io import checkpoint
from npnet.io.files import render_png

from .conftest import run_script, write_dataset

#: the characters that break mathtext or a terminal, among ordinary ones
HOSTILE = st.text(alphabet=st.sampled_from(list("$\\^_{}ab 1\x1b\x07\n\r\t\x08\u2028\u202e")), max_size=24)
MATHTEXT_BREAKERS = ["$", "$x^$", r"$\frac$", "a$b", r"\$\\", "$$", "50$ \\undefined{}"]


def figure_with(text):
    """A figure holding ``text`` everywhere a name goes: title, axis labels, tick labels, a legend."""
    figure = Figure(figsize=(3, 2))
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], label="line " + text)
    ax.set_title(text)
    ax.set_xlabel(text)
    ax.set_xticks([0, 1], [text, text + "2"])
    ax.legend()
    figure.suptitle(text)
    return figure


def is_png(data):
    return data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("text", MATHTEXT_BREAKERS)
def test_text_that_mathtext_cannot_parse_is_drawn_as_written(text):
    buffer = io.BytesIO()
    render_png(figure_with(text), buffer, dpi=40)
    assert is_png(buffer.getvalue())


@settings(max_examples=15, deadline=None)
@given(HOSTILE)
def test_any_text_draws_into_a_figure(text):
    buffer = io.BytesIO()
    render_png(figure_with(text), buffer, dpi=30)
    assert is_png(buffer.getvalue())


def printed_through_the_boundary(capsys, *lines):
    def main(argv):
        for line in lines:
            print(line)
        return 0
    assert boundary.run("tool", main, []) == 0
    return capsys.readouterr().out


@settings(max_examples=50, deadline=None)
@given(HOSTILE)
def test_nothing_printed_through_the_boundary_holds_a_control_character(text):
    out = io.StringIO()
    stream = boundary.Escaped(out)
    stream.write(text)
    assert all(c.isprintable() or c in "\n\r\t" for c in out.getvalue())
    assert out.getvalue().count("\n") == text.count("\n")


def test_an_escape_sequence_is_printed_as_its_escape(capsys):
    out = printed_through_the_boundary(capsys, "class \x1b[2J\x07 \u202egnp.")
    assert out == "class \\x1b[2J\\x07 \\u202egnp.\n"


def test_the_boundary_gives_the_streams_back(capsys):
    import sys
    before = sys.stdout, sys.stderr
    printed_through_the_boundary(capsys, "x")
    assert (sys.stdout, sys.stderr) == before


@pytest.fixture
def hostile_names_checkpoint(tmp_path):
    names = list(OFFICIAL_NAMES)
    names[:43] = [f"$\\frac{{{k}}}$ \x1b[31mred\x07\nforged line {k}" for k in range(43)]
    path = tmp_path / "hostile names.h5"
    checkpoint.save(seed_net(seed=2), path, class_names=names, preprocessing={"name": "seed"})
    return path


def test_evaluate_prints_hostile_class_names_escaped_on_their_own_lines(tmp_path, hostile_names_checkpoint):
    data = write_dataset(tmp_path / "data")
    result = run_script("explain.py", "evaluate", "--model", hostile_names_checkpoint, "--data",
                        data / "valid.p", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert not any(line.startswith("forged line") for line in result.stdout.splitlines())
    assert "\\x1b[31mred\\x07\\nforged line" in result.stdout
    assert (tmp_path / "out" / "confusion_matrix.png").exists()


def test_a_figure_of_an_image_whose_name_holds_mathtext(tmp_path, hostile_names_checkpoint):
    from PIL import Image
    image = tmp_path / "sign $x^$ \\frac.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(image)
    result = run_script("explain.py", "gradcam", "--model", hostile_names_checkpoint, image,
                        "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert [path.suffix for path in (tmp_path / "out").iterdir()] == [".png"]


def test_the_converters_summary_escapes_layer_names():
    model = seed_net()
    model.layers[0].name = "conv\x1b[2J\nforged"
    text = model.summary(print_fn=None)
    assert "\x1b" not in text and "conv\\x1b[2J\\nforged" in text


def test_log_axis_ticks_are_drawn_as_numbers_not_mathtext(tmp_path):
    """Matplotlib labels log ticks in mathtext; drawn unparsed they would read '$\\mathdefault{10^{0}}$'."""
    from matplotlib.figure import Figure
    from npnet.io.files import write_png
    figure = Figure()
    ax = figure.add_subplot()
    ax.plot([1, 2, 3], [0.2, 3.0, 40.0])
    ax.set_yscale("log")
    write_png(tmp_path / "log.png", figure, dpi=50)
    labels = [tick.get_text() for tick in ax.yaxis.get_ticklabels() + ax.yaxis.get_ticklabels(minor=True)]
    assert "10" in labels and "1" in labels
    assert not any("$" in label or "mathdefault" in label for label in labels)
