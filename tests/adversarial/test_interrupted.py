"""Interrupted work loses nothing: a save killed at any moment leaves a whole checkpoint, and
SIGINT/SIGTERM during training save last.h5, from which --resume ends bit for bit where an
uninterrupted run ends. (A write error during a save is in tests/test_checkpoint.py:
test_a_failed_save_leaves_the_previous_checkpoint_and_no_temporary_file.)"""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from npnet.io import checkpoint
from npnet.engine.seed_net import seed_net

from .conftest import ROOT, run_script, write_dataset

KILLS = 20


def weights(path):
    model, _ = checkpoint.load(path)
    return model.params()


def same(a, b):
    return list(a) == list(b) and all(np.array_equal(a[key], b[key]) for key in a)


def saving_child(path, models, ready_fd):
    """In a forked child: save the two models alternately, forever, after saying 'ready' once."""
    try:
        checkpoint.save(models[0], path)
        os.write(ready_fd, b"r")
        for i in range(10**9):
            checkpoint.save(models[i % 2], path)
    finally:
        os._exit(0)


def test_a_save_killed_at_random_moments_always_leaves_one_whole_checkpoint(tmp_path):
    models = [seed_net(seed=1), seed_net(seed=2)]
    expected = [model.params() for model in models]
    path = tmp_path / "model.h5"
    rng = np.random.default_rng(2024)
    for _ in range(KILLS):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            saving_child(path, models, write_fd)
        os.close(write_fd)
        assert os.read(read_fd, 1) == b"r"
        os.close(read_fd)
        time.sleep(rng.uniform(0.0, 0.08))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        loaded = weights(path)
        assert same(loaded, expected[0]) or same(loaded, expected[1])
    # the kills did land in the middle of saves: each left its half-written temporary file behind
    assert len(list(tmp_path.glob(".model.h5.*.tmp"))) >= KILLS // 2


# -- SIGINT / SIGTERM during train.py -------------------------------------------------------------
EPOCHS = 2


def train_args(data, out):
    return ["--data", data, "--no-download", "--quiet", "--epochs", EPOCHS, "--batch-size", 8, "--out", out]


@pytest.fixture(scope="module")
def data_and_reference(tmp_path_factory):
    """A small dataset (20 batches an epoch) and the weights an uninterrupted run ends with."""
    folder = tmp_path_factory.mktemp("interrupted")
    data = write_dataset(folder / "data", n_train=160, n_valid=16)
    result = run_script("train.py", *train_args(data, folder / "reference"))
    assert result.returncode == 0, result.stderr
    return data, weights(folder / "reference" / "last.h5")


@pytest.fixture(scope="module", params=[signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def interrupted(request, data_and_reference, tmp_path_factory):
    """train.py sent the signal once it printed its first epoch line: (signal, status, stderr, run folder)."""
    data, _ = data_and_reference
    out = tmp_path_factory.mktemp(request.param.name) / "run"
    command = [sys.executable, str(ROOT / "train.py"), *map(str, train_args(data, out))]
    process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if line.startswith("epoch"):
                process.send_signal(request.param)
                break
        process.stdout.read()
        return request.param, process.wait(timeout=300), process.stderr.read(), out
    finally:
        if process.poll() is None:
            process.kill()


def test_a_signal_during_training_exits_130_with_a_message_and_no_traceback(interrupted):
    signum, status, stderr, out = interrupted
    assert status == 130 and "Traceback" not in stderr
    assert f"{signum.name}: stopping after this batch" in stderr
    assert f"saved {out}/last.h5" in stderr and "resume with:" in stderr


def test_a_signal_during_training_saves_last_h5_after_the_current_batch(interrupted):
    _, _, _, out = interrupted
    _, metadata = checkpoint.load(out / "last.h5")
    epoch, batch = metadata["position"]
    assert epoch == 1 and batch >= 1  # inside the second epoch, after a whole batch


def test_resuming_an_interrupted_run_reaches_the_uninterrupted_weights_bit_for_bit(data_and_reference, interrupted):
    data, reference = data_and_reference
    _, _, _, out = interrupted
    result = run_script("train.py", "--data", data, "--no-download", "--quiet", "--resume", out)
    assert result.returncode == 0, result.stderr
    assert same(weights(out / "last.h5"), reference)


def wait_for_numpy(child, timeout=60):
    """Until the child has loaded numpy's compiled core: its imports are under way (the tools hold
    Ctrl-C from before that import), and Python's own start-up, when SIGINT still kills, is over."""
    maps = f"/proc/{child.pid}/maps"
    if not os.path.exists(maps):
        pytest.skip("needs /proc to see when the child is importing")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        with open(maps) as handle:
            if "_multiarray_umath" in handle.read():
                return
        time.sleep(0.002)
    pytest.fail("the child never loaded numpy")


@pytest.mark.parametrize("script, args", [
    ("explain.py", ["faithfulness", "--model", "MODEL", "--data", "DATA", "--out", "OUT"]),
    ("train.py", ["--data", "DATA", "--out", "OUT"]),
])
@pytest.mark.parametrize("delay", [0.0, pytest.param(0.05, marks=pytest.mark.slow),
                                   pytest.param(0.2, marks=pytest.mark.slow)])
def test_ctrl_c_while_the_tool_starts_is_one_line_and_status_130(tmp_path, checkpoint_file, script, args, delay):
    data = write_dataset(tmp_path / "data")
    places = {"MODEL": checkpoint_file, "DATA": data / "valid.p" if script == "explain.py" else data,
              "OUT": tmp_path / "out"}
    child = subprocess.Popen([sys.executable, str(ROOT / script), *(str(places.get(a, a)) for a in args)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_numpy(child)
    time.sleep(delay)                   # the tool is still importing its modules (about 0.7 s in all here)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert "Traceback" not in err and err.endswith(f"{script}: stopped\n"), err
