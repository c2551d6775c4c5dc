"""Missing values: drop features missing too often, then impute the rest (median or k-NN).

Omics tables miss values for technical reasons (below the detection limit, a failed
injection); a feature missing in most samples carries little but noise, and the remaining
holes must be filled before any distance or network sees the data.
"""

from __future__ import annotations

import numpy as np

from deepclust.preprocess._base import PreprocessStep, check_table, register_step


@register_step
class DropMissing(PreprocessStep):
    """Drop the features whose fraction of missing values (NaN) exceeds ``max_fraction``.

    Parameters
    ----------
    max_fraction : float in [0, 1), default=0.2
        A feature is kept when at most this fraction of the training samples miss it.

    Attributes
    ----------
    support_ : ndarray of int
        Indices of the kept features, in their original order.

    Examples
    --------
    >>> X = [[1.0, np.nan], [2.0, np.nan], [3.0, 1.0]]
    >>> DropMissing(0.5).fit_transform(X)
    array([[1.],
           [2.],
           [3.]])
    """

    _fitted_arrays = ("support_",)

    def __init__(self, max_fraction: float = 0.2) -> None:
        self.max_fraction = max_fraction

    def fit(self, X, y=None):
        f = self.max_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 <= f < 1:
            raise ValueError(f"max_fraction must be a number in [0, 1), got {f!r}")
        X = check_table(X)
        frac = np.isnan(X).mean(axis=0)
        keep = np.flatnonzero(frac <= f)
        if keep.size == 0:
            raise ValueError(f"DropMissing: every feature misses more than {f:.0%} of its values (the least missing: {frac.min():.0%})")
        self.support_ = keep.astype(np.int64)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = check_table(X, n_features=self.n_features_in_, owner="DropMissing")
        return X[:, self.support_]


_STRATEGIES = ("median", "knn")


@register_step
class Imputer(PreprocessStep):
    """Fill missing values (NaN) by the feature's training median or by k nearest neighbours.

    Parameters
    ----------
    strategy : {"median", "knn"}, default="median"
        "knn" averages the feature over the ``n_neighbors`` training samples nearest to the
        sample (Euclidean distance over the features both observe; scikit-learn's
        ``KNNImputer``, Troyanskaya et al. 2001). Its fitted state is the training table
        itself, the donors of every later imputation.
    n_neighbors : int, default=5

    Examples
    --------
    >>> Imputer().fit_transform([[1.0], [np.nan], [3.0]]).ravel()
    array([1., 2., 3.])

    References
    ----------
    Troyanskaya et al. (2001). Missing value estimation methods for DNA microarrays.
    Bioinformatics 17(6):520-525.
    """

    _fitted_arrays = ("statistics_", "donors_")

    def __init__(self, strategy: str = "median", n_neighbors: int = 5) -> None:
        self.strategy = strategy
        self.n_neighbors = n_neighbors

    def fit(self, X, y=None):
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"impute strategy must be one of {list(_STRATEGIES)}, got {self.strategy!r}")
        if isinstance(self.n_neighbors, bool) or not isinstance(self.n_neighbors, (int, np.integer)) or self.n_neighbors < 1:
            raise ValueError(f"n_neighbors must be a positive integer, got {self.n_neighbors!r}")
        X = check_table(X)
        empty = np.isnan(X).all(axis=0)
        if empty.any():
            raise ValueError(f"Imputer: feature {int(np.argmax(empty))} has no observed value; drop it first (dropmissing)")
        self.statistics_ = np.nanmedian(X, axis=0)
        # k-NN imputation needs the training rows at transform time; median imputation does not.
        self.donors_ = X if self.strategy == "knn" else np.zeros((0, X.shape[1]))
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = check_table(X, n_features=self.n_features_in_, owner="Imputer")
        if not np.isnan(X).any():
            return X
        if self.strategy == "median":
            return np.where(np.isnan(X), self.statistics_, X)
        from sklearn.impute import KNNImputer

        # KNNImputer.fit only stores its donors, so refitting on the saved ones replays the
        # fitted imputer exactly, without pickle.
        imputer = KNNImputer(n_neighbors=int(self.n_neighbors), keep_empty_features=True).fit(self.donors_)
        out = imputer.transform(X)
        # a sample with no donor sharing an observed feature falls back on the median
        return np.where(np.isnan(out), self.statistics_, out)
