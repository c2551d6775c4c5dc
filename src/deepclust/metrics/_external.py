"""External clustering metrics: compare predicted clusters with reference classes.

Every function accepts labels of any hashable scalar type (integers, strings, ...) and is
invariant to how the clusters are named. Accuracy follows the deep-clustering literature: the
best one-to-one matching of clusters to classes, found with the Hungarian algorithm (Xie et al.,
"Unsupervised Deep Embedding for Clustering Analysis", ICML 2016).
"""

from __future__ import annotations

from typing import Any, Hashable

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

__all__ = ["cluster_accuracy", "purity", "nmi", "ari", "ami", "hungarian_mapping"]


def _encode_labels(y: Any, name: str) -> tuple[np.ndarray, list]:
    """Validate a 1-D label vector and encode it as integer codes.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype int64
        ``codes[i]`` indexes ``uniques``.
    uniques : list of length n_labels
        The distinct labels as Python scalars, sorted when they are mutually comparable.
    """
    # dtype=object for lists keeps 1 and "1" distinct instead of casting both to "1".
    arr = y if isinstance(y, np.ndarray) else np.asarray(y, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (n_samples,), got an array of shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; expected at least one label")
    try:
        codes, uniques = pd.factorize(arr, sort=True, use_na_sentinel=False)
    except TypeError:  # labels that cannot be ordered against each other
        codes, uniques = pd.factorize(arr, sort=False, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), list(np.asarray(uniques, dtype=object).tolist())


def _check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, list, np.ndarray, list]:
    """Encode ``y_true`` and ``y_pred`` and check that they have the same length."""
    t_codes, t_uniques = _encode_labels(y_true, "y_true")
    p_codes, p_uniques = _encode_labels(y_pred, "y_pred")
    if t_codes.shape[0] != p_codes.shape[0]:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {t_codes.shape[0]} and {p_codes.shape[0]}"
        )
    return t_codes, t_uniques, p_codes, p_uniques


def _matching(contingency: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (classes) and columns (clusters) of the maximum-weight one-to-one matching."""
    # Rectangular matrices are fine: min(n_classes, n_clusters) pairs are matched and the
    # points of every unmatched cluster count as errors.
    return linear_sum_assignment(contingency, maximize=True)


def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    """Clustering accuracy (ACC) under the best one-to-one matching of clusters to classes.

    ``ACC = max_m (1/n) sum_i 1[y_true_i == m(y_pred_i)]`` over injective maps ``m`` from
    clusters to classes, found with the Hungarian algorithm on the contingency matrix. When
    there are more clusters than classes the unmatched clusters count as errors; when there are
    fewer, the unmatched classes do.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes, any hashable scalars.
    y_pred : array-like of shape (n_samples,)
        Predicted clusters, any hashable scalars.

    Returns
    -------
    float
        Accuracy in [0, 1].

    Raises
    ------
    ValueError
        If the inputs are not 1-D, are empty or differ in length.

    Examples
    --------
    >>> cluster_accuracy([0, 0, 1, 1, 2, 2], ["b", "b", "a", "a", "c", "c"])
    1.0
    >>> round(cluster_accuracy([0, 0, 0, 1, 1, 2], [0, 0, 0, 1, 1, 1]), 4)
    0.8333
    """
    t_codes, _, p_codes, _ = _check_pair(y_true, y_pred)
    c = contingency_matrix(t_codes, p_codes)  # (n_classes, n_clusters)
    rows, cols = _matching(c)
    return float(c[rows, cols].sum() / t_codes.shape[0])


def hungarian_mapping(y_true: Any, y_pred: Any) -> dict[Hashable, Hashable]:
    """Map each cluster to the class it is matched with in :func:`cluster_accuracy`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes.
    y_pred : array-like of shape (n_samples,)
        Predicted clusters.

    Returns
    -------
    dict
        ``{cluster: class}``. Only matched clusters appear: with more clusters than classes the
        extra clusters have no class (their points count as errors in the accuracy), so
        ``mean(mapping.get(p) == t)`` equals ``cluster_accuracy(y_true, y_pred)``.

    Examples
    --------
    >>> hungarian_mapping(["x", "x", "y"], [1, 1, 0])
    {0: 'y', 1: 'x'}
    """
    t_codes, t_uniques, p_codes, p_uniques = _check_pair(y_true, y_pred)
    c = contingency_matrix(t_codes, p_codes)
    rows, cols = _matching(c)
    order = np.argsort(cols)  # list clusters in label order
    return {p_uniques[cols[k]]: t_uniques[rows[k]] for k in order}


def purity(y_true: Any, y_pred: Any) -> float:
    """Purity: the fraction of points that belong to the majority class of their cluster.

    Several clusters may share a majority class, so purity is at least the accuracy and reaches
    1.0 trivially when every point is its own cluster.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes.
    y_pred : array-like of shape (n_samples,)
        Predicted clusters.

    Returns
    -------
    float
        Purity in (0, 1].

    Examples
    --------
    >>> round(purity([0, 0, 0, 0, 1, 1], [0, 0, 1, 1, 2, 2]), 4)
    1.0
    """
    t_codes, _, p_codes, _ = _check_pair(y_true, y_pred)
    c = contingency_matrix(t_codes, p_codes)
    return float(c.max(axis=0).sum() / t_codes.shape[0])


def nmi(y_true: Any, y_pred: Any) -> float:
    """Normalised mutual information with the arithmetic mean of the entropies.

    Thin validated wrapper over :func:`sklearn.metrics.normalized_mutual_info_score` with
    ``average_method="arithmetic"``, the normalisation used in the deep-clustering literature.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes.
    y_pred : array-like of shape (n_samples,)
        Predicted clusters.

    Returns
    -------
    float
        NMI in [0, 1].

    Examples
    --------
    >>> nmi([0, 0, 1, 1], ["a", "a", "b", "b"])
    1.0
    """
    t_codes, _, p_codes, _ = _check_pair(y_true, y_pred)
    return float(normalized_mutual_info_score(t_codes, p_codes, average_method="arithmetic"))


def ari(y_true: Any, y_pred: Any) -> float:
    """Adjusted Rand index (Hubert & Arabie, 1985).

    Thin validated wrapper over :func:`sklearn.metrics.adjusted_rand_score`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes.
    y_pred : array-like of shape (n_samples,)
        Predicted clusters.

    Returns
    -------
    float
        ARI in [-0.5, 1]; 0 in expectation for random labels.

    Examples
    --------
    >>> ari([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    t_codes, _, p_codes, _ = _check_pair(y_true, y_pred)
    return float(adjusted_rand_score(t_codes, p_codes))


def ami(y_true: Any, y_pred: Any) -> float:
    """Adjusted mutual information (Vinh et al., 2010) with arithmetic normalisation.

    Thin validated wrapper over :func:`sklearn.metrics.adjusted_mutual_info_score`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference classes.
    y_pred : array-like of shape (n_samples,)
        Predicted clusters.

    Returns
    -------
    float
        AMI, at most 1; 0 in expectation for random labels.

    Examples
    --------
    >>> ami([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    t_codes, _, p_codes, _ = _check_pair(y_true, y_pred)
    return float(adjusted_mutual_info_score(t_codes, p_codes, average_method="arithmetic"))
