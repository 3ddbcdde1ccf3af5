"""Class weights for the loss: rare classes count more (``train.py --class-weight-power B``).

GTSRB's classes are uneven: 180 training images of the rarest (20 km/h, Dangerous curve to the left,
Go straight or left) against 2,010 of the most common (50 km/h), and several rare classes are the
pictograms inside red triangles that fail most on the official test set. With power B, class c of n_c
training images weighs

    w_c = n_c^(-B) / Z,     Z = (1/N) sum_c n_c n_c^(-B)      so that the mean weight over the N images is 1

B = 0: every image counts once (plain cross-entropy); B = 1: inverse frequency, every class counts
equally in total; B = 0.5: between the two. Classes absent from the training images get weight 0 (no
image of theirs is ever weighted). Each image's loss term is multiplied by its class's weight
(``losses.softmax_cross_entropy``'s ``sample_weights``), the class-balanced loss of Cui et al. (2019)
with n^(-B) in place of their effective number of samples.
"""
import numpy as np


def class_weights(labels, num_classes, power):
    """float32 (num_classes,): w_c = n_c^(-power) / Z, mean 1 over ``labels`` (see the module)."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    raw = np.zeros(num_classes)
    present = counts > 0
    raw[present] = counts[present] ** -power
    return (raw * len(labels) / (counts * raw).sum()).astype(np.float32)
