"""Which features distinguish each cluster: one-vs-rest rank tests and effect sizes.

For every cluster and feature, the samples of the cluster are compared with all other samples by
a two-sided Mann-Whitney U test; the p-values of one cluster are adjusted over the features by
Benjamini-Hochberg (the family is "all features, this cluster", as scanpy's
``rank_genes_groups`` does). Effect sizes: Cliff's delta (always) and the log2 fold change of
the means (only for features whose values are all positive, where a ratio means something).
Across all clusters at once, a Kruskal-Wallis test per feature with its eta squared.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["benjamini_hochberg", "cliffs_delta", "kruskal_features", "rank_features", "top_features"]


def _check_data(X, labels, feature_names) -> tuple[np.ndarray, np.ndarray, list[str]]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if not np.isfinite(X).all():
        r, c = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"X contains NaN or infinity (first at row {r}, column {c}); impute or drop them first")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
        raise ValueError(f"labels must have shape ({X.shape[0]},) to match X, got {labels.shape}")
    if feature_names is None:
        feature_names = [f"x{j}" for j in range(X.shape[1])]
    feature_names = [str(f) for f in feature_names]
    if len(feature_names) != X.shape[1]:
        raise ValueError(f"feature_names has {len(feature_names)} names for {X.shape[1]} features")
    if len(np.unique(labels)) < 2:
        raise ValueError("labels hold a single cluster; there is nothing to compare it with")
    return X, labels, feature_names


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN entries stay NaN and are not counted.

    Parameters
    ----------
    p_values : array-like of shape (m,)

    Returns
    -------
    ndarray of shape (m,)
        ``q_(i) = min_{j >= i} p_(j) m / j`` over the sorted finite p-values, capped at 1.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.5]

    References
    ----------
    Benjamini & Hochberg (1995). Controlling the false discovery rate. JRSS B 57(1), 289-300.
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(np.clip(p[ok], 0.0, 1.0), method="bh")
    return q


def cliffs_delta(a, b) -> float:
    """Cliff's delta: ``P(a > b) - P(a < b)`` over all pairs, in [-1, 1].

    Examples
    --------
    >>> cliffs_delta([3, 4, 5], [1, 2, 3])
    0.8888888888888888

    References
    ----------
    Cliff (1993). Dominance statistics: ordinal analyses to answer ordinal questions.
    Psychological Bulletin 114(3), 494-509.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.size == 0 or b.size == 0:
        raise ValueError("cliffs_delta needs two non-empty samples")
    return float(_delta_from_u(stats.mannwhitneyu(a, b, alternative="two-sided").statistic, a.size, b.size))


def _delta_from_u(u, n1: int, n2: int):
    # U of the first sample counts pairs with a > b plus half the ties, so
    # P(a > b) - P(a < b) = 2 U / (n1 n2) - 1 (Cliff 1993).
    return 2.0 * np.asarray(u, dtype=np.float64) / (n1 * n2) - 1.0


def rank_features(X, labels, *, feature_names: Sequence[str] | None = None) -> pd.DataFrame:
    """One-vs-rest Mann-Whitney U test of every feature in every cluster, ranked.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data in the units the scientist reads (not the network's embedding).
    labels : array-like of shape (n_samples,)
        Cluster of each sample; at least two clusters.
    feature_names : sequence of str, optional
        Defaults to ``x0, x1, ...``.

    Returns
    -------
    pandas.DataFrame
        One row per (cluster, feature), sorted by cluster and then ``rank`` (1 = most
        distinguishing: smallest q-value, ties broken by larger ``|cliffs_delta|``). Columns:
        ``cluster, rank, feature, n_in, n_out, mean_in, mean_out, median_in, median_out,
        log2_fold_change`` (log2 of mean_in / mean_out; NaN unless every value of the feature
        is positive), ``cliffs_delta`` (positive: higher in the cluster), ``u_statistic,
        p_value, q_value`` (Benjamini-Hochberg over the features of that cluster).
        A feature that is constant in both groups gets p = 1.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 5], [2, 5], [3, 6], [10, 6], [11, 5], [12, 6]])
    >>> t = rank_features(X, [0, 0, 0, 1, 1, 1], feature_names=["a", "b"])
    >>> t[t.cluster == 1][["feature", "cliffs_delta"]].round(4).values.tolist()
    [['a', 1.0], ['b', 0.3333]]
    """
    X, labels, names = _check_data(X, labels, feature_names)
    positive = (X > 0).all(axis=0)  # (d,)
    frames = []
    for cluster in np.unique(labels):
        inside = labels == cluster
        a, b = X[inside], X[~inside]
        n1, n2 = a.shape[0], b.shape[0]
        u, p = stats.mannwhitneyu(a, b, axis=0, alternative="two-sided")  # (d,), (d,)
        p = np.where(np.isfinite(p), p, 1.0)  # NaN only when both groups hold one constant value
        mean_in, mean_out = a.mean(axis=0), b.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lfc = np.where(positive, np.log2(mean_in / mean_out), np.nan)
        frame = pd.DataFrame(
            {
                "cluster": cluster,
                "feature": names,
                "n_in": n1,
                "n_out": n2,
                "mean_in": mean_in,
                "mean_out": mean_out,
                "median_in": np.median(a, axis=0),
                "median_out": np.median(b, axis=0),
                "log2_fold_change": lfc,
                "cliffs_delta": _delta_from_u(u, n1, n2),
                "u_statistic": np.asarray(u, dtype=np.float64),
                "p_value": p,
                "q_value": benjamini_hochberg(p),
            }
        )
        frame["_abs"] = -frame["cliffs_delta"].abs()
        frame = frame.sort_values(["q_value", "_abs", "feature"], kind="mergesort").drop(columns="_abs")
        frame.insert(1, "rank", np.arange(1, len(frame) + 1))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def kruskal_features(X, labels, *, feature_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Kruskal-Wallis test of every feature across all clusters, with eta squared.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
    feature_names : sequence of str, optional

    Returns
    -------
    pandas.DataFrame
        One row per feature sorted by ``q_value`` then ``eta_squared`` (descending):
        ``feature, h_statistic, p_value, q_value`` (Benjamini-Hochberg over features),
        ``eta_squared = (H - k + 1) / (n - k)`` (Tomczak & Tomczak 2014; clipped at 0).
        A constant feature gets H = 0 and p = 1.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.c_[np.r_[np.zeros(5), np.ones(5)], np.arange(10) % 2]
    >>> kruskal_features(X, [0] * 5 + [1] * 5).feature.tolist()
    ['x0', 'x1']

    References
    ----------
    Kruskal & Wallis (1952). Use of ranks in one-criterion variance analysis. JASA 47, 583-621.
    Tomczak & Tomczak (2014). The need to report effect size estimates revisited. Trends in
    Sport Sciences 1(21), 19-25.
    """
    X, labels, names = _check_data(X, labels, feature_names)
    groups = [X[labels == c] for c in np.unique(labels)]
    k, n = len(groups), X.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        h, p = stats.kruskal(*groups, axis=0)
    h = np.where(np.isfinite(h), h, 0.0)
    p = np.where(np.isfinite(p), p, 1.0)
    eta2 = np.clip((h - k + 1) / (n - k), 0.0, None) if n > k else np.full_like(h, np.nan)
    frame = pd.DataFrame({"feature": names, "h_statistic": h, "p_value": p, "q_value": benjamini_hochberg(p), "eta_squared": eta2})
    frame["_e"] = -frame["eta_squared"]
    return frame.sort_values(["q_value", "_e", "feature"], kind="mergesort").drop(columns="_e").reset_index(drop=True)


def top_features(ranking: pd.DataFrame, n: int = 5, *, alpha: float | None = None) -> list[str]:
    """The union, in order, of the ``n`` best-ranked features of every cluster of ``rank_features``.

    Parameters
    ----------
    ranking : DataFrame from :func:`rank_features`
    n : int, default=5
        Features taken per cluster.
    alpha : float, optional
        Keep only features with ``q_value < alpha``.
    """
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    rows = ranking if alpha is None else ranking[ranking["q_value"] < alpha]
    chosen: list[str] = []
    for _, group in rows.sort_values(["cluster", "rank"]).groupby("cluster", sort=True):
        for f in group["feature"].head(n):
            if f not in chosen:
                chosen.append(f)
    return chosen
