"""The process settings ``npnet.runtime.process.tune()`` makes (and a plain ``import npnet`` does not): it
fills in what the user left unset, never overrides them, remembers which ones it set (the benchmark
starts "PyTorch as shipped" without them), and knows when numpy came first, too late for OpenBLAS."""
import json
import os
import subprocess
import sys

SCRIPT = ("import json, os, npnet.runtime.process as r; r.tune(); print(json.dumps("
          "{'set_here': r.set_here, 'env': {k: os.environ.get(k) for k in r.THREAD_SETTINGS}}))")


def import_npnet_with(environment):
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=environment, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def without_thread_settings():
    return {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")}


def test_a_plain_import_changes_no_environment_variable():
    code = ("import os; before = dict(os.environ); import npnet, npnet.engine.model, npnet.explain, npnet.training; "
            "print(dict(os.environ) == before)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=without_thread_settings(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_tune_sets_the_thread_settings_the_user_left_unset():
    seen = import_npnet_with(without_thread_settings())
    assert seen["env"] == {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}
    assert sorted(seen["set_here"]) == ["OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT"]


def test_tune_keeps_a_thread_setting_the_user_made_and_does_not_claim_it():
    seen = import_npnet_with({**without_thread_settings(), "OMP_WAIT_POLICY": "ACTIVE"})
    assert seen["env"]["OMP_WAIT_POLICY"] == "ACTIVE"
    assert seen["set_here"] == ["OPENBLAS_THREAD_TIMEOUT"]


def warnings_of(code, environment):
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stderr


WARN = "import npnet.runtime.process as r; r.tune(); r.warn_if_blas_spins()"


def test_after_numpy_the_spin_warning_is_given_where_speed_matters():
    stderr = warnings_of(f"import numpy; {WARN}", without_thread_settings())
    assert "RuntimeWarning: npnet was imported after numpy" in stderr


def test_importing_npnet_after_numpy_does_not_warn_by_itself():
    assert warnings_of("import numpy; import npnet; import npnet.runtime.process as r; r.warn_if_blas_spins()",
                       without_thread_settings()) == ""


def test_tuning_before_numpy_gives_no_spin_warning():
    assert warnings_of(f"{WARN}; import numpy", without_thread_settings()) == ""


def test_no_spin_warning_when_the_user_set_the_openblas_timeout_before_numpy():
    environment = {**without_thread_settings(), "OPENBLAS_THREAD_TIMEOUT": "4"}
    assert warnings_of(f"import numpy; {WARN}", environment) == ""
