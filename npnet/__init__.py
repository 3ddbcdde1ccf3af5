"""npnet: a from-scratch NumPy deep-learning engine that trains and explains a traffic-sign CNN.

The public API, for a script or a notebook:

    model = npnet.seed_net()                                  the seed's CNN, 422,187 parameters
    model, metadata = npnet.load("runs/seed/best.h5")         an npnet checkpoint or a Keras file
    npnet.save(model, "net.h5", preprocessing=spec, class_names=names)
    x = npnet.preprocess(images, metadata["preprocessing"])   uint8 images -> the model's input
    npnet.explain.cam(model, x, "gradcam"), npnet.explain.attribution(model, x, "saliency")

The package, by what it does:

    engine/    layers, kernels, Sequential, losses, optimizers, gradient checks, the seed net
    data/      GTSRB in every layout, images, preprocessing, augmentation, test-time views
    io/        checkpoints and their checks, safe reading and writing, load_model, error types
    runtime/   process settings for speed: threads, BLAS, memory, slicing
    training/  the Trainer, recipes, one training step
    explain/   explanation methods, predictions and mistakes; faithfulness/ scores them
    report/    the offline HTML report
    convert/   Keras import, ONNX and PyTorch export
    bench/     the benchmark (python -m npnet.bench)
    cli/       the command-line boundary and explain.py's commands

Importing npnet changes nothing in the process and loads nothing heavy: each function below imports
its module when called. The tools (train.py, explain.py, the benchmark, a Trainer) call
``npnet.runtime.tune()`` for speed; see docs/perf.md.
"""
__version__ = "0.1.0"

__all__ = ["seed_net", "load", "save", "preprocess", "__version__"]


def seed_net(num_classes=43, seed=0, dropout=0.5, input_shape=(32, 32, 3)):
    """The seed's traffic-sign CNN as a ``Sequential`` (``npnet.engine.seed_net``)."""
    from .engine.seed_net import seed_net as build
    return build(num_classes=num_classes, seed=seed, dropout=dropout, input_shape=input_shape)


def load(path, input_shape=None, preprocessing=None):
    """(model, metadata) from any model file npnet reads, told apart by content: an npnet checkpoint,
    a Keras .keras or legacy .h5 file, or Keras weights of the seed net (``npnet.io.load``).
    metadata holds 'class_names' and 'preprocessing' (the spec ``preprocess`` takes)."""
    from .io.load import load_model
    return load_model(path, input_shape=input_shape, preprocessing=preprocessing)


def save(model, path, preprocessing=None, class_names=None, **metadata):
    """Write ``model`` to ``path`` as an npnet checkpoint (HDF5, atomic: a temporary file, then a
    rename), with its preprocessing spec, class names and any JSON-able metadata (``npnet.io.checkpoint``)."""
    from .io.checkpoint import save as write
    write(model, path, class_names=class_names, preprocessing=preprocessing, **metadata)


def preprocess(images, spec):
    """uint8 images (N, H, W, C) -> the float32 input of a model trained with ``spec`` (a checkpoint's
    metadata['preprocessing'], e.g. {"name": "seed"}: x / 255 - 0.5) (``npnet.data.preprocessing``)."""
    from .data.preprocessing import preprocess as apply
    return apply(images, spec)


def __getattr__(name):
    # ``npnet.explain`` and the other parts as attributes after ``import npnet``, imported on first use
    if name in ("engine", "data", "io", "runtime", "training", "explain", "report", "convert", "bench", "cli"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
