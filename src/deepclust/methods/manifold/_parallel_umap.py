"""ParallelUMAP: UMAP's embedding on every core, with the same result for any thread count."""

from __future__ import annotations

import hashlib
import logging
import time

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from deepclust.methods._composite import store_params
from deepclust.methods._params import POSITIVE_INT, POSITIVE_REAL, Integral, Interval, Real
from deepclust.methods._umap_cache import import_umap
from deepclust.methods.manifold._knn import exact_knn
from deepclust.methods.manifold._layout import optimize_layout

logger = logging.getLogger(__name__)


def _digest(X: np.ndarray) -> str:
    """A fingerprint of the training codes, to recognise them in ``transform`` (as umap-learn does)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    return hashlib.sha1(X.tobytes() + repr(X.shape).encode()).hexdigest()


class ParallelUMAP(TransformerMixin, BaseEstimator):
    """UMAP (McInnes et al., 2018) with an exact neighbour search and a parallel, reproducible layout.

    The same seed gives the same embedding bytes whatever the number of torch and numba
    threads. Three steps: exact k nearest neighbours (a blocked torch product; ties broken by
    index), umap-learn's fuzzy simplicial set and spectral initialisation on those neighbours,
    and umap-learn's layout optimisation rewritten to run in parallel rounds of points, each point
    walking its own edges in place as umap-learn's sequential optimiser does (``_layout.py``
    says why and how). ``transform`` embeds new points against the fixed training layout, as
    umap-learn does.

    Parameters
    ----------
    n_neighbors : int, default=15
        Neighbours per point, the point itself included (umap-learn's convention).
    n_components : int, default=2
    min_dist : float, default=0.1
    spread : float, default=1.0
    n_epochs : int or None, default=None
        None: 500 below 10,000 points, else 200 (umap-learn's rule).
    learning_rate : float, default=1.0
    negative_sample_rate : int, default=5
    repulsion_strength : float, default=1.0
    random_state : int, RandomState or None, default=None
    block_rows : int or None, default=None
        Query rows per block of the neighbour search (memory ~ ``block_rows * n * 4`` bytes);
        None: blocks of about 256 MiB.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components), float32
    graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        The fuzzy simplicial set the layout was optimised for.
    n_features_in_ : int

    Notes
    -----
    The layout synchronises its threads 64 times an epoch. On a machine with more runnable
    threads than cores, numba's OpenMP threads spin at each barrier by default, which made two
    threads 4x slower than one (70 s vs 17 s for the layout of 20,000 points);
    ``OMP_WAIT_POLICY=PASSIVE`` in the environment before Python starts gave 15 s
    (NOTES_n2d.md, session 5). On a nearly idle machine two threads took 8.8 s, one 16-19 s.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(300, 5))
    >>> emb = ParallelUMAP(n_neighbors=10, random_state=0).fit(X)
    >>> emb.embedding_.shape, emb.transform(X[:4]).shape
    ((300, 2), (4, 2))
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 2, None, closed="left")],
        "n_components": POSITIVE_INT,
        "min_dist": [Interval(Real, 0, None, closed="left")],
        "spread": POSITIVE_REAL,
        "n_epochs": [*POSITIVE_INT, None],
        "learning_rate": POSITIVE_REAL,
        "negative_sample_rate": POSITIVE_INT,
        "repulsion_strength": POSITIVE_REAL,
        "random_state": ["random_state"],
        "block_rows": [*POSITIVE_INT, None],
    }

    def __init__(self, n_neighbors=15, n_components=2, min_dist=0.1, spread=1.0, n_epochs=None, learning_rate=1.0,
                 negative_sample_rate=5, repulsion_strength=1.0, random_state=None, block_rows=None) -> None:
        store_params(self, locals())

    def _check_params(self, n_samples: int) -> None:
        self._validate_params()
        if not all(np.isfinite(getattr(self, name)) for name in ("min_dist", "spread", "learning_rate", "repulsion_strength")):
            raise ValueError("min_dist, spread, learning_rate and repulsion_strength must be finite")
        if self.min_dist > self.spread:
            raise ValueError(f"min_dist={self.min_dist} must not exceed spread={self.spread}")
        if n_samples <= self.n_components + 1:
            raise ValueError(f"need more than n_components + 1 = {self.n_components + 1} samples, got {n_samples}")

    def fit(self, X, y=None):
        """Fit the embedding of ``X`` (n_samples, n_features); ``y`` is ignored."""
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        """Fit and return the embedding of ``X``: (n_samples, n_components), float32."""
        import scipy.sparse

        import_umap()  # numba's on-disk cache for umap's functions: compiled once per machine, not per process
        from umap.spectral import spectral_layout
        from umap.umap_ import find_ab_params, fuzzy_simplicial_set, noisy_scale_coords

        X = check_array(X, dtype=np.float32, ensure_min_samples=2)
        n = X.shape[0]
        self._check_params(n)
        rng = check_random_state(self.random_state)
        k = min(self.n_neighbors, n)
        t0 = time.perf_counter()
        knn_i, knn_d = exact_knn(X, None, k, block_rows=self.block_rows)
        t1 = time.perf_counter()
        # umap-learn builds the fuzzy set from given neighbours (knn_indices/knn_dists): reused as is
        graph, _, _ = fuzzy_simplicial_set(X, k, rng, "euclidean", knn_indices=knn_i, knn_dists=knn_d)
        n_epochs = self.n_epochs if self.n_epochs is not None else (500 if n <= 10000 else 200)
        graph = scipy.sparse.coo_matrix(graph)
        graph.sum_duplicates()
        graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0  # umap-learn's pruning
        graph.eliminate_zeros()
        init = noisy_scale_coords(spectral_layout(X, graph, self.n_components, rng), rng, max_coord=10, noise=0.0001)
        init = 10.0 * (init - init.min(0)) / (init.max(0) - init.min(0))  # as simplicial_set_embedding does
        self._a, self._b = (float(v) for v in find_ab_params(self.spread, self.min_dist))
        t2 = time.perf_counter()
        seed = int(rng.randint(0, 2**31 - 1))
        self.embedding_ = optimize_layout(init, graph, n_epochs=n_epochs, a=self._a, b=self._b, seed=seed,
                                          gamma=self.repulsion_strength, learning_rate=self.learning_rate,
                                          negative_sample_rate=self.negative_sample_rate)
        logger.info("ParallelUMAP on %d x %d: kNN %.1f s, fuzzy set + spectral start %.1f s, %d layout epochs %.1f s",
                    n, X.shape[1], t1 - t0, t2 - t1, n_epochs, time.perf_counter() - t2)
        self.graph_ = graph.tocsr()
        self._train_X, self._train_digest, self._seed = X, _digest(X), seed
        self.n_features_in_ = X.shape[1]
        return self.embedding_

    def transform(self, X) -> np.ndarray:
        """Embed new points into the fitted layout: (n_samples, n_components), float32.

        The training data itself returns ``embedding_`` unchanged, as umap-learn does.
        """
        import scipy.sparse

        import_umap()
        from umap.umap_ import compute_membership_strengths, init_graph_transform, smooth_knn_dist

        check_is_fitted(self, "embedding_")
        X = check_array(X, dtype=np.float32)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but ParallelUMAP was fitted with {self.n_features_in_}")
        if _digest(X) == self._train_digest:
            return self.embedding_.copy()
        k = min(self.n_neighbors, self._train_X.shape[0])
        knn_i, knn_d = exact_knn(X, self._train_X, k, block_rows=self.block_rows)
        # umap-learn's transform: local_connectivity 1 - 1 = 0, as the point itself is not among the neighbours
        sigmas, rhos = smooth_knn_dist(knn_d, float(k), local_connectivity=0.0)
        rows, cols, vals, _ = compute_membership_strengths(knn_i, knn_d, sigmas, rhos, bipartite=True)
        graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(X.shape[0], self._train_X.shape[0])).tocsr()
        graph.eliminate_zeros()
        init = np.asarray(init_graph_transform(graph, self.embedding_), dtype=np.float64)
        n_epochs = (100 if X.shape[0] <= 10000 else 30) if self.n_epochs is None else max(1, self.n_epochs // 3)
        graph = graph.tocoo()
        graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
        graph.eliminate_zeros()
        return optimize_layout(init, graph, n_epochs=n_epochs, a=self._a, b=self._b, seed=self._seed + 1, tail_Y=self.embedding_,
                               gamma=self.repulsion_strength, learning_rate=self.learning_rate,
                               negative_sample_rate=self.negative_sample_rate)
