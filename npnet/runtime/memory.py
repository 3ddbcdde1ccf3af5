"""How much memory a training step needs, so an impossible batch size is refused before it starts
rather than by the kernel's out-of-memory killer halfway through an epoch."""
import os

from ..io.errors import NpnetError

BYTES_PER_FLOAT = 4


def output_and_patch_floats(layer):
    """(floats of one image's output of ``layer``, floats of its im2col patches: kh*kw*C per output
    position for a convolution, 0 for any other layer)."""
    outputs = 1
    for dim in layer.output_shape[1:]:
        outputs *= dim
    if not hasattr(layer, "kernel_size"):
        return outputs, 0
    kh, kw = layer.kernel_size
    return outputs, outputs // layer.filters * kh * kw * layer.input_shape[-1]


def training_bytes_per_image(model, itemsize=BYTES_PER_FLOAT):
    """An upper estimate of the memory one image costs in a training step (float32 by default), or
    in any forward that keeps its caches and the backward after it (``passes.input_gradient``).

    Every layer's output is kept for backward and has a gradient of the same size (2x); a
    convolution also keeps its im2col patches (kh*kw*C per output position) and makes their gradient
    in backward (2x more); the last layer's logits are copied by the loss. Buffers are assumed to
    be alive together, which is close to the real peak of backward.
    """
    return 2 * sum(sum(output_and_patch_floats(layer)) for layer in model.layers) * itemsize


def inference_bytes_per_image(layers, itemsize=BYTES_PER_FLOAT):
    """The largest arrays one image needs at once in the cache-free forward: a layer's output, and
    for a convolution its patches too."""
    return max(sum(output_and_patch_floats(layer)) for layer in layers) * itemsize


def available_bytes():
    """Memory the system can still give (MemAvailable), or None where that cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_batch_fits(model, batch_size, available=None):
    """The estimated bytes of a training step; NpnetError with the estimate when they cannot fit
    in the memory still available (the data, already loaded, is not counted again)."""
    available = available_bytes() if available is None else available
    per_image = training_bytes_per_image(model)
    needed = per_image * batch_size
    if available is not None and needed > 0.9 * available:
        raise NpnetError(
            f"batch size {batch_size} needs about {needed / 2**30:.1f} GiB for a training step "
            f"({per_image / 2**20:.2f} MiB per image), but only {available / 2**30:.1f} GiB is available: "
            "use a smaller --batch-size")
    return needed
