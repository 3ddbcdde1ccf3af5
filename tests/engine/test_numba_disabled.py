"""NUMBA_DISABLE_JIT=1 works, as the README promises: the fast kernels then run as the plain Python
loops they are written as, a learner can step into them, and a training step and a gradient check
give what the compiled kernels give. Run in a subprocess: the switch is read when numba loads."""
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import numpy as np
    import numba
    from npnet.engine import ops
    from npnet.engine.gradcheck import check_model
    from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D
    from npnet.engine.model import Sequential
    from npnet.engine.optimizers import Adam
    from npnet.training.step import train_step

    assert numba.config.DISABLE_JIT
    assert not hasattr(ops.active().im2col, "signatures"), "im2col is still a compiled dispatcher"

    def net(dtype):
        layers = [Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(5)]
        return Sequential(layers, input_shape=(8, 8, 3), seed=1).astype(dtype)

    rng = np.random.default_rng(0)
    x = rng.random((4, 8, 8, 3))
    labels = rng.integers(0, 5, 4)
    errors = check_model(net(np.float64), x, labels, fuse_conv_pool=True)
    assert max(errors.values()) < 1e-6, errors

    model = net(np.float32)
    loss, _ = train_step(model, Adam(lr=0.01), x.astype(np.float32), labels)
    ops.use("reference")
    reference_model = net(np.float32)
    reference_loss, _ = train_step(reference_model, Adam(lr=0.01), x.astype(np.float32), labels)
    assert abs(loss - reference_loss) <= 1e-5 * abs(reference_loss), (loss, reference_loss)
    for key, value in model.params().items():
        np.testing.assert_allclose(value, reference_model.params()[key], rtol=1e-5, atol=1e-6)
    print("ok", max(errors.values()))
""")


def test_a_training_step_and_a_gradient_check_run_with_numba_disabled():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
