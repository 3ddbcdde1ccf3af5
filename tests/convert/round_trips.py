"""The README's round-trip numbers (not a test: run by hand). max |a - b| / max |b| of the logits on
every image of valid.p, float32.

    # 1. the seed net trained in Keras 3 (PyTorch backend), in a throwaway venv (see fixtures/README.md):
    KERAS_BACKEND=torch /tmp/kerasvenv/bin/python tests/convert/round_trips.py train-keras DATA OUT_FOLDER 5
    # 2. Keras -> npnet, and npnet -> ONNX / .pt2 / to_torch -> from_torch (needs the onnx and bench extras):
    .venv/bin/python tests/convert/round_trips.py measure DATA CHECKPOINT [OUT_FOLDER]

DATA: the folder holding train.p and valid.p. OUT_FOLDER receives seed_model.h5, .keras, .weights.h5 and
keras_valid.npz (Keras' logits and probabilities on valid.p).
"""
import os
import pickle
import sys
import tempfile


def train_keras(data, out, epochs):
    import numpy as np
    import keras
    layers = keras.layers
    train = pickle.load(open(os.path.join(data, "train.p"), "rb"))     # the shared data, trusted here
    valid = pickle.load(open(os.path.join(data, "valid.p"), "rb"))
    prep = lambda a: a.astype(np.float32) / np.float32(255) - np.float32(0.5)   # noqa: E731
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (2, 2), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (2, 2), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Flatten(), layers.Dropout(0.5),
        layers.Dense(256, activation="relu"), layers.Dense(128, activation="relu"), layers.Dense(64, activation="relu"),
        layers.Dense(43, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(prep(train["features"]), train["labels"].astype(np.int64), batch_size=128, epochs=epochs, verbose=2)
    os.makedirs(out, exist_ok=True)
    for name in ("seed_model.h5", "seed_model.keras"):
        model.save(os.path.join(out, name))
    model.save_weights(os.path.join(out, "seed_model.weights.h5"))
    x = prep(valid["features"])
    probabilities = model.predict(x, verbose=0)
    model.layers[-1].activation = keras.activations.linear
    np.savez(os.path.join(out, "keras_valid.npz"), logits=model.predict(x, verbose=0), probabilities=probabilities)
    print("Keras valid accuracy", float((probabilities.argmax(1) == valid["labels"]).mean()))


def measure(data, checkpoint_path, keras_folder=None):
    import numpy as np
    import onnxruntime
    import torch
    from npnet.io import checkpoint
    from npnet.convert import export_onnx, export_pt2, from_torch, load_keras, to_torch
    from npnet.data import load_split
    from npnet.data.preprocessing import preprocess

    valid = load_split(os.path.join(data, "valid.p"), progress=False)

    def relative(a, b):
        return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(np.asarray(b, np.float64)).max())

    def logits(net, x):
        return np.concatenate([net.forward(x[i:i + 512]) for i in range(0, len(x), 512)])

    rows = []
    if keras_folder:
        stored = np.load(os.path.join(keras_folder, "keras_valid.npz"))
        for name in ("seed_model.h5", "seed_model.keras", "seed_model.weights.h5"):
            net, metadata = load_keras(os.path.join(keras_folder, name))
            ours = logits(net, preprocess(valid.images, metadata["preprocessing"]))
            rows.append((f"Keras {name} -> npnet", relative(ours, stored["logits"]),
                         f"same class {np.mean(ours.argmax(1) == stored['logits'].argmax(1)):.4f}, "
                         f"accuracy {np.mean(ours.argmax(1) == valid.labels):.4f}"))
    net, metadata = checkpoint.load(checkpoint_path)
    x = preprocess(valid.images, metadata["preprocessing"])
    reference = logits(net, x)
    with tempfile.TemporaryDirectory() as folder:
        plain, with_ops, program = (os.path.join(folder, name) for name in ("m.onnx", "p.onnx", "m.pt2"))
        export_onnx(net, plain, metadata)
        rows.append(("npnet -> ONNX", relative(onnxruntime.InferenceSession(plain).run(["logits"], {"input": x})[0],
                                               reference), metadata["preprocessing"]["name"]))
        export_onnx(net, with_ops, metadata, with_preprocessing=True)
        rows.append(("npnet -> ONNX --with-preprocessing", relative(
            onnxruntime.InferenceSession(with_ops).run(["logits"], {"input": valid.images})[0], reference), "uint8 in"))
        export_pt2(net, program, metadata)
        with torch.no_grad():
            rows.append(("npnet -> .pt2", relative(torch.export.load(program).module()(torch.from_numpy(x)).numpy(),
                                                   reference), ""))
    module = to_torch(net, metadata)
    back, _ = from_torch(module)
    rows.append(("npnet -> to_torch -> from_torch", relative(logits(back, x), reference),
                 f"weights bit-equal: {all(np.array_equal(back.params()[k], v) for k, v in net.params().items())}"))
    print(f"valid.p: {len(x)} images")
    for name, value, note in rows:
        print(f"{name:45s} {value:.2e}  {note}")


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "train-keras":
        train_keras(arguments[0], arguments[1], int(arguments[2]))
    else:
        measure(*arguments)
