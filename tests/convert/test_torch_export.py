"""npnet <-> PyTorch: to_torch gives a plain nn.Module with npnet's logits and names, from_torch brings
trained weights back, and a .pt2 runs with torch.export.load(path).module() and no npnet code."""
import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from npnet.convert import export_pt2, from_torch, to_torch  # noqa: E402
from npnet.io.errors import NpnetError  # noqa: E402
from npnet.engine.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU  # noqa: E402
from npnet.engine.model import Sequential  # noqa: E402
from npnet.data.preprocessing import preprocess  # noqa: E402
from npnet.engine.seed_net import seed_net  # noqa: E402

from .conftest import relative_difference  # noqa: E402

MAX_RELATIVE = 1e-5
SEED = {"name": "seed"}


def torch_logits(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def test_to_torch_gives_npnets_logits_on_nhwc_input(net, images):
    x = preprocess(images, SEED)
    assert relative_difference(torch_logits(to_torch(net), x), net.forward(x)) < MAX_RELATIVE


def test_parameters_are_named_as_in_the_summary(net):
    names = [f"{layer.name}.{key}" for layer in net.layers if layer.params for key in ("weight", "bias")]
    assert list(to_torch(net).state_dict()) == names
    assert names[:2] == ["conv2d_1.weight", "conv2d_1.bias"] and names[-1] == "dense_4.bias"


def test_from_torch_gives_back_the_same_weights(net):
    model, metadata = from_torch(to_torch(net, {"preprocessing": SEED}))
    assert metadata == {"preprocessing": SEED}
    for key, value in net.params().items():
        assert np.array_equal(model.params()[key], value), key


def test_weights_trained_in_pytorch_come_back_to_npnet(net, images):
    module = to_torch(net).train()
    x = torch.from_numpy(preprocess(images[:16], SEED))
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(module(x), torch.arange(16) % 43)
    loss.backward()
    optimizer.step()
    model, _ = from_torch(torch.nn.DataParallel(module.eval()))        # wrapped as for multi-device training
    assert not np.array_equal(model.params()["dense_4/kernel"], net.params()["dense_4/kernel"])
    assert relative_difference(model.forward(x.numpy()), torch_logits(module, x.numpy())) < MAX_RELATIVE


def test_a_state_dict_needs_an_architecture(net):
    state = to_torch(net).state_dict()
    with pytest.raises(NpnetError, match="pass like=<an npnet model>"):
        from_torch(state)
    model, _ = from_torch(state, like=seed_net())
    assert np.array_equal(model.params()["conv2d_1/kernel"], net.params()["conv2d_1/kernel"])


def test_weights_of_another_architecture_are_refused(net):
    with pytest.raises(NpnetError, match=r"'dense_4.weight' gives dense_4/kernel the shape \(64, 43\), "
                                         r"the architecture needs \(64, 10\)"):
        from_torch(to_torch(net).state_dict(), like=seed_net(num_classes=10))


def test_same_padding_and_relu_layers(rng):
    model = Sequential([Conv2D(4, 2, padding="same"), ReLU(), MaxPool2D(2), Conv2D(3, 3, padding="same",
                        activation="relu"), Flatten(), Dense(5)], input_shape=(9, 9, 3), seed=3)
    x = rng.normal(size=(3, 9, 9, 3)).astype(np.float32)
    assert relative_difference(torch_logits(to_torch(model), x), model.forward(x)) < MAX_RELATIVE


LOAD_WITHOUT_NPNET = """
import json, sys
import numpy as np, torch
extra = {"npnet.json": ""}
module = torch.export.load(sys.argv[1], extra_files=extra).module()
x = np.load(sys.argv[2])
np.save(sys.argv[3], module(torch.from_numpy(x)).detach().numpy())
np.save(sys.argv[4], module(torch.from_numpy(x[:1])).detach().numpy())
print(json.dumps({"npnet_imported": any(name.startswith("npnet") for name in sys.modules), "extra": extra["npnet.json"]}))
"""


def test_a_pt2_runs_in_pytorch_alone(tmp_path, net, images):
    names = [f"sign {i}" for i in range(43)]
    path = export_pt2(net, tmp_path / "net.pt2", {"preprocessing": SEED, "class_names": names})
    x = preprocess(images, SEED)
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run([sys.executable, "-I", "-c", LOAD_WITHOUT_NPNET, str(path), "x.npy", "all.npy", "one.npy"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["npnet_imported"] is False
    assert json.loads(report["extra"])["class_names"] == names
    assert relative_difference(np.load(tmp_path / "all.npy"), net.forward(x)) < MAX_RELATIVE
    assert np.load(tmp_path / "one.npy").shape == (1, 43)      # the batch dimension is dynamic
