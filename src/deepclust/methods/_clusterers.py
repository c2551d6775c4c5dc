"""Clusterers on an embedding, and how a fitted one labels new points and is saved.

A user passes ``"kmeans"``, ``"gmm"``, ``"agglomerative"`` or any scikit-learn clusterer
object. After fitting, the clusterer is turned into an :class:`Assigner`: the few arrays that
label new points (centroids, Gaussian mixture parameters, or the training embedding for
clusterers without ``predict``), which can be saved as plain arrays, never as a pickle.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

CLUSTERER_NAMES = ("kmeans", "gmm", "gmm-diag", "agglomerative")

#: Agglomerative clustering keeps an n x n distance structure; above this many points it is
#: refused before memory runs out (70,000 points would need about 40 GB).
AGGLOMERATIVE_MAX_SAMPLES = 20_000
#: The same limit for the other scikit-learn clusterers that build a dense n x n matrix:
#: SpectralClustering with a dense affinity ("rbf", the default) and AffinityPropagation.
QUADRATIC_MAX_SAMPLES = 20_000


def check_quadratic(clusterer, n_samples: int) -> None:
    """Refuse a clusterer that would build a dense n x n matrix of more than the limit's size.

    Called before anything is trained (so a long pretraining is not wasted) and again just
    before the clusterer is fitted. Raises ValueError naming the estimator, the size and
    the way out.
    """
    from sklearn.cluster import AffinityPropagation, SpectralClustering

    if isinstance(clusterer, AgglomerativeClustering):
        if n_samples > AGGLOMERATIVE_MAX_SAMPLES:
            raise ValueError(
                f"agglomerative clustering of {n_samples} points needs O(n^2) memory; it is limited to "
                f"{AGGLOMERATIVE_MAX_SAMPLES} points. Use 'kmeans' or 'gmm', or subsample"
            )
        return
    dense = isinstance(clusterer, AffinityPropagation) or (
        isinstance(clusterer, SpectralClustering) and clusterer.affinity not in ("nearest_neighbors", "precomputed_nearest_neighbors")
    )
    if dense and n_samples > QUADRATIC_MAX_SAMPLES:
        gb = 8.0 * n_samples**2 / 1e9
        hint = " or SpectralClustering(affinity='nearest_neighbors')" if isinstance(clusterer, SpectralClustering) else ""
        raise ValueError(
            f"{type(clusterer).__name__} of {n_samples} points builds a dense {n_samples} x {n_samples} matrix (about "
            f"{gb:.0f} GB); it is limited to {QUADRATIC_MAX_SAMPLES} points. Use 'kmeans' or 'gmm'{hint}, or subsample"
        )


def make_clusterer(spec, n_clusters: int, seed: int, *, n_samples: int | None = None):
    """Build an unfitted clusterer from a name or clone a scikit-learn clusterer object.

    With ``n_samples``, a clusterer that needs O(n^2) memory is refused now if the data are
    too large for it (see :func:`check_quadratic`).

    Parameters
    ----------
    spec : {"kmeans", "gmm", "gmm-diag", "agglomerative"} or estimator
        Names give k-means (k-means++, 10 inits), a full- or diagonal-covariance GMM, or Ward
        linkage. k-means is :class:`~deepclust.methods.kmeans_fast.FastKMeans`: up to
        100,000 rows it *is* scikit-learn's ``KMeans(n_init=10, random_state=seed)`` (same
        call, same labels); above, its 10 restarts run on a 100,000-row sample and the best
        is refined on all rows, which reaches the same inertia several times faster. The full
        GMM keeps the best of :data:`GMM_N_INIT` starts, run on a sample above
        :data:`GMM_RESTART_ROWS` rows in the same way (:class:`SampledRestartsGMM`). An
        object is cloned; if it has a ``random_state`` parameter left at None, it gets ``seed``.
    n_clusters : int
    seed : int
    """
    est = _make_clusterer(spec, n_clusters, seed)
    if n_samples is not None:
        check_quadratic(est, n_samples)
    return est


#: Restarts of a full-covariance GMM; the fit with the highest likelihood wins (label-free).
#: One start left N2D's mixture in a poor local optimum on some seeds: on digits, the same
#: UMAP coordinates gave ACC 0.756 from the default single start and 0.844 from the best of
#: 10; over seeds 0-4 the mean went from 0.867 to 0.894, against 0.882 for UMAP + GMM on the
#: pixels (benchmarks/diagnostics/n2d_seed_spread.py; results/n2d_seed_spread_digits.jsonl).
#: The diagonal GMM for high-dimensional raw features keeps one start (10 would cost minutes),
#: and so does select-k's GMM that scores each k.
GMM_N_INIT = 10
#: Above this many rows the restarts run on a sample of this size (:class:`SampledRestartsGMM`).
#: On 70,000 10-d points (N2D's UMAP of MNIST-70k's PCA-10), 10 restarts on all rows took 43 s
#: on the 2-core CPU against 3 s for one start; on a 10,000-row sample 14-15 s, with the same
#: likelihood (19.892 per sample) and labels; a 5,000-row sample took 3-4 s but fell short of
#: that likelihood on one of two seeds (benchmarks/diagnostics/gmm_restarts_70k.py,
#: results/gmm_restarts_70k.jsonl). The quick suite's datasets (<= 10,000 rows) are unaffected.
GMM_RESTART_ROWS = 10_000
# A full covariance of d features estimated from fewer than d rows of correlated features can
# fail scikit-learn's Cholesky check despite reg_covar=1e-6 (the suite's exposures: 1,152 rows,
# 222 standardised exposures, 6 components of ~190 rows; seed 0 failed, seeds 1-2 fitted).
# scikit-learn's message advises a larger reg_covar: SampledRestartsGMM retries x10 up to this.
GMM_REG_COVAR_MAX = 1e-3


class SampledRestartsGMM(GaussianMixture):
    """A Gaussian mixture whose ``n_init`` restarts run on a sample, refined once on all rows.

    Up to ``sample_size`` rows (or with ``n_init=1`` or ``warm_start``) this *is* scikit-learn's
    ``GaussianMixture`` with the same parameters: the same call, the same labels. Above:

    1. draw ``sample_size`` rows at random (``random_state``);
    2. fit ``GaussianMixture(n_init=n_init)`` on them: scikit-learn keeps the restart with the
       highest likelihood bound on the sample;
    3. run EM on all rows from that restart's weights, means and precisions.

    Which restart wins is decided as well on a sample as on all rows, as for k-means
    (:class:`~deepclust.methods.kmeans_fast.FastKMeans`), and the refinement from a good start
    converges in a few iterations, so the cost is about ``n_init`` fits of the sample plus one
    fit of all rows instead of ``n_init`` fits of all rows.

    Parameters
    ----------
    As ``sklearn.mixture.GaussianMixture``, plus

    sample_size : int or None, default=GMM_RESTART_ROWS
        Rows the restarts run on; None: all rows (plain ``GaussianMixture``).

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(3000, centers=4, n_features=3, random_state=0)
    >>> small = SampledRestartsGMM(4, n_init=5, sample_size=500, random_state=0).fit(X)
    >>> whole = GaussianMixture(4, n_init=5, random_state=0).fit(X)
    >>> bool(abs(small.score(X) - whole.score(X)) < 1e-3)
    True
    """

    _parameter_constraints = {**GaussianMixture._parameter_constraints, "sample_size": [Interval(Integral, 2, None, closed="left"), None]}

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1, init_params="kmeans",
                 weights_init=None, means_init=None, precisions_init=None, random_state=None, warm_start=False, verbose=0, verbose_interval=10,
                 sample_size=GMM_RESTART_ROWS):
        super().__init__(n_components=n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar, max_iter=max_iter, n_init=n_init,
                         init_params=init_params, weights_init=weights_init, means_init=means_init, precisions_init=precisions_init,
                         random_state=random_state, warm_start=warm_start, verbose=verbose, verbose_interval=verbose_interval)
        self.sample_size = sample_size

    def fit_predict(self, X, y=None):
        """Fit (see the class docstring) and return the labels of ``X``; ``fit`` calls this.

        Where scikit-learn finds a component's covariance singular, the fit is repeated with ten
        times the ``reg_covar`` (up to :data:`GMM_REG_COVAR_MAX`), with a warning; ``reg_covar_``
        is the value the fitted model used.
        """
        reg = self.reg_covar
        while True:
            try:
                fitted = self if reg == self.reg_covar else clone(self).set_params(reg_covar=reg)
                labels = fitted._fit_predict(X, y)
                break
            except ValueError as err:
                if "ill-defined empirical covariance" not in str(err):
                    raise
                if reg * 10 > GMM_REG_COVAR_MAX * (1 + 1e-9):
                    raise ValueError(f"the Gaussian mixture's covariances are singular even with reg_covar={reg:g} ({np.shape(X)[0]} rows, "
                                     f"{np.shape(X)[1]} features, {self.n_components} components); a diagonal GMM (gmm-diag) or fewer "
                                     "features (pca-gmm) avoids it") from None
                reg *= 10
        if fitted is not self:
            self._take_fitted_state(fitted)
            warnings.warn(f"the Gaussian mixture's covariances were singular with reg_covar={self.reg_covar:g} ({np.shape(X)[0]} rows, "
                          f"{np.shape(X)[1]} features, {self.n_components} components); fitted with reg_covar={reg:g}", UserWarning, stacklevel=2)
        self.reg_covar_ = reg
        return labels

    def _fit_predict(self, X, y=None):
        n = np.shape(X)[0]
        if self.sample_size is None or n <= self.sample_size or self.n_init == 1 or self.warm_start:
            return super().fit_predict(X, y)
        self._validate_params()
        X = np.asarray(X, dtype=np.float64)
        rng = check_random_state(self.random_state)
        sample = X[np.sort(rng.choice(n, self.sample_size, replace=False))]
        params = {k: v for k, v in self.get_params().items() if k != "sample_size"}
        probe = GaussianMixture(**{**params, "random_state": rng}).fit(sample)
        final = GaussianMixture(**{**params, "n_init": 1, "random_state": rng, "weights_init": probe.weights_, "means_init": probe.means_,
                                   "precisions_init": probe.precisions_})
        labels = final.fit_predict(X)  # scikit-learn's final E-step: the labels predict(X) gives
        self._take_fitted_state(final)
        return labels

    def _take_fitted_state(self, other: GaussianMixture) -> None:
        """Copy ``other``'s fitted attributes (weights_, means_, ..., n_iter_, lower_bound_) onto self."""
        for name, value in vars(other).items():
            if name.endswith("_") and not name.startswith("_"):
                setattr(self, name, value)


def full_gmm(n_clusters: int, seed) -> GaussianMixture:
    """The full-covariance GMM of the "gmm" clusterer and N2D's default: :data:`GMM_N_INIT`
    restarts, on a sample of :data:`GMM_RESTART_ROWS` rows above that size."""
    return SampledRestartsGMM(n_components=n_clusters, covariance_type="full", n_init=GMM_N_INIT, random_state=seed)


def _make_clusterer(spec, n_clusters: int, seed: int):
    if isinstance(spec, str):
        if spec == "kmeans":
            from deepclust.methods.kmeans_fast import FastKMeans

            return FastKMeans(n_clusters=n_clusters, n_init=10, random_state=seed)
        if spec == "gmm":
            return full_gmm(n_clusters, seed)
        if spec == "gmm-diag":  # for high-dimensional inputs, where full covariances are too costly
            return GaussianMixture(n_components=n_clusters, covariance_type="diag", random_state=seed)
        if spec == "agglomerative":
            return AgglomerativeClustering(n_clusters=n_clusters, linkage="ward")
        raise ValueError(f"unknown clusterer {spec!r}; expected one of {list(CLUSTERER_NAMES)} or a scikit-learn clusterer object")
    if not (hasattr(spec, "fit") and hasattr(spec, "get_params")):
        raise ValueError(f"clusterer must be a name {list(CLUSTERER_NAMES)} or a scikit-learn estimator, got {spec!r}")
    est = clone(spec)
    if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
        est.set_params(random_state=seed)
    return est


def fit_clusterer(clusterer, Z: np.ndarray) -> np.ndarray:
    """Fit ``clusterer`` on ``Z`` (n, k) and return its training labels."""
    check_quadratic(clusterer, Z.shape[0])
    if hasattr(clusterer, "fit_predict"):
        labels = clusterer.fit_predict(Z)
    else:
        labels = clusterer.fit(Z).labels_
    return np.asarray(labels)


def has_predict_proba(estimator, *, default: bool = False) -> bool:
    """Whether ``estimator.predict_proba`` can work: from its fitted assigner, else its ``clusterer``.

    ``default`` answers for ``clusterer=None`` (N2D's default is a Gaussian mixture).
    """
    assigner = getattr(estimator, "_assigner", None)
    if assigner is not None:
        return assigner.kind == "gmm" or (assigner.kind == "estimator" and hasattr(assigner.estimator, "predict_proba"))
    spec = estimator.clusterer
    if spec is None:
        return default
    if isinstance(spec, str):
        return spec == "gmm"
    return hasattr(spec, "predict_proba")


def fit_assigner(clusterer, Z: np.ndarray) -> tuple["Assigner", np.ndarray]:
    """Fit ``clusterer`` on ``Z`` and return its :class:`Assigner` and the training labels.

    The labels come from the assigner itself where it can predict, so that
    ``predict(X_train)`` reproduces them exactly.
    """
    raw = fit_clusterer(clusterer, Z)
    assigner = Assigner.from_fitted(clusterer, Z, raw)
    labels = assigner.predict(Z) if assigner.kind != "nearest" else raw.astype(np.int64)
    return assigner, labels


@dataclass
class Assigner:
    """Labels new embedding points the way a fitted clusterer would.

    ``kind`` is ``"centroids"`` (nearest centre: k-means), ``"gmm"`` (Gaussian mixture
    posterior), ``"nearest"`` (1-nearest training point, for clusterers without ``predict``
    such as agglomerative clustering), or ``"estimator"`` (any other object with ``predict``:
    usable in memory, not savable).
    """

    kind: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    estimator: object | None = None

    @classmethod
    def from_fitted(cls, clusterer, Z: np.ndarray, labels: np.ndarray) -> "Assigner":
        from deepclust.methods.kmeans_fast import FastKMeans

        if isinstance(clusterer, (KMeans, MiniBatchKMeans, FastKMeans)):
            return cls("centroids", {"centers": np.asarray(clusterer.cluster_centers_, dtype=np.float64)})
        if isinstance(clusterer, (GaussianMixture, BayesianGaussianMixture)):
            arrays = {
                "weights": clusterer.weights_,
                "means": clusterer.means_,
                "covariances": clusterer.covariances_,
                "precisions_cholesky": clusterer.precisions_cholesky_,
            }
            return cls("gmm", {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}, {"covariance_type": clusterer.covariance_type})
        if hasattr(clusterer, "predict"):
            return cls("estimator", estimator=clusterer)
        return cls("nearest", {"Z": np.asarray(Z, dtype=np.float32), "labels": np.asarray(labels, dtype=np.int64)})

    @property
    def n_clusters(self) -> int | None:
        if self.kind == "centroids":
            return int(self.arrays["centers"].shape[0])
        if self.kind == "gmm":
            return int(self.arrays["weights"].shape[0])
        return None

    def _gmm(self) -> GaussianMixture:
        # Rebuild a fitted GaussianMixture from its parameters so scikit-learn does the maths.
        if self.estimator is None:
            gm = GaussianMixture(n_components=self.arrays["weights"].shape[0], covariance_type=self.meta["covariance_type"])
            gm.weights_ = self.arrays["weights"]
            gm.means_ = self.arrays["means"]
            gm.covariances_ = self.arrays["covariances"]
            gm.precisions_cholesky_ = self.arrays["precisions_cholesky"]
            self.estimator = gm
        return self.estimator

    def _knn(self) -> KNeighborsClassifier:
        if self.estimator is None:
            self.estimator = KNeighborsClassifier(n_neighbors=1).fit(self.arrays["Z"], self.arrays["labels"])
        return self.estimator

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """Cluster index for each row of ``Z`` (n, k)."""
        if self.kind == "centroids":
            return pairwise_distances_argmin(np.asarray(Z, dtype=np.float64), self.arrays["centers"]).astype(np.int64)
        if self.kind == "gmm":
            return self._gmm().predict(np.asarray(Z, dtype=np.float64)).astype(np.int64)
        if self.kind == "nearest":
            return self._knn().predict(np.asarray(Z, dtype=np.float32)).astype(np.int64)
        return np.asarray(self.estimator.predict(Z)).astype(np.int64)

    def predict_proba(self, Z: np.ndarray) -> np.ndarray:
        """Posterior cluster probabilities (n, K); only Gaussian mixtures have them."""
        if self.kind == "gmm":
            return self._gmm().predict_proba(np.asarray(Z, dtype=np.float64))
        if self.kind == "estimator" and hasattr(self.estimator, "predict_proba"):
            return self.estimator.predict_proba(Z)
        raise AttributeError("predict_proba needs a probabilistic clusterer such as 'gmm'")

    def centers(self, Z: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Cluster centres in the embedding: the model's own when it has them, else cluster means."""
        if self.kind == "centroids":
            return self.arrays["centers"].astype(np.float32)
        if self.kind == "gmm":
            return self.arrays["means"].astype(np.float32)
        ks = np.unique(labels)
        return np.stack([Z[labels == k].mean(axis=0) for k in ks]).astype(np.float32)

    # -- persistence: plain arrays plus JSON metadata ------------------------------------
    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        if self.kind == "estimator":
            raise ValueError(
                f"cannot save a model whose clusterer is {type(self.estimator).__name__}: only k-means, "
                "Gaussian mixtures and clusterers without predict (saved as their training embedding) can be saved"
            )
        return {"kind": self.kind, **self.meta}, dict(self.arrays)

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> "Assigner":
        meta = dict(meta)
        kind = meta.pop("kind")
        if kind not in ("centroids", "gmm", "nearest"):
            raise ValueError(f"saved model has an unknown clusterer kind {kind!r}")
        return cls(kind, dict(arrays), meta)
