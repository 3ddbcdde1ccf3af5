"""Concepts of GTSRB's signs, from its class metadata, and the image sets TCAV learns them from.

    CONCEPTS                                     name -> Concept(kind, classes, looks): the table below
    concept_classes(name, excluding=c)           the class ids that have the concept, c left out
    concept_set(labels, name, size, rng, c)      indices (<= size,) of training images of those classes
    random_sets(n_images, count, size, rng)      ``count`` index arrays (size,) drawn from all images

The table is read off the signs of the 43 classes (``signnames.csv``; ``docs/concepts.md`` shows it
per class). A concept set is drawn from the training images of the classes that have the concept,
never from the class being explained: its own images would make "the class" a concept of itself.
Each class of the set is equally likely (an image's weight is 1 / its class's count), so that a
concept is not mostly its largest class (50 km/h has 11 times as many images as 20 km/h). A random
set is drawn uniformly from all training images, every class included: TCAV's "random" counterpart.

``explain.py concepts`` draws a concept set afresh for each run (each random set), where the paper
had one small fixed set. With one fixed set, the R scores of a concept all lean the way that one
set happens to lean, and a set of random images posing as a concept is called significant far more
often than alpha; drawn afresh, the concept's runs vary as the random-vs-random ones do.

A concept taken from classes is what those classes share, and classes share more than one concept:
every digit-bearing sign but 'End of speed limit (80km/h)' is also a red-bordered circle. TCAV tells
whether the class's logit rises along the direction that separates the set from random images, so
the reading of one concept is helped by its neighbours in the table (red border includes the
triangles, which carry no digits; circle includes the blue discs, which carry no red).
"""
from collections import namedtuple

import numpy as np

Concept = namedtuple("Concept", "kind classes looks")

SPEED_LIMITS = (0, 1, 2, 3, 4, 5, 7, 8)             # 20, 30, 50, 60, 70, 80, 100, 120 km/h
ENDS = (6, 32, 41, 42)                              # white discs with black diagonal stripes
RED_TRIANGLES = (11, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31)   # warning signs, point up
BLUE_DISCS = (33, 34, 35, 36, 37, 38, 39, 40)       # mandatory: turn, ahead, keep, roundabout
RED_RINGS = SPEED_LIMITS + (9, 10, 15, 16)          # prohibitions: a red ring around a white disc

CONCEPTS = {
    # shape: the sign's outline
    "circle": Concept("shape", SPEED_LIMITS + ENDS + (9, 10, 15, 16, 17) + BLUE_DISCS, "a round sign"),
    "triangle up": Concept("shape", RED_TRIANGLES, "a triangle standing on its base (warning)"),
    "triangle down": Concept("shape", (13,), "a triangle on its point (Yield)"),
    "octagon": Concept("shape", (14,), "an octagon (Stop)"),
    "diamond": Concept("shape", (12,), "a square on its corner (Priority road)"),
    # colour
    "red border": Concept("colour", RED_RINGS + RED_TRIANGLES + (13,),
                          "a red rim around a white or yellow field (not Stop, not No entry: red all over)"),
    "blue disc": Concept("colour", BLUE_DISCS, "a blue disc with a white symbol"),
    # content: what is drawn in the middle
    "digits": Concept("content", SPEED_LIMITS + (6,), "a number (the speed limits and their end)"),
    "pictograms": Concept("content", (9, 10, 11, 16, 18, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 41, 42),
                          "a black picture or symbol: cars, a truck, a person, an animal, '!', ..."),
    "arrows": Concept("content", (19, 20, 21) + BLUE_DISCS, "an arrow: the curve warnings and the blue discs"),
}
KINDS = ("shape", "colour", "content")


def concept_classes(name, excluding=None):
    """The sorted class ids that have concept ``name`` (a key of CONCEPTS), without class ``excluding``."""
    if name not in CONCEPTS:
        raise KeyError(f"no concept named {name!r}; concepts: {', '.join(CONCEPTS)}")
    return sorted(c for c in set(CONCEPTS[name].classes) if c != excluding)


def concept_set(labels, name, size, rng, excluding=None):
    """Indices into the training images (``labels`` (N,) their class ids) of up to ``size`` images
    of the classes with concept ``name``, none of class ``excluding``, drawn without replacement by
    ``rng`` (a numpy Generator), each class equally likely. Fewer when fewer are there; sorted."""
    labels = np.asarray(labels)
    pool = np.flatnonzero(np.isin(labels, concept_classes(name, excluding)))
    if len(pool) <= size:
        return pool
    weights = 1.0 / np.bincount(labels[pool])[labels[pool]]           # 1 / the image's class count
    return np.sort(rng.choice(pool, size=size, replace=False, p=weights / weights.sum()))


def random_sets(n_images, count, size, rng):
    """``count`` sets of ``size`` distinct indices into ``n_images`` training images (size <= n_images),
    each drawn uniformly by ``rng``; sets may share images. A list of sorted int64 arrays."""
    if not 1 <= size <= n_images:
        raise ValueError(f"a random set of {size} images needs 1 <= size <= {n_images} (the training images)")
    return [np.sort(rng.choice(n_images, size=size, replace=False)) for _ in range(count)]
