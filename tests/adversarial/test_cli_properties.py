"""Property: whatever options and files the tools are given, the outcome is success or exit status 2
with one line on stderr, within a time limit, and nothing is written outside --out.

Both tools run in this process (``main(argv)``), on file trees Hypothesis builds from regular files
of random bytes, empty files, valid images, FIFOs and dangling, looping and escaping symlinks, with
random option values. Derandomized, so CI sees the same cases every time.
"""
import contextlib
import importlib.util
import os
import shutil
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from npnet.explain import METHODS

from .conftest import ROOT, pickle_dict, write_dataset, write_pickle

PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SECONDS = 60        # per run: a tool that hangs (a FIFO read, a symlink loop) fails the property


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tools():
    return {"explain.py": load_script("explain"), "train.py": load_script("train")}


# -- file trees -----------------------------------------------------------------------------------
KINDS = ("random bytes", "empty", "image", "pickle", "fifo", "dangling link", "looping link",
         "link out", "folder")


def make_entry(root, name, kind, rng, outside):
    path = root / name
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "random bytes":
        path.write_bytes(rng.bytes(int(rng.integers(1, 3000))))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "image":
        Image.fromarray(rng.integers(0, 256, (int(rng.integers(1, 60)), int(rng.integers(1, 60)), 3),
                                     dtype=np.uint8)).save(path, format="PNG")
    elif kind == "pickle":
        write_pickle(path, pickle_dict(int(rng.integers(0, 6)), seed=int(rng.integers(0, 100))))
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling link":
        path.symlink_to(root / "nothing-here")
    elif kind == "looping link":
        path.symlink_to(path)
    elif kind == "link out":
        path.symlink_to(outside)
    else:
        path.mkdir()
    return path


NAMES = st.sampled_from(["train.p", "valid.p", "test.p", "signnames.csv", "a.png", "b.jpg", "model.h5",
                         "Train.csv", "x\ny.png", "\x1b[31m.png"])
TREES = st.lists(st.tuples(NAMES, st.sampled_from(KINDS)), min_size=0, max_size=6, unique_by=lambda e: e[0])


def snapshot(root, skip):
    """{path: (size, mtime)} of everything under root except the ``skip`` folder and what it holds."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if Path(folder) / name != skip]
        for name in files + dirs:
            path = Path(folder) / name
            if path == skip:
                continue
            with contextlib.suppress(OSError):
                info = path.lstat()
                seen[path] = (info.st_size, info.st_mtime_ns)
    return seen


class Hung(BaseException):
    """Raised by the alarm: not an OSError (as TimeoutError is), so no boundary can swallow it."""


@contextlib.contextmanager
def time_limit(seconds):
    def expire(signum, frame):
        raise Hung(f"no outcome within {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_tool(tools, capsys, prog, argv):
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with time_limit(SECONDS):
            module = tools[prog]
            status = module.main(argv) if prog == "explain.py" else module.cli.run(prog, module.main, argv)
    except SystemExit as exit_:              # argparse's usage errors exit
        status = exit_.code
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    out, err = capsys.readouterr()
    return status, out, err


def assert_allowed(status, err, argv):
    lines = [line for line in err.splitlines() if not line.startswith("wrote ")]
    assert status in (0, 2), (status, argv, err)
    assert "Traceback" not in err, (argv, err)
    if status == 2:
        # explain.py reports each unreadable image on its own line and goes on with the rest
        assert 1 <= len(lines) <= len(argv), (argv, err)
        assert all(line.startswith(("explain.py", "train.py")) for line in lines), (argv, err)


@contextlib.contextmanager
def tree(seed, entries, valid_first=False):
    """(base, data folder, its entries, a file outside it), removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="npnet-property-"))
    try:
        yield build_tree(base, seed, entries, valid_first)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def build_tree(base, seed, entries, valid_first=False):
    rng = np.random.default_rng(seed)
    outside = base / "outside.txt"
    outside.write_text("precious")
    data = base / "data"
    data.mkdir()
    if valid_first:                  # a dataset train.py accepts, then the entries over it
        write_dataset(data, n_train=16, n_valid=8)
    paths = [make_entry(data, name, kind, rng, outside) for name, kind in entries]
    return base, data, paths, outside


# -- explain.py -----------------------------------------------------------------------------------
OPTION_VALUES = st.sampled_from(["0", "-1", "1", "3", "²", "1e400", "nan", "x", "", "43", "stop", "14 15"])
METHOD_NAMES = st.sampled_from(list(METHODS) + ["", "GradCAM", "all", "gradcam,", "nope"])


@PROPERTY
@given(seed=st.integers(0, 2 ** 16), entries=TREES, command=st.sampled_from(
    ["predict", "gradcam", "attribute", "compare", "features", "evaluate"]),
    value=OPTION_VALUES, method=METHOD_NAMES, out_kind=st.sampled_from(["new", "file", "link out", "nested"]))
def test_explain_succeeds_or_fails_in_one_line_and_writes_only_in_out(tools, capsys, checkpoint_file, seed, entries,
                                                                     command, value, method, out_kind):
    with tree(seed, entries) as (base, data, paths, outside):
        check_explain(tools, capsys, checkpoint_file, base, paths, outside, command, value, method, out_kind)


def check_explain(tools, capsys, checkpoint_file, base, paths, outside, command, value, method, out_kind):
    out = base / "out"
    if out_kind == "file":
        out.write_text("a file")
    elif out_kind == "link out":
        out.mkdir()
        (out / "predictions.jsonl").symlink_to(outside)
    elif out_kind == "nested":
        out = out / "deeper" / "still"
    argv = [command, "--model", str(checkpoint_file), "--out", str(out)]
    files = [str(p) for p in paths] or [str(base / "missing.png")]
    if command in ("evaluate",):
        argv += ["--data", files[0]]
    elif command in ("gradcam", "features"):
        argv += [files[0]]
    else:
        argv += files
    if command == "predict":
        argv += ["--top", value]
    elif command == "gradcam":
        argv += ["--class", value, "--method", method or "gradcam"]
    elif command == "attribute":
        argv += ["--method", method or "saliency", "--option", f"steps={value}"]
    elif command == "compare":
        argv += ["--methods", method if method in ("gradcam", "saliency", "all", "nope", "") else "gradcam",
                 "--true", value]
    before = snapshot(base, base / "out")
    status, _, err = run_tool(tools, capsys, "explain.py", argv)
    assert_allowed(status, err, argv)
    assert snapshot(base, base / "out") == before, argv
    assert outside.read_text() == "precious"


# -- train.py -------------------------------------------------------------------------------------
@PROPERTY
@given(seed=st.integers(0, 2 ** 16), entries=TREES, option=st.sampled_from(
    ["--seed", "--batch-size", "--lr", "--dropout", "--label-smoothing", "--warmup-epochs", "--augment-strength",
     "--low-resolution", "--perspective", "--noise", "--jpeg", "--mixup", "--cutmix", "--swa-epochs", "--holdout-tracks",
     "--distill-weight", "--temperature"]),
    value=OPTION_VALUES, epochs=st.sampled_from(["1", "1", "1", "0", "-2", "x"]), valid_first=st.booleans())
def test_train_succeeds_or_fails_in_one_line_and_writes_only_in_out(tools, capsys, seed, entries, option, value,
                                                                   epochs, valid_first):
    with tree(seed, entries, valid_first) as (base, data, _, outside):
        check_train(tools, capsys, base, data, outside, option, value, epochs)


def check_train(tools, capsys, base, data, outside, option, value, epochs):
    out = base / "run"
    argv = ["--data", str(data), "--no-download", "--quiet", "--epochs", epochs, "--batch-size", "8",
            option, value, "--out", str(out), "--cache-dir", str(out / "cache")]
    before = snapshot(base, out)
    status, _, err = run_tool(tools, capsys, "train.py", argv)
    assert_allowed(status, err, argv)
    assert snapshot(base, out) == before, argv
    assert outside.read_text() == "precious"
