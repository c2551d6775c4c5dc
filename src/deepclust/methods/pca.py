"""PCAEmbedding: principal components as a savable deepclust embedding (the linear baseline)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from deepclust.methods._base import Float32OutputMixin, check_array_2d, draw_seed, seed_stream
from deepclust.methods._composite import SavableMixin
from deepclust.methods._persist import register_model


@register_model
class PCAEmbedding(SavableMixin, Float32OutputMixin, TransformerMixin, BaseEstimator):
    """The first ``n_components`` principal components of the (scaled) features.

    scikit-learn's :class:`~sklearn.decomposition.PCA`, kept as plain arrays so that a
    clustering model built on it saves as JSON + safetensors like the deep embeddings; it is
    the "raw + PCA" baseline every learned representation should beat.

    Parameters
    ----------
    n_components : int, default=10
        At most ``min(n_samples, n_features)``; fewer are used (with the same meaning) when
        the data are smaller.
    random_state : int, numpy Generator or None, default=None
        For the randomised solver scikit-learn picks on large inputs.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
    mean_ : ndarray of shape (n_features,)
    explained_variance_ratio_ : ndarray of shape (n_components,)
    n_features_in_ : int

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((50, 6))
    >>> PCAEmbedding(2).fit_transform(X).shape
    (50, 2)
    """

    _fitted_attribute = "components_"

    def __init__(self, n_components: int = 10, random_state=None) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        X = check_array_2d(X, min_samples=2)
        k = self.n_components
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"n_components must be a positive integer, got {k!r}")
        k = min(int(k), *X.shape)
        pca = PCA(k, random_state=draw_seed(seed_stream(self.random_state))).fit(X.astype(np.float64))
        self.components_ = pca.components_.astype(np.float32)
        self.mean_ = pca.mean_.astype(np.float32)
        self.explained_variance_ratio_ = pca.explained_variance_ratio_
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        """Component scores of shape (n_samples, n_components), float32."""
        check_is_fitted(self, "components_")
        X = check_array_2d(X, n_features=self.n_features_in_, owner=type(self).__name__)
        return ((X - self.mean_) @ self.components_.T).astype(np.float32)

    def _save_state(self):
        arrays = {"components": self.components_, "mean": self.mean_, "explained_variance_ratio": np.asarray(self.explained_variance_ratio_)}
        return {"n_features_in": int(self.n_features_in_)}, arrays

    def _load_state(self, meta, arrays):
        self.components_, self.mean_ = arrays["components"], arrays["mean"]
        self.explained_variance_ratio_ = arrays["explained_variance_ratio"]
        self.n_features_in_ = int(meta["n_features_in"])
