"""Unsupervised feature selection: keep the most variable features.

Ranking by variance favours features with outliers; the median absolute deviation (MAD) is
the robust alternative common in omics clustering (e.g. the top-n MAD genes of consensus
clustering studies).
"""

from __future__ import annotations

import warnings

import numpy as np

from deepclust.preprocess._base import PreprocessStep, check_table, register_step

_CRITERIA = ("variance", "mad")


def feature_dispersion(X: np.ndarray, by: str) -> np.ndarray:
    """Per-feature variance or median absolute deviation of ``X`` (n, d), ignoring NaN."""
    if by == "variance":
        return np.nanvar(X, axis=0)
    med = np.nanmedian(X, axis=0)
    return np.nanmedian(np.abs(X - med), axis=0)


@register_step
class SelectTopFeatures(PreprocessStep):
    """Keep the ``n_features`` features with the largest variance or MAD.

    Parameters
    ----------
    n_features : int, default=100
        How many to keep; all of them when the data have fewer (with a warning).
    by : {"variance", "mad"}, default="mad"
        Ranking criterion, computed on the training data. Ties keep the earlier feature.

    Attributes
    ----------
    support_ : ndarray of int
        Indices of the kept features, in their original order.
    scores_ : ndarray of float, shape (n_features_in_,)
        The criterion of every feature.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0, 5.0], [0.0, 3.0, -5.0], [0.0, 2.0, 0.0]])
    >>> SelectTopFeatures(2, by="variance").fit(X).support_
    array([1, 2])
    """

    _fitted_arrays = ("support_", "scores_")

    def __init__(self, n_features: int = 100, by: str = "mad") -> None:
        self.n_features = n_features
        self.by = by

    def fit(self, X, y=None):
        n = self.n_features
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"select: the number of features must be a positive integer, got {n!r}")
        if self.by not in _CRITERIA:
            raise ValueError(f"select: ranking must be one of {list(_CRITERIA)}, got {self.by!r}")
        X = check_table(X)
        scores = feature_dispersion(X, self.by)
        if n >= X.shape[1]:
            warnings.warn(f"select: asked for the top {n} features but the data have only {X.shape[1]}; keeping all", RuntimeWarning, stacklevel=2)
        order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[: min(int(n), X.shape[1])]
        self.support_ = np.sort(order).astype(np.int64)
        self.scores_ = scores.astype(np.float64)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = check_table(X, n_features=self.n_features_in_, owner="SelectTopFeatures")
        return X[:, self.support_]
