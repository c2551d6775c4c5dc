"""RawClustering: a clusterer on the input features themselves (the baselines of every table)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from deepclust.methods._base import check_array_2d, draw_seed, seed_stream
from deepclust.methods._clusterers import Assigner, fit_assigner, make_clusterer
from deepclust.methods._persist import load_model, prefixed, register_model, save_model, unprefixed
from deepclust.methods.clustering import check_n_clusters


@register_model
class RawClustering(ClusterMixin, BaseEstimator):
    """k-means, GMM or agglomerative clustering of the raw features, with save/load and predict.

    The reference baselines ("k-means (raw)", "GMM (raw)") behind the same interface as the
    deep methods, so that benchmarks and the CLI treat them alike.

    Parameters
    ----------
    n_clusters : int, default=10
    clusterer : {"kmeans", "gmm", "agglomerative"} or scikit-learn clusterer, default="kmeans"
    random_state : int, numpy Generator or None, default=None

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(100, centers=3, random_state=0)
    >>> RawClustering(3, random_state=0).fit(X).labels_.shape
    (100,)
    """

    def __init__(self, n_clusters: int = 10, clusterer="kmeans", random_state=None) -> None:
        self.n_clusters = n_clusters
        self.clusterer = clusterer
        self.random_state = random_state

    def fit(self, X, y=None):
        X = check_array_2d(X, min_samples=2)
        k = check_n_clusters(self.n_clusters, X.shape[0], X=X)
        clusterer = make_clusterer(self.clusterer, k, draw_seed(seed_stream(self.random_state)), n_samples=X.shape[0])
        self._assigner, self.labels_ = fit_assigner(clusterer, X)
        self.clusterer_ = clusterer
        self.cluster_centers_ = self._assigner.centers(X, self.labels_)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        """The input itself (validated), so plots and internal metrics see what was clustered."""
        check_is_fitted(self, "labels_")
        return check_array_2d(X, n_features=self.n_features_in_)

    def predict(self, X) -> np.ndarray:
        return self._assigner.predict(self.transform(X))

    def predict_proba(self, X) -> np.ndarray:
        return self._assigner.predict_proba(self.transform(X))

    def save(self, path, *, overwrite: bool = False):
        check_is_fitted(self, "labels_")
        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        return load_model(path, expected=cls)

    def _save_state(self):
        a_meta, a_arrays = self._assigner.state()
        meta = {"assigner": a_meta, "n_features_in": int(self.n_features_in_)}
        return meta, {**prefixed("assigner", a_arrays), "labels": self.labels_, "centers": self.cluster_centers_}

    def _load_state(self, meta, arrays):
        self._assigner = Assigner.from_state(meta["assigner"], unprefixed("assigner", arrays))
        self.clusterer_ = self._assigner.estimator
        self.labels_ = arrays["labels"]
        self.cluster_centers_ = arrays["centers"]
        self.n_features_in_ = int(meta["n_features_in"])
