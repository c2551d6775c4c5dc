"""AutoencoderClustering: an autoencoder embedding, then any clusterer on it."""

from __future__ import annotations

import os

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from deepclust.methods._base import Float32OutputMixin, draw_seed, seed_stream
from deepclust.methods._clusterers import Assigner, fit_assigner, has_predict_proba, make_clusterer
from deepclust.methods._persist import load_model, nested_state, prefixed, register_model, restore_nested, save_model, unprefixed
from deepclust.methods.embedding import AutoencoderEmbedding
from deepclust.methods.streaming import as_input_for, check_array_or_disk


def check_n_clusters(n_clusters, n_samples: int, *, X: np.ndarray | None = None) -> int:
    """Validate the number of clusters against the data size (and, given ``X``, its content).

    Raises
    ------
    ValueError
        ``n_clusters`` is not an integer in [2, n_samples], or every row of ``X`` is the same
        (a constant data set has no clusters; typically a column mix-up or an empty export).
    """
    if not isinstance(n_clusters, (int, np.integer)) or isinstance(n_clusters, bool):
        raise ValueError(f"n_clusters must be an integer, got {n_clusters!r}")
    if n_clusters < 2:
        raise ValueError(f"n_clusters must be at least 2, got {n_clusters}")
    if n_clusters > n_samples:
        raise ValueError(f"n_clusters={n_clusters} is larger than the number of samples ({n_samples})")
    if X is not None:
        check_distinct_rows(X, int(n_clusters))
    return int(n_clusters)


def check_distinct_rows(X: np.ndarray, n_clusters: int = 2) -> None:
    """Refuse a data set whose rows are all identical: there is nothing to cluster.

    Typically a column mix-up or an empty export. Rows 0 and 1 differ in almost every data
    set, so that comparison comes first and keeps the check cheap.
    """
    if X.shape[0] > 1 and not (X[1] != X[0]).any() and bool((X == X[:1]).all()):
        raise ValueError(
            f"all {X.shape[0]} rows of X are identical, so there is nothing to cluster; expected data with at least "
            f"{int(n_clusters)} distinct rows (check the columns that were read)"
        )


def fit_embedding(embedding, seed: int, X: np.ndarray):
    """Fit the representation and return ``(fitted estimator, codes of X)``.

    ``embedding`` is None (the default :class:`AutoencoderEmbedding`), an unfitted transformer
    (cloned, seeded if unseeded, fitted), or the path of a saved, already trained embedding
    (warm start: loaded and used as is, so one pretraining serves many methods).
    """
    if isinstance(embedding, (str, os.PathLike)):
        from deepclust.methods._persist import load_model

        est = load_model(embedding)
        if not hasattr(est, "transform") or not hasattr(est, "n_features_in_") or hasattr(est, "labels_"):
            raise ValueError(f"{str(embedding)!r} holds a {type(est).__name__}, not a pretrained embedding")
        if est.n_features_in_ != X.shape[1]:
            raise ValueError(f"pretrained embedding {str(embedding)!r} expects {est.n_features_in_} features, the data have {X.shape[1]}")
        return est, np.asarray(est.transform(as_input_for(est, X)), dtype=np.float32)
    est = AutoencoderEmbedding() if embedding is None else clone(embedding)
    if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
        est.set_params(random_state=seed)
    Z = est.fit_transform(as_input_for(est, X))
    return est, np.asarray(Z, dtype=np.float32)


def _has_predict_proba(est) -> bool:
    # predict_proba exists only for probabilistic clusterers, so hasattr() tells the truth.
    return has_predict_proba(est, default=False)


@register_model
class AutoencoderClustering(Float32OutputMixin, ClusterMixin, TransformerMixin, BaseEstimator):
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
        X = check_array_or_disk(X, min_samples=2)
        k = check_n_clusters(self.n_clusters, X.shape[0], X=X if isinstance(X, np.ndarray) else None)  # on disk: not read twice
        rng = seed_stream(self.random_state)
        emb_seed, clu_seed = draw_seed(rng), draw_seed(rng)
        clusterer = make_clusterer(self.clusterer, k, clu_seed, n_samples=X.shape[0])  # validate before training
        embedding = self._default_embedding() if self.embedding is None else self.embedding
        self.embedding_, Z = fit_embedding(embedding, emb_seed, X)
        self._assigner, self.labels_ = fit_assigner(clusterer, Z)
        self.clusterer_ = clusterer
        self.cluster_centers_ = self._assigner.centers(Z, self.labels_)
        self.n_features_in_ = X.shape[1]
        return self

    def _default_embedding(self):
        """The embedding used when ``embedding=None`` (subclasses swap it, e.g. for a VAE)."""
        return AutoencoderEmbedding()

    def transform(self, X) -> np.ndarray:
        """The embedding of ``X``: (n_samples, latent_dim)."""
        check_is_fitted(self, "labels_")
        return self.embedding_.transform(as_input_for(self.embedding_, check_array_or_disk(X, n_features=self.n_features_in_, owner=type(self).__name__)))

    def predict(self, X) -> np.ndarray:
        """Cluster labels for new data; ``predict(X_train)`` equals ``labels_``."""
        check_is_fitted(self, "labels_")
        return self._assigner.predict(self.transform(X))

    @available_if(_has_predict_proba)
    def predict_proba(self, X) -> np.ndarray:
        """Cluster probabilities (n_samples, n_clusters); needs ``clusterer="gmm"``."""
        check_is_fitted(self, "labels_")
        return self._assigner.predict_proba(self.transform(X))

    def save(self, path, *, overwrite: bool = False):
        """Save to folder ``path`` as JSON + safetensors (no pickle)."""
        check_is_fitted(self, "labels_")
        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        return load_model(path, expected=cls)

    def _save_state(self):
        emb_meta, emb_arrays = nested_state(self.embedding_)
        a_meta, a_arrays = self._assigner.state()
        meta = {
            "embedding": emb_meta,
            "assigner": a_meta,
            "n_features_in": int(self.n_features_in_),
        }
        arrays = {**prefixed("embedding", emb_arrays), **prefixed("assigner", a_arrays), "labels": self.labels_, "centers": self.cluster_centers_}
        return meta, arrays

    def _load_state(self, meta, arrays):
        self.embedding_ = restore_nested(meta["embedding"], unprefixed("embedding", arrays))
        self._assigner = Assigner.from_state(meta["assigner"], unprefixed("assigner", arrays))
        self.clusterer_ = self._assigner.estimator
        self.labels_ = arrays["labels"]
        self.cluster_centers_ = arrays["centers"]
        self.n_features_in_ = int(meta["n_features_in"])

