"""LeidenClustering: community detection on a k-nearest-neighbour graph of an embedding."""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import scipy.sparse
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from deepclust.methods._base import draw_seed, seed_stream
from deepclust.methods._composite import EmbeddingClusterer, store_params
from deepclust.methods._params import POSITIVE_INT, POSITIVE_REAL, StrOptions
from deepclust.methods._persist import register_model
from deepclust.methods.clustering import check_distinct_rows
from deepclust.methods.identity import RawFeatures

logger = logging.getLogger(__name__)

_CONNECTIVITIES = ("umap", "binary")


def _import_leiden():
    try:
        import igraph
        import leidenalg
    except ImportError:
        raise ImportError('Leiden clustering needs leidenalg and igraph: pip install "deepclust[graph]"') from None
    return igraph, leidenalg


def knn_graph(Z: np.ndarray, n_neighbors: int, connectivity: str = "umap", seed: int = 0) -> scipy.sparse.csr_matrix:
    """Symmetric weighted k-nearest-neighbour graph (n, n) of the rows of ``Z``.

    Exact neighbours (scikit-learn). ``"umap"`` weighs the edges with UMAP's fuzzy simplicial
    set (each point's distances rescaled by its local density, then a fuzzy union), as
    scanpy's ``pp.neighbors`` does; ``"binary"`` gives weight 1 to every edge of the
    symmetrised graph.
    """
    k = min(int(n_neighbors), Z.shape[0] - 1)
    dist, idx = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z)
    n = Z.shape[0]
    if connectivity == "umap":
        from deepclust.methods._umap_cache import enable_umap_jit_cache

        enable_umap_jit_cache()
        from umap.umap_ import fuzzy_simplicial_set

        graph, _, _ = fuzzy_simplicial_set(
            Z, k + 1, np.random.RandomState(seed), "euclidean", knn_indices=idx, knn_dists=dist.astype(np.float32)
        )
        graph = scipy.sparse.csr_matrix(graph)
    else:
        rows = np.repeat(np.arange(n), k + 1)
        graph = scipy.sparse.csr_matrix((np.ones(rows.size), (rows, idx.ravel())), shape=(n, n))
        graph = ((graph + graph.T) > 0).astype(np.float64)
    graph.setdiag(0)
    graph.eliminate_zeros()
    return graph.tocsr()


def leiden_partition(graph: scipy.sparse.csr_matrix, resolution: float, seed: int) -> np.ndarray:
    """Leiden communities (n,) of a weighted graph under the RB configuration model.

    Communities are numbered by size, the largest 0 (leidenalg's order).
    """
    igraph, leidenalg = _import_leiden()
    upper = scipy.sparse.triu(graph, k=1).tocoo()
    g = igraph.Graph(n=graph.shape[0], edges=np.column_stack([upper.row, upper.col]).tolist(), directed=False)
    part = leidenalg.find_partition(
        g, leidenalg.RBConfigurationVertexPartition, weights=upper.data.tolist(), resolution_parameter=float(resolution), n_iterations=-1, seed=int(seed)
    )
    return np.asarray(part.membership, dtype=np.int64)


def search_resolution(graph, n_clusters: int, start: float, seed: int, max_steps: int = 30) -> tuple[np.ndarray, float]:
    """Bisect the (log) resolution until Leiden finds ``n_clusters`` communities.

    More resolution, more communities. Returns the partition with exactly ``n_clusters``
    communities, or (with a warning) the closest one found.
    """
    lo, hi = None, None  # resolutions known to give too few / too many
    r = float(start)
    best = None
    for _ in range(max_steps):
        labels = leiden_partition(graph, r, seed)
        m = int(labels.max()) + 1
        if best is None or abs(m - n_clusters) < abs(best[2] - n_clusters):
            best = (labels, r, m)
        if m == n_clusters:
            return labels, r
        if m < n_clusters:
            lo = r
            r = r * 2 if hi is None else math.sqrt(r * hi)
        else:
            hi = r
            r = r / 2 if lo is None else math.sqrt(lo * r)
    warnings.warn(
        f"Leiden found no resolution giving exactly {n_clusters} communities; using {best[2]} at resolution {best[1]:.4g}",
        RuntimeWarning,
        stacklevel=3,
    )
    return best[0], best[1]


@register_model
class LeidenClustering(EmbeddingClusterer):
    """Leiden community detection on a kNN graph of an embedding, as single-cell tools do.

    The embedding (raw features by default, or any deepclust embedding) is turned into a
    k-nearest-neighbour graph with UMAP's fuzzy weights, and the Leiden algorithm (Traag,
    Waltman & van Eck 2019; leidenalg + igraph) partitions it, maximising modularity under
    the RB configuration model with a ``resolution`` parameter (higher: more, smaller
    communities). With ``n_clusters`` given, the resolution is searched by bisection until
    exactly that many communities appear.

    Leiden labels the graph's nodes and has no rule for new points; ``predict`` gives a new
    point the majority label of its ``n_neighbors`` nearest training points in the
    embedding, weighted by inverse distance (so a training point gets back its own label).

    Parameters
    ----------
    n_clusters : int or None, default=None
        None: as many communities as ``resolution`` gives.
    resolution : float, default=1.0
        The resolution, or the start of the search when ``n_clusters`` is given.
    n_neighbors : int, default=15
    connectivity : {"umap", "binary"}, default="umap"
    embedding : transformer, str, path or None, default=None
        None: the features themselves.
    random_state : int, numpy Generator or None, default=None

    Attributes
    ----------
    embedding_ : fitted transformer
    labels_ : ndarray of shape (n_samples,)
    n_clusters_ : int
    resolution_ : float
        The resolution that produced ``labels_``.
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(300, n_features=5, centers=3, random_state=0)
    >>> LeidenClustering(n_clusters=3, random_state=0).fit(X).n_clusters_
    3

    References
    ----------
    Traag, Waltman & van Eck (2019). From Louvain to Leiden: guaranteeing well-connected
    communities. Scientific Reports 9, 5233.
    """

    _reads_disk_input = False
    _parameter_constraints = {
        "resolution": POSITIVE_REAL,
        "n_neighbors": POSITIVE_INT,
        "connectivity": [StrOptions(set(_CONNECTIVITIES))],
    }

    def __init__(self, n_clusters=None, resolution: float = 1.0, n_neighbors: int = 15, connectivity: str = "umap", embedding=None, random_state=None) -> None:
        store_params(self, locals())

    def fit(self, X, y=None):
        """Embed ``X``, build the kNN graph and find its communities; ``y`` is ignored."""
        X, k = self._start_fit(X)
        check_distinct_rows(X)
        _import_leiden()  # fail before any training
        rng = seed_stream(self.random_state)
        emb_seed, graph_seed, leiden_seed = draw_seed(rng), draw_seed(rng), draw_seed(rng)
        self.embedding_, Z = self._fit_embedding(X, emb_seed)
        graph = knn_graph(Z, self.n_neighbors, self.connectivity, graph_seed)
        if k is None:
            labels, r = leiden_partition(graph, self.resolution, leiden_seed), float(self.resolution)
        else:
            labels, r = search_resolution(graph, k, self.resolution, leiden_seed)
        self.resolution_ = r
        self.n_clusters_ = int(labels.max()) + 1
        self._fit_voter(Z, labels)
        self.labels_ = labels
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_voter(self, Z: np.ndarray, labels: np.ndarray) -> None:
        k = min(int(self.n_neighbors), Z.shape[0])
        self._voter = KNeighborsClassifier(n_neighbors=k, weights="distance").fit(Z, labels)
        self._train = (np.asarray(Z, dtype=np.float32), np.asarray(labels, dtype=np.int64))

    def _default_embedding(self):
        return RawFeatures()

    def _predict_codes(self, Z: np.ndarray) -> np.ndarray:
        """Distance-weighted majority label of the nearest training points in the embedding."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=RuntimeWarning)  # a zero distance: exact match
            return self._voter.predict(Z).astype(np.int64)

    def _extra_state(self):
        Z, labels = self._train
        return {"resolution": self.resolution_, "n_clusters": self.n_clusters_}, {"train_embedding": Z, "train_labels": labels}

    def _restore_extra(self, meta, arrays):
        self._fit_voter(arrays["train_embedding"], arrays["train_labels"])
        self.resolution_ = float(meta["resolution"])
        self.n_clusters_ = int(meta["n_clusters"])
