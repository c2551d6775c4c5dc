"""The manifold step of N2D: which learner reshapes the autoencoder's codes, and how it is built.

``ParallelUMAP`` is UMAP on every core with a thread-count-independent result; umap-learn's
``UMAP`` stays available (``manifold="umap"``). :func:`build_manifold` turns N2D's ``manifold``
parameter into an unfitted learner.
"""

from __future__ import annotations

from sklearn.base import clone

from deepclust.methods.manifold._knn import exact_knn
from deepclust.methods.manifold._parallel_umap import ParallelUMAP

__all__ = ["AUTO_MAX_KNN_FLOP", "AUTO_PREFERS_PARALLEL", "exact_knn_is_cheap", "MANIFOLDS", "ParallelUMAP", "auto_manifold", "build_manifold", "default_parallel", "default_umap", "exact_knn"]

#: the names N2D's ``manifold`` parameter accepts
MANIFOLDS = ("auto", "parallel", "umap")

#: Whether "auto" may take ParallelUMAP at all. False until ParallelUMAP is shown at least as
#: good as umap-learn on MNIST-70k and USPS autoencoder codes (NOTES_n2d.md, session 4: the
#: comparison could not finish on the shared machine). Flipping it changes N2D's default labels:
#: re-record n2d, umap-gmm and simclr-n2d in tests/data/method_labels_digits.json then.
AUTO_PREFERS_PARALLEL = False

#: "auto" takes ParallelUMAP while its exact neighbour search costs at most this many
#: floating-point operations (2 n^2 d): 1e12 is ~5-10 s on a 2-core CPU; MNIST-70k's 10-d
#: codes need 1e11. Above it (raw pixels, a million cells) umap-learn's approximate search scales
#: better than an exact one.
AUTO_MAX_KNN_FLOP = 1e12


def auto_manifold(n_samples: int, n_features: int | None) -> str:
    """The learner "auto" chooses: "parallel" while its exact kNN is cheap (and
    :data:`AUTO_PREFERS_PARALLEL`), else "umap"."""
    return "parallel" if AUTO_PREFERS_PARALLEL and exact_knn_is_cheap(n_samples, n_features) else "umap"


def exact_knn_is_cheap(n_samples: int, n_features: int | None) -> bool:
    """Whether an exact kNN of ``n_samples`` points in ``n_features`` dimensions fits :data:`AUTO_MAX_KNN_FLOP`."""
    return n_features is None or 2.0 * n_samples * n_samples * n_features <= AUTO_MAX_KNN_FLOP


def default_umap(n_components: int, seed: int):
    """umap-learn's UMAP as in N2D: ``n_neighbors=20, min_dist=0``, ``n_components`` = number of clusters."""
    from deepclust.methods._umap_cache import import_umap

    umap = import_umap()
    return umap.UMAP(n_neighbors=20, min_dist=0.0, n_components=n_components, metric="euclidean", random_state=seed)


def default_parallel(n_components: int, seed: int) -> ParallelUMAP:
    """:class:`ParallelUMAP` with N2D's settings: ``n_neighbors=20, min_dist=0``."""
    return ParallelUMAP(n_neighbors=20, min_dist=0.0, n_components=n_components, random_state=seed)


def build_manifold(manifold, n_clusters: int, seed: int, n_samples: int, n_features: int | None = None):
    """The unfitted manifold learner for N2D.

    Parameters
    ----------
    manifold : {"auto", "parallel", "umap"}, None or transformer
        None or "auto": :func:`auto_manifold`'s choice; "parallel": :class:`ParallelUMAP`;
        "umap": umap-learn's ``UMAP``; both with ``n_neighbors=20, min_dist=0``. A transformer
        is cloned and given ``seed`` if its ``random_state`` is None; it must have
        ``transform`` so that new points can be embedded (t-SNE cannot).
    n_clusters : int
        Number of clusters, the embedding's dimension for the named learners.
    seed : int
    n_samples : int
        Training rows; the dimension is capped below it (the spectral start needs that).
    n_features : int or None, default=None
        Dimension of the data the learner will see, for "auto"; None: "parallel".
    """
    if manifold is None or isinstance(manifold, str):
        name = "auto" if manifold is None else manifold
        if name not in MANIFOLDS:
            raise ValueError(f"manifold={manifold!r} is not one of {MANIFOLDS} or a transformer object")
        dim = min(n_clusters, max(n_samples - 2, 1))
        name = auto_manifold(n_samples, n_features) if name == "auto" else name
        return (default_umap if name == "umap" else default_parallel)(dim, seed)
    if not (hasattr(manifold, "fit_transform") and hasattr(manifold, "transform")):
        raise ValueError(
            f"manifold {type(manifold).__name__} cannot embed new points (it has no transform method); "
            "use UMAP, PCA or another transformer (t-SNE is not supported for this reason)"
        )
    m = clone(manifold)
    if "random_state" in m.get_params() and m.get_params()["random_state"] is None:
        m.set_params(random_state=seed)
    return m
