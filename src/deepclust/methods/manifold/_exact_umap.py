"""umap-learn's UMAP with an exact neighbour search on every core, for N2D's low-dimensional codes.

A seeded umap-learn runs single-threaded (its rule for reproducibility), and on 4,096 points or
more it finds neighbours by NN-descent: on MNIST-70k's 10-d codes that search was 44 of the
104 s of a UMAP fit on the 2-core CPU (benchmarks/PERFORMANCE.md). N2D's codes have few
dimensions, where an exact search is one blocked matrix product per block of rows plus a top-k
(:func:`~deepclust.methods.manifold._knn.exact_knn`): it runs on every core through torch, its
result does not depend on the thread count, and its neighbours are the true ones rather than
an approximation. This class hands those neighbours to umap-learn (its ``precomputed_knn``)
and leaves everything else (fuzzy graph, spectral start, layout, ``transform``) to umap-learn.

Below umap-learn's own small-data size (4,096 rows) umap-learn already computes all pairwise
distances, exactly; there this class *is* umap-learn's UMAP, call for call, so small data keep
their labels. New points in ``transform`` get their exact neighbours among the training codes
through the same search (:class:`ExactSearchIndex`, which answers umap-learn's index queries).
"""

from __future__ import annotations

import warnings

import numpy as np

from deepclust.methods._umap_cache import import_umap
from deepclust.methods.manifold._knn import exact_knn

_umap = import_umap()

#: umap-learn's own threshold: below it, UMAP computes the full distance matrix itself.
SMALL_DATA = 4096


class ExactSearchIndex:
    """Answers umap-learn's ``knn_search_index.query`` with :func:`exact_knn` against the training rows."""

    _angular_trees = False  # umap-learn reads it to choose the search's epsilon, which an exact search ignores

    def __init__(self, data: np.ndarray) -> None:
        self._data = np.ascontiguousarray(data, dtype=np.float32)

    def query(self, X, k: int, epsilon: float | None = None):
        indices, distances = exact_knn(np.asarray(X, dtype=np.float32), self._data, int(k))
        return indices.astype(np.int32), distances


class ExactKnnUMAP(_umap.UMAP):
    """umap-learn's ``UMAP`` whose neighbours come from an exact, multi-threaded search.

    Same parameters as ``umap.UMAP``. On Euclidean data of :data:`SMALL_DATA` rows or more,
    ``fit`` computes the ``n_neighbors`` exact neighbours (ties broken by index) and passes them
    as ``precomputed_knn``; otherwise, or when the caller gave ``precomputed_knn`` or another
    metric, it is umap-learn's ``fit`` unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(5000, 3)).astype(np.float32)
    >>> m = ExactKnnUMAP(n_neighbors=10, n_components=2, n_epochs=20, random_state=0).fit(X)
    >>> m.embedding_.shape, m.transform(X[:5] + 0.01).shape
    ((5000, 2), (5, 2))
    """

    def fit(self, X, y=None, *args, **kwargs):
        given = self.precomputed_knn is not None and self.precomputed_knn[0] is not None
        n = np.shape(X)[0]
        if given or self.metric != "euclidean" or n < SMALL_DATA or getattr(X, "ndim", 2) != 2 or hasattr(X, "tocsr"):
            return super().fit(X, y, *args, **kwargs)
        X = np.ascontiguousarray(X, dtype=np.float32)
        indices, distances = exact_knn(X, None, int(self.n_neighbors))
        self.precomputed_knn = (indices.astype(np.int32), distances, ExactSearchIndex(X))
        try:
            with warnings.catch_warnings():
                # umap-learn warns that an index other than pynndescent's cannot transform; this one can
                warnings.filterwarnings("ignore", message=r".*knn_search_index.*")
                return super().fit(X, y, *args, **kwargs)
        finally:
            self.precomputed_knn = (None, None, None)  # a parameter again: clone and save see the default
