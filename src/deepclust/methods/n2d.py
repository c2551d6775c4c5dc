"""N2D: autoencoder embedding, then a manifold learner, then a Gaussian mixture."""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np
from sklearn.base import clone

from deepclust.methods._base import draw_seed, seed_stream
from deepclust.methods._clusterers import fit_assigner, full_gmm, make_clusterer
from deepclust.methods._composite import AssignerClusterer, store_params
from deepclust.methods._persist import decode_param, encode_param, register_model
from deepclust.methods._umap_cache import enable_umap_jit_cache
from deepclust.methods.manifold import build_manifold, default_umap  # noqa: F401 - default_umap: public name kept here

logger = logging.getLogger(__name__)


def _fit_manifold(manifold, Z: np.ndarray) -> np.ndarray:
    if type(manifold).__module__.startswith("umap"):
        enable_umap_jit_cache()  # also for a UMAP the user built: compile once per machine, not per process
    with warnings.catch_warnings():
        # A seeded UMAP runs single-threaded and says so on every fit; that is the price of
        # reproducible labels and not something the user needs to read each time.
        warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
        return np.asarray(manifold.fit_transform(Z), dtype=np.float32)


def manifold_partition(Z: np.ndarray, k: int, seed: int) -> np.ndarray:
    """N2D's clustering of codes ``Z`` (n, d): its default manifold step, then its full GMM.

    Returns the labels (n,) int64. The start that VaDE's prior and DEC/IDEC's centres take
    with ``init="manifold"``; one integer ``seed`` gives the manifold's and the mixture's seeds.
    """
    rng = np.random.default_rng(seed)
    man_seed, clu_seed = draw_seed(rng), draw_seed(rng)
    manifold = build_manifold(None, k, man_seed, Z.shape[0], Z.shape[1])
    _, labels = fit_assigner(full_gmm(k, clu_seed), _fit_manifold(manifold, Z))
    return np.asarray(labels, dtype=np.int64)


@register_model
class N2D(AssignerClusterer):
    """N2D: "(Not Too) Deep Clustering via Clustering the Local Manifold of an Autoencoded Embedding".

    An autoencoder embedding, reshaped by UMAP so that local structure becomes cluster
    structure, then clustered by a full-covariance Gaussian mixture (McConville et al., ICPR
    2020). Each piece is a swappable object.

    Parameters
    ----------
    n_clusters : int, default=10
    embedding : transformer, default=None
        None: ``AutoencoderEmbedding(latent_dim=n_clusters)``, the paper's d-500-500-2000-k.
    manifold : {"auto", "parallel", "umap", "umap-exact"}, transformer with ``transform`` or None, default=None
        None or "auto": while an exact neighbour search is cheap (low-dimensional codes),
        ``ParallelUMAP`` from 20,000 rows and umap-learn's UMAP fed by the exact search on
        every core below ("umap-exact"); else umap-learn with its own search
        (``manifold.auto_manifold``); below 4,096 rows "umap-exact" is umap-learn's UMAP as
        it is. "parallel": ``ParallelUMAP`` (every core, same result for any thread count);
        "umap": umap-learn's ``UMAP``; all with ``n_neighbors=20, min_dist=0,
        n_components=n_clusters``. An object must be able to
        embed new points, which is why t-SNE is not accepted (``manifold.build_manifold``).
    clusterer : {"kmeans", "gmm", "agglomerative"} or clusterer, default=None
        None: a full-covariance Gaussian mixture, the best likelihood of 10 starts
        (:data:`~deepclust.methods._clusterers.GMM_N_INIT`); above 10,000 rows the starts run on
        a 10,000-row sample and the best is refined on all rows
        (:class:`~deepclust.methods._clusterers.SampledRestartsGMM`).
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
    timings_ : dict of str to float
        Wall seconds of each phase of :meth:`fit`: ``"embedding"`` (training the autoencoder
        and encoding ``X``), ``"manifold"``, ``"clusterer"``: where a run's time went.

    Notes
    -----
    A saved N2D stores the training codes and re-fits the manifold learner on them when first
    used after loading (UMAP cannot be saved without pickle). With a fixed seed the re-fit
    reproduces the training embedding; a mismatch is reported as a warning.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from deepclust.methods import RawFeatures
    >>> X, _ = make_blobs(300, n_features=8, centers=3, random_state=0)
    >>> N2D(3, embedding=RawFeatures(), random_state=0).fit(X).predict_proba(X).shape  # UMAP + GMM on the raw data
    (300, 3)
    """

    _default_is_probabilistic = True  # clusterer=None is a Gaussian mixture

    def __init__(self, n_clusters: int = 10, embedding=None, manifold=None, clusterer=None, random_state=None) -> None:
        store_params(self, locals())

    def fit(self, X, y=None):
        """Fit embedding, manifold and mixture on ``X`` (n_samples, n_features); ``y`` is ignored.

        ``X`` may be data on disk (a ``.npy``/``.parquet`` path, ``np.memmap``, ...), which the
        autoencoder streams; the manifold learner and the mixture work on the codes in memory.
        """
        X, k = self._start_fit(X)
        rng = seed_stream(self.random_state)
        emb_seed, man_seed, clu_seed = draw_seed(rng), draw_seed(rng), draw_seed(rng)
        if self.clusterer is None:
            clusterer = full_gmm(k, clu_seed)
        else:
            clusterer = make_clusterer(self.clusterer, k, clu_seed, n_samples=X.shape[0])
        self._make_manifold(k, man_seed, X.shape[0])  # a bad manifold fails before the autoencoder trains
        from deepclust.methods.embedding import AutoencoderEmbedding

        t0 = time.perf_counter()
        self.embedding_, Z = self._fit_embedding(X, emb_seed, default=AutoencoderEmbedding(latent_dim=k))
        t1 = time.perf_counter()
        manifold = self._make_manifold(k, man_seed, X.shape[0], Z.shape[1])  # "auto" looks at the codes' dimension
        M = _fit_manifold(manifold, Z)
        t2 = time.perf_counter()
        self._assigner, self.labels_ = fit_assigner(clusterer, M)
        self.timings_ = {"embedding": t1 - t0, "manifold": t2 - t1, "clusterer": time.perf_counter() - t2}
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

    def _embed(self, X) -> np.ndarray:
        """Manifold coordinates of ``X``: (n_samples, n_components), the space the clusters live in."""
        Z = super()._embed(X)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
            return np.asarray(self._manifold().transform(Z), dtype=np.float32)

    def _extra_state(self):
        meta, arrays = super()._extra_state()
        manifold = self.manifold_ if self.manifold_ is not None else self._manifold_template
        meta = {**meta, "manifold": encode_param(clone(manifold), where="manifold")}
        return meta, {**arrays, "codes": self._codes, "manifold_train": self.embedding_train_}

    def _restore_extra(self, meta, arrays):
        super()._restore_extra(meta, arrays)
        self._manifold_template = decode_param(meta["manifold"])
        self.manifold_ = None
        self._codes = arrays["codes"]
        self.embedding_train_ = arrays["manifold_train"]
