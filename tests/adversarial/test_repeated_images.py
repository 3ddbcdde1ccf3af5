"""A file listed many times (a CSV naming one large image 400 times) is decoded once."""
import numpy as np
from PIL import Image

from npnet.data import images, tree


def test_a_name_listed_again_is_decoded_once_and_copied(tmp_path, monkeypatch):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 200, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "b.png")
    decoded = []
    real = images.load_image
    monkeypatch.setattr(images, "load_image", lambda path, data=None: decoded.append(path) or real(path, data=data))
    names = ["a.png"] * 400 + ["b.png", "a.png"]
    out = tree.read_images(tree.FolderTree(tmp_path), names, progress=False, description="")
    assert len(decoded) == 2
    assert out.shape == (402, 32, 32, 3)
    np.testing.assert_array_equal(out[399], real(tmp_path / "a.png"))
    assert (out[:400] == out[0]).all() and (out[401] == out[0]).all() and not out[400].any()
