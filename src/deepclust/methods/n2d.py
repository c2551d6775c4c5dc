"""N2D: autoencoder embedding, then a manifold learner, then a Gaussian mixture."""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.mixture import GaussianMixture
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from deepclust.methods._base import Float32OutputMixin, draw_seed, seed_stream
from deepclust.methods._clusterers import Assigner, fit_assigner, has_predict_proba, make_clusterer
from deepclust.methods._persist import (
    decode_param,
    encode_param,
    load_model,
    nested_state,
    prefixed,
    register_model,
    restore_nested,
    save_model,
    unprefixed,
)
from deepclust.methods._umap_cache import enable_umap_jit_cache
from deepclust.methods.manifold import build_manifold, default_umap  # noqa: F401 - default_umap: public name kept here
from deepclust.methods.clustering import check_n_clusters, fit_embedding
from deepclust.methods.streaming import as_input_for, check_array_or_disk

logger = logging.getLogger(__name__)


def _fit_manifold(manifold, Z: np.ndarray) -> np.ndarray:
    if type(manifold).__module__.startswith("umap"):
        enable_umap_jit_cache()  # also for a UMAP the user built: compile once per machine, not per process
    with warnings.catch_warnings():
        # A seeded UMAP runs single-threaded and says so on every fit; that is the price of
        # reproducible labels and not something the user needs to read each time.
        warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
        return np.asarray(manifold.fit_transform(Z), dtype=np.float32)


def _has_predict_proba(est) -> bool:
    # predict_proba exists only for probabilistic clusterers, so hasattr() tells the truth.
    return has_predict_proba(est, default=True)


@register_model
class N2D(Float32OutputMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """N2D: "(Not Too) Deep Clustering via Clustering the Local Manifold of an Autoencoded Embedding".

    An autoencoder embedding, reshaped by UMAP so that local structure becomes cluster
    structure, then clustered by a full-covariance Gaussian mixture (McConville et al., ICPR
    2020). Each piece is a swappable object.

    Parameters
    ----------
    n_clusters : int, default=10
    embedding : transformer, default=None
        None: ``AutoencoderEmbedding(latent_dim=n_clusters)``, the paper's d-500-500-2000-k.
    manifold : {"auto", "parallel", "umap"}, transformer with ``transform`` or None, default=None
        None or "auto": umap-learn for now (``manifold.auto_manifold``; ParallelUMAP once measured
        at least as good); "parallel": ``ParallelUMAP`` (every
        core, same result for any thread count); "umap": umap-learn's ``UMAP``; both with
        ``n_neighbors=20, min_dist=0, n_components=n_clusters``. An object must be able to
        embed new points, which is why t-SNE is not accepted (``manifold.build_manifold``).
    clusterer : {"kmeans", "gmm", "agglomerative"} or clusterer, default=None
        None: ``GaussianMixture(n_clusters, covariance_type="full")``.
    random_state : int, numpy Generator or None, default=None
        Seeds every component that was not given its own seed; the same int gives the same
        labels on CPU.

    Attributes
    ----------
    embedding_, manifold_, clusterer_ : fitted components
    labels_ : ndarray of shape (n_samples,)
    embedding_train_ : ndarray of shape (n_samples, n_components)
        The manifold coordinates the clusters were found in.
    n_features_in_ : int

    Notes
    -----
    A saved N2D stores the training codes and re-fits the manifold learner on them when first
    used after loading (UMAP cannot be saved without pickle). With a fixed seed the re-fit
    reproduces the training embedding; a mismatch is reported as a warning.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from deepclust.methods import AutoencoderEmbedding
    >>> X, _ = make_blobs(300, n_features=8, centers=3, random_state=0)
    >>> emb = AutoencoderEmbedding(latent_dim=3, hidden_dims=(32,), epochs=5)
    >>> N2D(3, embedding=emb, random_state=0).fit(X).labels_.shape
    (300,)
    """

    def __init__(self, n_clusters: int = 10, embedding=None, manifold=None, clusterer=None, random_state=None) -> None:
        self.n_clusters = n_clusters
        self.embedding = embedding
        self.manifold = manifold
        self.clusterer = clusterer
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit embedding, manifold and mixture on ``X`` (n_samples, n_features); ``y`` is ignored.

        ``X`` may be data on disk (a ``.npy``/``.parquet`` path, ``np.memmap``, ...), which the
        autoencoder streams; the manifold learner and the mixture work on the codes in memory.
        """
        X = check_array_or_disk(X, min_samples=2)
        k = check_n_clusters(self.n_clusters, X.shape[0], X=X if isinstance(X, np.ndarray) else None)  # on disk: not read twice
        rng = seed_stream(self.random_state)
        emb_seed, man_seed, clu_seed = draw_seed(rng), draw_seed(rng), draw_seed(rng)
        if self.clusterer is None:
            clusterer = GaussianMixture(n_components=k, covariance_type="full", random_state=clu_seed)
        else:
            clusterer = make_clusterer(self.clusterer, k, clu_seed, n_samples=X.shape[0])
        self._make_manifold(k, man_seed, X.shape[0])  # a bad manifold fails before the autoencoder trains
        embedding = self.embedding
        if embedding is None:
            from deepclust.methods.embedding import AutoencoderEmbedding

            embedding = AutoencoderEmbedding(latent_dim=k)
        self.embedding_, Z = fit_embedding(embedding, emb_seed, X)
        manifold = self._make_manifold(k, man_seed, X.shape[0], Z.shape[1])  # "auto" looks at the codes' dimension
        M = _fit_manifold(manifold, Z)
        self._assigner, self.labels_ = fit_assigner(clusterer, M)
        self.manifold_, self.clusterer_ = manifold, clusterer
        self.embedding_train_ = M
        self._codes = Z
        self.n_features_in_ = X.shape[1]
        return self

    def _make_manifold(self, k: int, seed: int, n_samples: int, n_features: int | None = None):
        return build_manifold(self.manifold, k, seed, n_samples, n_features)

    def _manifold(self):
        """The fitted manifold learner, re-fitted from the stored codes after :meth:`load`."""
        if self.manifold_ is None:
            m = self._manifold_template
            logger.info("re-fitting %s on %d stored training codes", type(m).__name__, self._codes.shape[0])
            M = _fit_manifold(m, self._codes)
            if M.shape != self.embedding_train_.shape or not np.allclose(M, self.embedding_train_, atol=1e-4):
                warnings.warn(
                    f"the re-fitted {type(m).__name__} does not reproduce the saved training embedding exactly; "
                    "predictions may differ slightly from before saving",
                    RuntimeWarning,
                    stacklevel=3,
                )
            self.manifold_ = m
        return self.manifold_

    def transform(self, X) -> np.ndarray:
        """Manifold coordinates of ``X``: (n_samples, n_components), the space the clusters live in."""
        check_is_fitted(self, "labels_")
        Z = self.embedding_.transform(as_input_for(self.embedding_, check_array_or_disk(X, n_features=self.n_features_in_, owner=type(self).__name__)))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
            return np.asarray(self._manifold().transform(Z), dtype=np.float32)

    def predict(self, X) -> np.ndarray:
        """Cluster labels for new data; ``predict(X_train)`` equals ``labels_``."""
        check_is_fitted(self, "labels_")
        return self._assigner.predict(self.transform(X))

    @available_if(_has_predict_proba)
    def predict_proba(self, X) -> np.ndarray:
        """Posterior probabilities of the Gaussian mixture: (n_samples, n_clusters)."""
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
        manifold = self.manifold_ if self.manifold_ is not None else self._manifold_template
        meta = {
            "embedding": emb_meta,
            "assigner": a_meta,
            "manifold": encode_param(clone(manifold), where="manifold"),
            "n_features_in": int(self.n_features_in_),
        }
        arrays = {
            **prefixed("embedding", emb_arrays),
            **prefixed("assigner", a_arrays),
            "labels": self.labels_,
            "codes": self._codes,
            "manifold_train": self.embedding_train_,
        }
        return meta, arrays

    def _load_state(self, meta, arrays):
        self.embedding_ = restore_nested(meta["embedding"], unprefixed("embedding", arrays))
        self._assigner = Assigner.from_state(meta["assigner"], unprefixed("assigner", arrays))
        self.clusterer_ = self._assigner.estimator
        self._manifold_template = decode_param(meta["manifold"])
        self.manifold_ = None
        self.labels_ = arrays["labels"]
        self._codes = arrays["codes"]
        self.embedding_train_ = arrays["manifold_train"]
        self.n_features_in_ = int(meta["n_features_in"])
