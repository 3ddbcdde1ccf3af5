"""The tutorial notebooks (docs/tutorials/) run from top to bottom, as a reader would run them.

Each notebook is executed by nbclient in a fresh kernel ("python3": ipykernel in this venv, started
with this interpreter) from its own folder, so ``import tutorial_data`` works as it does in Jupyter.
The notebook is read into memory and executed there; the executed copy goes to pytest's tmp_path, so
the committed file stays without outputs. Every claim in a notebook is an assert: an error anywhere
fails the test, with the failing cell in the message.

A first cell, added in memory, checks that the kernel is this venv's python (a "python3" kernelspec
in the user's Jupyter folder would otherwise win and run some other python). The kernels get one
thread each (unless the environment says otherwise): on a shared 2-core machine the numba and BLAS
thread pools of a busy process mostly wait for each other (measured: a gradient check took 10 s
with both pools, 1 s with one thread each).

``make tutorials`` runs these (slow-marked: ``make test`` does not); ``.ci/run`` runs it after ``make test``.
"""
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebooks extra: pip install -e '.[notebooks]'")
nbclient = pytest.importorskip("nbclient", reason="the notebooks extra: pip install -e '.[notebooks]'")

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
#: the notebooks that read GTSRB when NPNET_DATA is set, and draw a synthetic sample otherwise
DATA_NOTEBOOKS = [path for path in NOTEBOOKS if "load_signs" in path.read_text()]
ONE_THREAD = {"NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
CELL_TIMEOUT = 300      # seconds; a whole notebook takes 5-40 s on 2 busy cores


def execute(path, out_dir, monkeypatch):
    """Run the notebook at ``path`` in a new kernel; write the executed copy into ``out_dir``."""
    for key, value in ONE_THREAD.items():
        if key not in os.environ:
            monkeypatch.setenv(key, value)
    notebook = nbformat.read(path, as_version=4)
    # first, in memory only: the kernel must be this venv's python, which has npnet installed
    check = nbformat.v4.new_code_cell(f"import sys\nassert sys.prefix == {sys.prefix!r}, "
                                      "'the python3 kernel runs ' + sys.executable + ', not this venv'")
    check.pop("id", None)                   # the notebooks are nbformat 4.4: cells without ids
    notebook.cells.insert(0, check)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(TUTORIALS)}})
    try:
        client.execute()
    finally:
        nbformat.write(notebook, out_dir / path.name)


def test_notebooks_are_numbered_in_reading_order():
    assert len(NOTEBOOKS) >= 4
    assert [path.name[:3] for path in NOTEBOOKS] == [f"{n:02d}_" for n in range(1, len(NOTEBOOKS) + 1)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    execute(path, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("path", DATA_NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_without_data(path, tmp_path, monkeypatch):
    """A fresh clone has no GTSRB: the notebooks then run on their synthetic sample."""
    if not os.environ.get("NPNET_DATA"):
        pytest.skip("NPNET_DATA is not set: test_notebook_runs already ran without data")
    monkeypatch.delenv("NPNET_DATA")
    execute(path, tmp_path, monkeypatch)
