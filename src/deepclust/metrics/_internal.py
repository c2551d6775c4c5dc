"""Internal clustering metrics: judge clusters from the data alone, without reference classes.

Degenerate clusterings (a single cluster, or every point in its own cluster) have no defined
value; these functions return ``nan`` for them instead of raising, so that a sweep over many
runs can record the failure and carry on.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.utils import check_array, check_random_state

from deepclust.metrics._external import _encode_labels

__all__ = ["silhouette", "davies_bouldin", "calinski_harabasz"]


def _check_X_labels(X: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``X`` of shape (n_samples, n_features) and integer-encode ``labels``."""
    X = check_array(X, dtype=[np.float64, np.float32], input_name="X")
    codes, _ = _encode_labels(labels, "labels")
    if X.shape[0] != codes.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but labels has {codes.shape[0]} entries; expected the same number"
        )
    return X, codes


def _degenerate(codes: np.ndarray) -> bool:
    """True when the metrics are undefined: fewer than 2 clusters or one point per cluster."""
    n_labels = np.unique(codes).shape[0]
    return n_labels < 2 or n_labels >= codes.shape[0]


def silhouette(X: Any, labels: Any, *, sample_size: int | None = 10000, random_state: Any = 0) -> float:
    """Mean silhouette coefficient (Rousseeuw, 1987), on a fixed-seed sample for large data.

    The exact silhouette needs all pairwise distances, O(n^2) time. Above ``sample_size``
    points it is estimated on a random sample of ``sample_size`` points drawn with
    ``random_state``, exactly as :func:`sklearn.metrics.silhouette_score` samples, so the same
    seed gives the same value.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data or embedding, Euclidean distance.
    labels : array-like of shape (n_samples,)
        Cluster of each point, any hashable scalars.
    sample_size : int or None, default=10000
        Largest number of points used; None uses all points.
    random_state : int, RandomState instance or None, default=0
        Seed of the sample.

    Returns
    -------
    float
        Silhouette in [-1, 1], or nan when there is one cluster or every point (of the sample)
        is its own cluster.

    Raises
    ------
    ValueError
        If the shapes disagree or ``sample_size`` is not a positive integer.

    Examples
    --------
    >>> round(silhouette([[0.0], [0.1], [5.0], [5.1]], [0, 0, 1, 1]), 3)
    0.98
    """
    if sample_size is not None and (
        not isinstance(sample_size, Integral) or isinstance(sample_size, bool) or sample_size < 1
    ):
        raise ValueError(f"sample_size must be a positive integer or None, got {sample_size!r}")
    X, codes = _check_X_labels(X, labels)
    if sample_size is not None and X.shape[0] > sample_size:
        # The same draw as sklearn's silhouette_score(sample_size=...), done here so that a
        # degenerate sample gives nan instead of an error.
        idx = check_random_state(random_state).permutation(X.shape[0])[:sample_size]
        X, codes = X[idx], codes[idx]
    if _degenerate(codes):
        return float("nan")
    return float(silhouette_score(X, codes))


def davies_bouldin(X: Any, labels: Any) -> float:
    """Davies-Bouldin index (Davies & Bouldin, 1979); lower is better.

    Wrapper over :func:`sklearn.metrics.davies_bouldin_score`. Linear in the number of points.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data or embedding.
    labels : array-like of shape (n_samples,)
        Cluster of each point.

    Returns
    -------
    float
        Index >= 0, or nan with fewer than 2 clusters or one point per cluster.

    Examples
    --------
    >>> round(davies_bouldin([[0.0], [0.2], [5.0], [5.2]], [0, 0, 1, 1]), 3)
    0.04
    """
    X, codes = _check_X_labels(X, labels)
    if _degenerate(codes):
        return float("nan")
    return float(davies_bouldin_score(X, codes))


def calinski_harabasz(X: Any, labels: Any) -> float:
    """Calinski-Harabasz index (variance ratio criterion, 1974); higher is better.

    Wrapper over :func:`sklearn.metrics.calinski_harabasz_score`. Linear in the number of points.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data or embedding.
    labels : array-like of shape (n_samples,)
        Cluster of each point.

    Returns
    -------
    float
        Index >= 0, or nan with fewer than 2 clusters or one point per cluster.

    Examples
    --------
    >>> calinski_harabasz([[0.0], [0.2], [5.0], [5.2]], [0, 0, 1, 1]) > 100
    True
    """
    X, codes = _check_X_labels(X, labels)
    if _degenerate(codes):
        return float("nan")
    return float(calinski_harabasz_score(X, codes))
