"""One call that computes every applicable metric for a clustering."""

from __future__ import annotations

from typing import Any

import numpy as np

from deepclust.metrics._external import _encode_labels, ami, ari, cluster_accuracy, nmi, purity
from deepclust.metrics._internal import calinski_harabasz, davies_bouldin, silhouette

__all__ = ["evaluate"]


def evaluate(
    labels: Any,
    *,
    X: Any = None,
    y_true: Any = None,
    sample_size: int | None = 10000,
    random_state: Any = 0,
) -> dict[str, float | int]:
    """Compute the external, internal and size metrics of a clustering.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Predicted cluster of each point, any hashable scalars.
    X : array-like of shape (n_samples, n_features), optional
        Data or embedding; when given, the internal metrics are computed on it.
    y_true : array-like of shape (n_samples,), optional
        Reference classes; when given, the external metrics are computed.
    sample_size : int or None, default=10000
        Passed to :func:`~deepclust.metrics.silhouette`.
    random_state : int, RandomState instance or None, default=0
        Seed of the silhouette sample.

    Returns
    -------
    dict of str to float or int
        Keys in this order, each group only when it applies:
        ``acc, nmi, ari, ami, purity`` (with ``y_true``);
        ``silhouette, davies_bouldin, calinski_harabasz`` (with ``X``; nan when undefined);
        ``n_clusters, smallest_cluster, largest_cluster`` (always; ints).

    Raises
    ------
    ValueError
        If the inputs are empty, not of the expected dimension or differ in length.

    Examples
    --------
    >>> res = evaluate([0, 0, 1, 1], y_true=["a", "a", "b", "b"])
    >>> res["acc"], res["n_clusters"], res["largest_cluster"]
    (1.0, 2, 2)
    """
    codes, _ = _encode_labels(labels, "labels")
    result: dict[str, float | int] = {}
    if y_true is not None:
        result["acc"] = cluster_accuracy(y_true, labels)
        result["nmi"] = nmi(y_true, labels)
        result["ari"] = ari(y_true, labels)
        result["ami"] = ami(y_true, labels)
        result["purity"] = purity(y_true, labels)
    if X is not None:
        result["silhouette"] = silhouette(X, labels, sample_size=sample_size, random_state=random_state)
        result["davies_bouldin"] = davies_bouldin(X, labels)
        result["calinski_harabasz"] = calinski_harabasz(X, labels)
    sizes = np.bincount(codes)
    result["n_clusters"] = int(sizes.shape[0])
    result["smallest_cluster"] = int(sizes.min())
    result["largest_cluster"] = int(sizes.max())
    return result
