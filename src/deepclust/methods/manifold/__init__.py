"""The manifold step of N2D: which learner reshapes the autoencoder's codes, and how it is built.

Where an exact neighbour search is cheap (low-dimensional codes), the default is
``ParallelUMAP`` (the exact search and the layout on every core, with a thread-count-independent
result) from 20,000 rows and umap-learn's UMAP fed by the exact search below
(``ExactKnnUMAP``, "umap-exact"); elsewhere umap-learn with its own search. Each stays
available by name. :func:`build_manifold` turns N2D's ``manifold``
parameter into an unfitted learner.
"""

from __future__ import annotations

from sklearn.base import clone

from deepclust.methods.manifold._knn import exact_knn
from deepclust.methods.manifold._parallel_umap import ParallelUMAP

__all__ = ["AUTO_MAX_KNN_FLOP", "AUTO_PREFERS_PARALLEL", "PARALLEL_MIN_ROWS", "exact_knn_is_cheap", "MANIFOLDS", "ParallelUMAP", "auto_manifold", "build_manifold", "default_exact_umap",
           "default_parallel", "default_umap", "exact_knn"]

#: the names N2D's ``manifold`` parameter accepts
MANIFOLDS = ("auto", "parallel", "umap", "umap-exact")

#: Whether "auto" may take ParallelUMAP (from :data:`PARALLEL_MIN_ROWS` rows). Shown as good as
#: umap-learn fed by the same exact neighbours on MNIST-70k autoencoder codes, seeds 0-2 of the
#: layout (``benchmarks/manifold_quality.py``, results/manifold_quality.csv, NOTES_n2d.md
#: session 7): the same mixture ACC and trustworthiness, its layout on two cores in ~36 s
#: against umap-learn's single-threaded ~65 s. Flipping it changes N2D's default labels from
#: that many rows.
AUTO_PREFERS_PARALLEL = True

#: "auto" takes ParallelUMAP from this many rows. Below it the whole UMAP fit takes seconds
#: (under 20 s on 10,000 codes), so umap-learn's reference layout is kept, with the labels the
#: suite's 10,000-image rows were measured with; above it the single-threaded layout is the
#: largest part of the manifold step.
PARALLEL_MIN_ROWS = 20_000

#: "auto" takes the exact neighbour search while it costs at most this many floating-point
#: operations (2 n^2 d): 1e12 is ~10 s of products on a 2-core CPU. MNIST-70k's 10-d codes need
#: 1e11, and took 12.8 s there, most of it the top-k over 70,000 columns per row, which grows
#: as n^2 whatever d is. Above it (raw pixels of tens of thousands of images, a million cells)
#: umap-learn's approximate search scales better than an exact one.
AUTO_MAX_KNN_FLOP = 1e12


def auto_manifold(n_samples: int, n_features: int | None) -> str:
    """The learner "auto" chooses: while an exact kNN is cheap, ParallelUMAP from
    :data:`PARALLEL_MIN_ROWS` rows (if :data:`AUTO_PREFERS_PARALLEL`) and umap-learn fed by the
    exact search below ("umap-exact"); else umap-learn with its own search.

    Why the exact search (``benchmarks/manifold_quality.py``, results/manifold_quality.csv,
    NOTES_n2d.md session 6): on PCA-10 of USPS and MNIST-test, seeds 0-2, a fresh process
    fitted N2D's UMAP in 14-19 s with it against 49-65 s with umap-learn's NN-descent (most of
    which is NN-descent's per-process compile: 70 s then 18 s for two fits in one process),
    with the same quality (trustworthiness equal to three decimals; GMM NMI 0.736 vs 0.739 and
    0.737 vs 0.736); on all 70,000 rows 119 s against 128 s.
    """
    if not exact_knn_is_cheap(n_samples, n_features):
        return "umap"
    return "parallel" if AUTO_PREFERS_PARALLEL and n_samples >= PARALLEL_MIN_ROWS else "umap-exact"


def exact_knn_is_cheap(n_samples: int, n_features: int | None) -> bool:
    """Whether an exact kNN of ``n_samples`` points in ``n_features`` dimensions fits :data:`AUTO_MAX_KNN_FLOP`."""
    return n_features is None or 2.0 * n_samples * n_samples * n_features <= AUTO_MAX_KNN_FLOP


#: N2D's UMAP settings (McConville et al. 2020), shared by every named learner
N2D_UMAP = {"n_neighbors": 20, "min_dist": 0.0}


def default_umap(n_components: int, seed: int):
    """umap-learn's UMAP as in N2D: ``n_neighbors=20, min_dist=0``, ``n_components`` = number of clusters."""
    from deepclust.methods._umap_cache import import_umap

    umap = import_umap()
    return umap.UMAP(**N2D_UMAP, n_components=n_components, metric="euclidean", random_state=seed)


def default_exact_umap(n_components: int, seed: int):
    """umap-learn's UMAP with N2D's settings whose neighbours come from the exact, multi-threaded
    search (:class:`~deepclust.methods.manifold._exact_umap.ExactKnnUMAP`; from 4,096 rows)."""
    from deepclust.methods.manifold._exact_umap import ExactKnnUMAP

    return ExactKnnUMAP(**N2D_UMAP, n_components=n_components, metric="euclidean", random_state=seed)


def default_parallel(n_components: int, seed: int) -> ParallelUMAP:
    """:class:`ParallelUMAP` with N2D's settings: ``n_neighbors=20, min_dist=0``."""
    return ParallelUMAP(**N2D_UMAP, n_components=n_components, random_state=seed)


def build_manifold(manifold, n_clusters: int, seed: int, n_samples: int, n_features: int | None = None):
    """The unfitted manifold learner for N2D.

    Parameters
    ----------
    manifold : {"auto", "parallel", "umap", "umap-exact"}, None or transformer
        None or "auto": :func:`auto_manifold`'s choice; "parallel": :class:`ParallelUMAP`;
        "umap": umap-learn's ``UMAP``; "umap-exact": umap-learn's UMAP fed by an exact
        neighbour search on every core (:func:`default_exact_umap`); all with
        ``n_neighbors=20, min_dist=0``. A transformer
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
        return {"umap": default_umap, "umap-exact": default_exact_umap, "parallel": default_parallel}[name](dim, seed)
    if not (hasattr(manifold, "fit_transform") and hasattr(manifold, "transform")):
        raise ValueError(
            f"manifold {type(manifold).__name__} cannot embed new points (it has no transform method); "
            "use UMAP, PCA or another transformer (t-SNE is not supported for this reason)"
        )
    m = clone(manifold)
    if "random_state" in m.get_params() and m.get_params()["random_state"] is None:
        m.set_params(random_state=seed)
    return m
