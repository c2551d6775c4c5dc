"""AutoencoderClustering: an autoencoder embedding, then any clusterer on it."""

from __future__ import annotations

from deepclust.methods._base import draw_seed, seed_stream
from deepclust.methods._clusterers import fit_assigner, make_clusterer
from deepclust.methods._composite import AssignerClusterer, check_distinct_rows, check_n_clusters, fit_embedding
from deepclust.methods._persist import register_model
from deepclust.methods.embedding import AutoencoderEmbedding

__all__ = ["AutoencoderClustering", "check_distinct_rows", "check_n_clusters", "fit_embedding"]  # the helpers live in _composite


@register_model
class AutoencoderClustering(AssignerClusterer):
    """Cluster the codes of an autoencoder: the "AE + k-means" baseline of the DEC literature.

    Parameters
    ----------
    n_clusters : int, default=10
    clusterer : {"kmeans", "gmm", "agglomerative"} or scikit-learn clusterer, default="kmeans"
        "kmeans": k-means++ with 10 inits; "gmm": full-covariance Gaussian mixture;
        "agglomerative": Ward linkage (new points take the label of their nearest training
        point; limited to 20,000 samples). An object is cloned and used as is.
    embedding : AutoencoderEmbedding or transformer, default=None
        The representation learner; None uses ``AutoencoderEmbedding()`` with its defaults.
    random_state : int, numpy Generator or None, default=None
        Seeds every component that was not given its own seed.

    Attributes
    ----------
    embedding_ : fitted transformer
    clusterer_ : fitted clusterer
    labels_ : ndarray of shape (n_samples,)
    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
        The clusterer's centres when it has them, else the mean code of each cluster.
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(200, n_features=6, centers=3, random_state=0)
    >>> emb = AutoencoderEmbedding(latent_dim=2, hidden_dims=(16,), epochs=5)
    >>> model = AutoencoderClustering(3, embedding=emb, random_state=0).fit(X)
    >>> model.labels_.shape
    (200,)
    """

    def __init__(self, n_clusters: int = 10, clusterer="kmeans", embedding=None, random_state=None) -> None:
        self.n_clusters = n_clusters
        self.clusterer = clusterer
        self.embedding = embedding
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit the embedding, then the clusterer on the codes; ``y`` is ignored.

        ``X`` may be data on disk (a ``.npy``/``.parquet`` path, ``np.memmap``, ...): the
        autoencoder streams it and only the codes are held in memory.
        """
        X, k = self._start_fit(X)
        rng = seed_stream(self.random_state)
        emb_seed, clu_seed = draw_seed(rng), draw_seed(rng)
        clusterer = make_clusterer(self.clusterer, k, clu_seed, n_samples=X.shape[0])  # validate before training
        self.embedding_, Z = self._fit_embedding(X, emb_seed)
        self._assigner, self.labels_ = fit_assigner(clusterer, Z)
        self.clusterer_ = clusterer
        self.cluster_centers_ = self._assigner.centers(Z, self.labels_)
        self.n_features_in_ = X.shape[1]
        return self
