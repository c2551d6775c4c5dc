"""RawClustering: a clusterer on the input features themselves (the baselines of every table)."""

from __future__ import annotations

from deepclust.methods._base import draw_seed, seed_stream
from deepclust.methods._clusterers import fit_assigner, make_clusterer
from deepclust.methods._composite import AssignerClusterer
from deepclust.methods._persist import register_model


@register_model
class RawClustering(AssignerClusterer):
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

    _reads_disk_input = False
    _has_embedding = False  # transform is the validated input itself

    def __init__(self, n_clusters: int = 10, clusterer="kmeans", random_state=None) -> None:
        self.n_clusters = n_clusters
        self.clusterer = clusterer
        self.random_state = random_state

    def fit(self, X, y=None):
        """Cluster ``X`` (n_samples, n_features); ``y`` is ignored."""
        X, k = self._start_fit(X)
        clusterer = make_clusterer(self.clusterer, k, draw_seed(seed_stream(self.random_state)), n_samples=X.shape[0])
        self._assigner, self.labels_ = fit_assigner(clusterer, X)
        self.clusterer_ = clusterer
        self.cluster_centers_ = self._assigner.centers(X, self.labels_)
        self.n_features_in_ = X.shape[1]
        return self
