"""An index of every training image's gradient, projected to a few hundred numbers: influence queries
in one matrix product.

Exact TracIn (``tracin``) needs a forward and a backward of every training image at every checkpoint
for each new set of queries. The index pays that once. Each layer's per-example gradient
dW_n = sum_p [x_np, 1] (outer) dz_np is projected by a random matrix P = P_in (x) P_out that is never
formed whole (a Kronecker product, as TRAK and LoGra factor it):

    P^T vec(dW_n) = sum_p (P_in^T [x_np, 1]) (outer) (P_out^T dz_np)        (k_in, k_out) per layer

P_in (K + 1, k_in) and P_out (F, k_out) have independent N(0, 1 / k) entries, so E[P P^T] = I and
<P^T g, P^T g'> estimates <g, g'> (Johnson-Lindenstrauss; relative error about sqrt(2 / k^2) of
||g|| ||g'||). The checkpoints are folded into one vector with their own projections,

    r(z) = concat over layers l of  sum_i sqrt(eta_i) P_il^T g_il(z)         (layers * k * k,)

whose dot products estimate the TracInCP score sum_i eta_i <g_i(z), g_i(z')> (the cross terms between
checkpoints average to zero). ``normalized`` folds in g_i / ||g_i|| instead: the cosine score.

The index stores r for every training image (float16: far finer than the projection's own error) with
the seed, k and the checkpoints it was built from; a query projects its own gradients the same way.
``agreement`` measures how far the index's scores are from the exact ones.
"""
import numpy as np

from ...io.errors import NpnetError
from ...io.files import write_atomic
from ...io.reading import ARCHIVE_ERRORS
from .per_example import layers_with_weights
from .tracin import gradient_norms, gradients_of

DEFAULT_WIDTH = 12      # k_in = k_out: 144 numbers per layer, 1,008 for the seed net's 7 layers


def projections(model, layers, checkpoints, width, seed):
    """{(checkpoint i, layer): (P_in, P_out)}, each drawn from its own seeded generator."""
    matrices = {}
    for i in range(checkpoints):
        for l, name in enumerate(layers):
            kernel = model.layer(name).params["kernel"]
            inputs, outputs = int(np.prod(kernel.shape[:-1])) + 1, kernel.shape[-1]
            rng = np.random.default_rng([seed, i, l])
            matrices[i, name] = (rng.standard_normal((inputs, width)).astype(np.float32) / np.sqrt(width),
                                 rng.standard_normal((outputs, width)).astype(np.float32) / np.sqrt(width))
    return matrices


def project(gradients, p_in, p_out):
    """(N, k_in * k_out): sum_p (P_in^T [x_np, 1]) (outer) (P_out^T dz_np) for one layer's factors."""
    x, dz = gradients.x, gradients.dz
    x_projected = x @ p_in[:-1] + p_in[-1]                     # [x, 1] @ P_in          (N, P, k_in)
    dz_projected = dz @ p_out                                  #                       (N, P, k_out)
    return np.matmul(x_projected.transpose(0, 2, 1), dz_projected).reshape(len(x), -1)


def embed(checkpoints, images, labels, layers, width, seed, normalized, preprocessing=None, batch_size=256):
    """(N, layers * k * k) float32 r(z) for every image (see the module's docstring); the cosine
    variant with ``normalized``."""
    return embed_both(checkpoints, images, labels, layers, width, seed, preprocessing, batch_size)[
        "normalized" if normalized else "raw"]


def embed_both(checkpoints, images, labels, layers, width, seed, preprocessing=None, batch_size=256):
    """{'raw': r(z), 'normalized': r(z) of the unit gradients}, from one pass over the images."""
    names = layers_with_weights(checkpoints[0].model, layers)
    matrices = projections(checkpoints[0].model, names, len(checkpoints), width, seed)
    out = {variant: np.zeros((len(images), len(names) * width * width), dtype=np.float32)
           for variant in ("raw", "normalized")}
    block = width * width
    for i, checkpoint in enumerate(checkpoints):
        for rows, gradients in gradients_of(checkpoint, images, labels, names, preprocessing, batch_size):
            scale = np.full(rows.stop - rows.start, np.sqrt(checkpoint.learning_rate), dtype=np.float64)
            norms = gradient_norms(gradients, names)
            unit_scale = np.where(norms > 0, scale / np.where(norms > 0, norms, 1), 0.0)
            for l, name in enumerate(names):
                projected = project(gradients[name], *matrices[i, name])
                columns = slice(l * block, (l + 1) * block)
                out["raw"][rows, columns] += (scale[:, None] * projected).astype(np.float32)
                out["normalized"][rows, columns] += (unit_scale[:, None] * projected).astype(np.float32)
    return out


def agreement(exact, estimated, top=10):
    """How well the index ranks as the exact scores do, per query (columns of (N, Q) arrays):
    {'spearman': mean Spearman rank correlation, 'top_overlap': mean share of the exact top ``top``
    proponents found in the estimated top ``top``, 'opponent_overlap': the same for opponents}."""
    def ranks(column):
        order = np.argsort(column, kind="stable")
        r = np.empty(len(column))
        r[order] = np.arange(len(column))
        return r

    spearman, proponents, opponents = [], [], []
    for q in range(exact.shape[1]):
        a, b = exact[:, q], estimated[:, q]
        spearman.append(np.corrcoef(ranks(a), ranks(b))[0, 1])
        proponents.append(len(set(np.argsort(-a)[:top]) & set(np.argsort(-b)[:top])) / top)
        opponents.append(len(set(np.argsort(a)[:top]) & set(np.argsort(b)[:top])) / top)
    return {"spearman": float(np.mean(spearman)), "top_overlap": float(np.mean(proponents)),
            "opponent_overlap": float(np.mean(opponents))}


# -- the index file ---------------------------------------------------------------------------------
INDEX_NAME = "influence_index.npz"
INDEX_ARRAYS = ("raw", "normalized", "rows", "layers", "checkpoints", "learning_rates", "width", "seed")


def build_index(run, images, labels, rows, layers=None, width=DEFAULT_WIDTH, seed=0, batch_size=256):
    """{array name: array}: r(z) of every training image, raw and normalized, and what it was built from."""
    names = layers_with_weights(run.final.model, layers)
    embedded = embed_both(run.checkpoints, images, labels, names, width, seed, run.preprocessing, batch_size)
    return {"raw": embedded["raw"].astype(np.float16), "normalized": embedded["normalized"].astype(np.float16),
            "rows": np.asarray(rows, dtype=np.int64), "layers": np.array(names),
            "checkpoints": np.array([c.name for c in run.checkpoints]),
            "learning_rates": np.array([c.learning_rate for c in run.checkpoints]),
            "width": np.int64(width), "seed": np.int64(seed)}


def save_index(index, path):
    """Write the index atomically (``np.savez``, no pickled objects)."""
    def write(temporary):
        with open(temporary, "wb") as handle:
            np.savez(handle, **index)
    return write_atomic(path, write)


def load_index(path, run):
    """The index at ``path`` if it was built from ``run``'s checkpoints, else None; NpnetError when the
    file is damaged. Read without pickles (``allow_pickle=False``)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            index = {name: archive[name] for name in INDEX_ARRAYS}
    except FileNotFoundError:
        return None
    except (*ARCHIVE_ERRORS, TypeError) as error:
        raise NpnetError(f"{path}: is not a readable influence index ({error})") from None
    n = len(index["rows"])
    d = len(index["layers"]) * int(index["width"]) ** 2 if index["width"].ndim == 0 else -1
    if (index["raw"].shape != (n, d) or index["normalized"].shape != (n, d)
            or not all(np.isfinite(index[name]).all() for name in ("raw", "normalized"))):
        raise NpnetError(f"{path}: is not a readable influence index (its arrays do not fit together, "
                         "or hold values that are not finite)")
    built_from = [str(name) for name in index["checkpoints"]]
    if built_from != [c.name for c in run.checkpoints] or not np.allclose(
            index["learning_rates"], [c.learning_rate for c in run.checkpoints]):
        return None
    return index


def query_index(index, run, images, labels, normalized):
    """(N_train, Q) estimated scores of the index's training images for the queries."""
    queries = embed(run.checkpoints, images, labels, [str(name) for name in index["layers"]],
                    int(index["width"]), int(index["seed"]), normalized, preprocessing=run.preprocessing)
    train = index["normalized" if normalized else "raw"]
    return (train.astype(np.float32) @ queries.T).astype(np.float64)
