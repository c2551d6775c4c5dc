"""Value transforms and per-feature scalings for omics tables: log / log1p, auto (unit
variance), Pareto and min-max scaling.

All of them tolerate missing values (NaN stays NaN and is ignored by the fitted statistics),
so they can come before or after imputation.

References
----------
van den Berg, Hoefsloot, Westerhuis, Smilde & van der Werf (2006). Centering, scaling, and
transformations: improving the biological information content of metabolomics data. BMC
Genomics 7:142.
"""

from __future__ import annotations

import numpy as np

from deepclust.preprocess._base import PreprocessStep, check_table, register_step

_BASES = {None: 1.0, "e": 1.0, 2: np.log(2.0), 10: np.log(10.0)}


@register_step
class LogTransform(PreprocessStep):
    """``log_base(X + offset)``, elementwise.

    Parameters
    ----------
    base : {None, "e", 2, 10}, default=None
        None and "e" give the natural logarithm.
    offset : float, default=0.0
        Added before the logarithm; ``offset=1`` with the natural base is ``log1p``. Every
        value plus the offset must be positive (checked at fit and transform time).

    Examples
    --------
    >>> LogTransform(base=2).fit_transform([[1.0, 8.0]])
    array([[0., 3.]])
    """

    def __init__(self, base=None, offset: float = 0.0) -> None:
        self.base = base
        self.offset = offset

    def _check_params(self) -> None:
        if self.base not in _BASES:
            raise ValueError(f"log base must be 'e', 2 or 10, got {self.base!r}")
        if not isinstance(self.offset, (int, float)) or isinstance(self.offset, bool) or not np.isfinite(self.offset):
            raise ValueError(f"log offset must be a finite number, got {self.offset!r}")

    def fit(self, X, y=None):
        self._check_params()
        X = check_table(X)
        self._check_domain(X)
        self.n_features_in_ = X.shape[1]
        return self

    def _check_domain(self, X: np.ndarray) -> None:
        shifted = X + float(self.offset)
        bad = shifted <= 0
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ValueError(
                f"log{'1p' if self.offset == 1 else ''}: value {X[r, c]:.6g} at row {r}, feature {c} gives log of "
                f"{shifted[r, c]:.6g} <= 0; the data may already be on a log scale (omit the log step), or add a "
                "positive offset (log:offset=...)"
            )

    def transform(self, X):
        X = check_table(X, n_features=self.n_features_in_, owner="LogTransform")
        self._check_domain(X)
        return np.log(X + float(self.offset)) / _BASES[self.base]


class _FeatureScaler(PreprocessStep):
    """``(X - center_) / scale_`` with per-feature statistics ignoring NaN."""

    _fitted_arrays = ("center_", "scale_")

    def _stats(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - overridden
        raise NotImplementedError

    def fit(self, X, y=None):
        X = check_table(X)
        if np.isnan(X).all(axis=0).any():
            raise ValueError(f"{type(self).__name__}: feature {int(np.argmax(np.isnan(X).all(axis=0)))} has no observed value")
        center, scale = self._stats(X)
        constant = ~(scale > 0)  # constant features are centred (to 0, or 0 for min-max) and left unscaled
        self.center_ = center.astype(np.float64)
        self.scale_ = np.where(constant, 1.0, scale).astype(np.float64)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = check_table(X, n_features=self.n_features_in_, owner=type(self).__name__)
        return (X - self.center_) / self.scale_

    def inverse_transform(self, X):
        X = check_table(X, n_features=self.n_features_in_, owner=type(self).__name__)
        return X * self.scale_ + self.center_


@register_step
class AutoScaler(_FeatureScaler):
    """Auto scaling (z-scores): centre each feature on its mean, divide by its standard
    deviation (``ddof=0``, as scikit-learn's ``StandardScaler``).

    Examples
    --------
    >>> AutoScaler().fit_transform([[0.0], [2.0]])
    array([[-1.],
           [ 1.]])
    """

    def _stats(self, X):
        return np.nanmean(X, axis=0), np.nanstd(X, axis=0)


@register_step
class ParetoScaler(_FeatureScaler):
    """Pareto scaling: centre on the mean, divide by the square root of the standard deviation,
    so large fold changes keep more weight than under auto scaling (van den Berg et al. 2006).

    Examples
    --------
    >>> ParetoScaler().fit_transform([[0.0], [8.0]])
    array([[-2.],
           [ 2.]])
    """

    def _stats(self, X):
        return np.nanmean(X, axis=0), np.sqrt(np.nanstd(X, axis=0))


@register_step
class MinMaxScaler(_FeatureScaler):
    """Map each feature's training range to [0, 1].

    Examples
    --------
    >>> MinMaxScaler().fit_transform([[1.0], [3.0], [2.0]]).ravel()
    array([0. , 1. , 0.5])
    """

    def _stats(self, X):
        lo = np.nanmin(X, axis=0)
        return lo, np.nanmax(X, axis=0) - lo
