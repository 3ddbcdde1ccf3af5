"""Teachers for knowledge distillation: trained checkpoints whose averaged, softened probabilities the
student learns from beside the labels (``losses.distillation_loss``).

    teachers = Teachers.load(["runs/a/best.h5", "runs/b/best.h5"], num_classes=43)
    p_t      = teachers.probabilities(images, temperature)      images (B, 32, 32, 3) in 0..255 -> (B, K)

    p_t = (1/M) sum_m softmax(z_m / T),   z_m = teacher m's logits on its own preprocessing of the images

Each teacher sees the very images the student trains on in that step (after augmentation), fed the way
it was trained (the preprocessing spec in its checkpoint), in inference mode (no dropout), on the
cache-free path (``inference.predict_logits``). The teachers are a training detail: only the student
is saved.
"""
import warnings

import numpy as np

from ..io import checkpoint
from ..io.errors import NonFiniteError, NpnetError
from ..engine.losses import softmax
from ..data.preprocessing import preprocess


class Teachers:
    def __init__(self, models, specs, paths):
        self.models, self.specs, self.paths = list(models), list(specs), list(paths)

    @classmethod
    def load(cls, paths, num_classes):
        """Read each checkpoint; NpnetError naming the file if it is unreadable, has no preprocessing
        spec, or does not output ``num_classes`` classes for a 32x32x3 image."""
        models, specs = [], []
        for path in paths:
            model, metadata = checkpoint.load(path, input_shape=checkpoint.IMAGE_INPUT)
            if not isinstance(metadata.get("preprocessing"), dict):
                raise NpnetError(f"{path}: the teacher's checkpoint records no preprocessing spec")
            if model.output_shape[-1] != num_classes:
                raise NpnetError(f"{path}: the teacher has {model.output_shape[-1]} classes, "
                                 f"the data {num_classes}")
            models.append(model)
            specs.append(metadata["preprocessing"])
        return cls(models, specs, paths)

    def probabilities(self, images, temperature):
        """The teachers' mean softened probabilities (B, K) float32 for images (B, H, W, C) in 0..255.
        A teacher whose logits are not finite (weights that overflow float32) raises NonFiniteError
        naming its file, rather than NaN targets under RuntimeWarnings."""
        total = 0
        for model, spec, path in zip(self.models, self.specs, self.paths):
            with warnings.catch_warnings():     # an overflow is reported below, once, not as warnings
                warnings.simplefilter("ignore", RuntimeWarning)
                logits = model.predict_logits(preprocess(images, spec))
            if not np.isfinite(logits).all():
                raise NonFiniteError(f"{path}: the teacher's output is not finite (its weights or its "
                                     "preprocessing overflow float32): it cannot teach")
            total = total + softmax(logits / temperature)
        return (total / len(self.models)).astype("float32")
