"""Influence timings on a real run (python -m npnet.bench --influence RUN --data SPLIT).

The queries are the mistakes of the run's last checkpoint on SPLIT (every one, or the first
--queries of them). Timed once each, on the whole training split the run trained on:

    exact_all_s     TracInCP over every layer and every checkpoint (``tracin.influence``)
    exact_last_s    the same for the last layer (dense_4) only
    index_build_s   projecting every training image's gradients (``gradient_index.build_index``)
    index_query_s   one query answered from the index (its own projection, one matrix product)

and the index's agreement with the exact all-layer scores (Spearman, top-10 overlaps), raw and cosine.
"""
import time

import numpy as np

from ..data import load_split
from ..data.preprocessing import preprocess
from ..explain.training_data.gradient_index import DEFAULT_WIDTH, agreement, build_index, query_index
from ..explain.training_data.run import load_run, training_images
from ..explain.training_data.tracin import influence


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def bench_influence(run_dir, data, queries=None, width=DEFAULT_WIDTH):
    run = load_run(run_dir)
    split, rows = training_images(run)
    images, labels = split.images[rows], split.labels[rows]
    test = load_split(data, progress=False)
    predicted = run.final.model.predict_proba(preprocess(test.images, run.preprocessing)).argmax(axis=1)
    wrong = np.flatnonzero(predicted != test.labels)[:queries]
    q_images, q_labels = test.images[wrong], test.labels[wrong]
    result = {"run": str(run_dir), "checkpoints": len(run.checkpoints), "train_images": len(rows),
              "queries": len(wrong), "query_split": str(data), "query_split_images": len(test), "width": width}
    common = dict(preprocessing=run.preprocessing)
    exact, result["exact_all_s"] = timed(influence, run.checkpoints, images, labels, q_images, q_labels, **common)
    exact_cos, result["exact_all_normalized_s"] = timed(influence, run.checkpoints, images, labels, q_images,
                                                        q_labels, normalize=True, **common)
    _, result["exact_last_s"] = timed(influence, run.checkpoints, images, labels, q_images, q_labels,
                                      layers=["dense_4"], **common)
    index, result["index_build_s"] = timed(build_index, run, images, labels, rows, width=width)
    _, result["index_query_s"] = timed(query_index, index, run, q_images[:1], q_labels[:1], False)
    result["agreement"] = agreement(exact.scores, query_index(index, run, q_images, q_labels, False))
    result["agreement_normalized"] = agreement(exact_cos.scores, query_index(index, run, q_images, q_labels, True))
    return result


def format_influence(result):
    a, c = result["agreement"], result["agreement_normalized"]
    return "\n".join([
        f"influence: {result['queries']} mistakes of {result['query_split']} against {result['train_images']:,} "
        f"training images, {result['checkpoints']} checkpoints",
        f"  exact, every layer          {result['exact_all_s']:8.1f} s  (cosine: {result['exact_all_normalized_s']:.1f} s)",
        f"  exact, last layer (dense_4) {result['exact_last_s']:8.1f} s",
        f"  index: build                {result['index_build_s']:8.1f} s  (width {result['width']})",
        f"  index: one query            {result['index_query_s']:8.3f} s",
        f"  index vs exact: Spearman {a['spearman']:.3f}, top-10 proponents {a['top_overlap']:.2f}, "
        f"opponents {a['opponent_overlap']:.2f}; cosine: {c['spearman']:.3f}, {c['top_overlap']:.2f}, "
        f"{c['opponent_overlap']:.2f}"]
        + ([f"  Captum TracInCP on the PyTorch twin, first {t['train_images']:,} training images x {t['queries']} "
            f"queries: {t['captum_s']:.1f} s against npnet's {t['npnet_s']:.1f} s ({t['speedup']:.1f}x); "
            f"largest score difference {t['max_abs_diff_relative']:.1e} of the largest score"]
           if (t := result.get("captum")) else [result.get("captum_note", "")]))


def bench_captum(run_dir, data, train_subset=2000, queries=None):
    """Captum's TracInCP on the PyTorch twin of each checkpoint, beside npnet's exact TracIn: the same
    checkpoints and learning rates, the same queries, the first ``train_subset`` training images (Captum
    at the full 34,799 takes too long to time). Returns seconds of each and their largest difference."""
    import torch
    from captum.influence import TracInCP
    from torch.utils.data import TensorDataset

    from .torch_twin import from_npnet

    run = load_run(run_dir)
    split, rows = training_images(run)
    rows = rows[:train_subset]
    images, labels = split.images[rows], split.labels[rows]
    test = load_split(data, progress=False)
    predicted = run.final.model.predict_proba(preprocess(test.images, run.preprocessing)).argmax(axis=1)
    wrong = np.flatnonzero(predicted != test.labels)[:queries]
    q_images, q_labels = test.images[wrong], test.labels[wrong]
    ours, ours_s = timed(influence, run.checkpoints, images, labels, q_images, q_labels,
                         preprocessing=run.preprocessing)
    twins = {c.name: from_npnet(c.model).eval() for c in run.checkpoints}
    rates = {c.name: c.learning_rate for c in run.checkpoints}
    twin = from_npnet(run.final.model).eval()

    def load(model, name):                 # Captum's checkpoints_load_func: weights in, learning rate out
        model.load_state_dict(twins[name].state_dict())
        return rates[name]

    def tensors(x, y):
        return torch.from_numpy(preprocess(x, run.preprocessing)), torch.from_numpy(y.astype(np.int64))

    started = time.perf_counter()
    tracin = TracInCP(twin, TensorDataset(*tensors(images, labels)), list(twins), load,
                      loss_fn=torch.nn.CrossEntropyLoss(reduction="sum"), batch_size=256,
                      sample_wise_grads_per_batch=True)
    theirs = tracin.influence(tensors(q_images, q_labels), k=None).numpy().T
    captum_s = time.perf_counter() - started
    scale = np.abs(theirs).max()
    return {"train_images": len(rows), "queries": len(wrong), "npnet_s": ours_s, "captum_s": captum_s,
            "speedup": captum_s / ours_s, "max_abs_diff_relative": float(np.abs(ours.scores - theirs).max() / scale)}
