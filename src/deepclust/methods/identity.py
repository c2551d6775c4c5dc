"""RawFeatures: the identity "embedding", so raw-data baselines share the deep methods' pipeline."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from deepclust.methods._base import check_array_2d
from deepclust.methods._persist import register_model


@register_model
class RawFeatures(TransformerMixin, BaseEstimator):
    """Pass the (validated) features through unchanged.

    ``N2D(embedding=RawFeatures())`` is UMAP + GMM on the raw data: the baseline any deep
    method has to beat (about 0.97 ACC on MNIST).

    Examples
    --------
    >>> RawFeatures().fit_transform([[1.0, 2.0], [3.0, 4.0]]).shape
    (2, 2)
    """

    def fit(self, X, y=None):
        self.n_features_in_ = check_array_2d(X).shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        return check_array_2d(X, n_features=self.n_features_in_)

    def _save_state(self):
        return {"n_features_in": int(self.n_features_in_)}, {}

    def _load_state(self, meta, arrays):
        self.n_features_in_ = int(meta["n_features_in"])
