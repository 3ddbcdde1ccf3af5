"""Which training images taught the net a prediction: influence, a label audit, neighbours.

    per_example.py        each example's loss gradient, as factors from one batched backward
    tracin.py             TracInCP influence and self-influence over a run's checkpoints
    gradient_index.py     the training set's gradients, projected once, for fast influence queries
    run.py                a run's checkpoints and the training images they learned from
    neighbours.py         nearest training images in a layer's features (cosine)
    duplicates.py         near copies across labels, and held-out images copied from training
    confident_learning.py label issues from out-of-sample probabilities (Northcutt et al. 2021)
    cross_validation.py   those probabilities: K folds grouped by track, one short run per fold
    audit.py              the label audit: the pieces above, in order
    figures.py            a query beside its proponents, opponents and neighbours; the audit's suspects

docs/training-data.md walks through them on GTSRB.
"""
