"""Association of cluster labels with one covariate: the test and an effect size.

- categorical covariate: chi-square test of independence on the clusters x levels table,
  effect size Cramér's V = sqrt(chi2 / (n * (min(r, c) - 1))) (Cramér 1946);
- numeric covariate: Kruskal-Wallis H test across clusters, effect size
  eta² = (H - k + 1) / (n - k), clipped at 0 (Tomczak & Tomczak 2014).

Samples whose covariate is missing are left out. Both functions return
``(statistic, p_value, effect_size)``; with a single cluster or a single level there is no
association to test and the result is ``(0.0, 1.0, 0.0)``.

References
----------
Cramér (1946). Mathematical Methods of Statistics. Princeton University Press, p. 282.
Tomczak & Tomczak (2014). The need to report effect size estimates revisited. Trends in Sport
Sciences 1(21):19-25.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def _pairs(labels, values) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).reshape(-1)
    values = pd.Series(np.asarray(values, dtype=object).reshape(-1) if not isinstance(values, pd.Series) else values.to_numpy())
    if labels.shape[0] != values.shape[0]:
        raise ValueError(f"labels have {labels.shape[0]} entries but the covariate has {values.shape[0]}")
    keep = values.notna().to_numpy()
    return labels[keep], values[keep].to_numpy()


def categorical_association(labels, values) -> tuple[float, float, float]:
    """Chi-square test of clusters against a categorical covariate, with Cramér's V.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
    values : array-like of shape (n_samples,)
        Any hashable levels; missing values (None, NaN) are dropped.

    Returns
    -------
    statistic, p_value, cramers_v : float

    Examples
    --------
    >>> s, p, v = categorical_association([0, 0, 1, 1] * 10, ["a", "a", "b", "b"] * 10)
    >>> round(v, 3), p < 1e-6
    (1.0, True)
    """
    labels, values = _pairs(labels, values)
    table = pd.crosstab(labels, values.astype(str)).to_numpy()
    if table.shape[0] < 2 or table.shape[1] < 2:
        return 0.0, 1.0, 0.0
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    n = table.sum()
    v = float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))
    return float(chi2), float(p), min(v, 1.0)


def numeric_association(labels, values) -> tuple[float, float, float]:
    """Kruskal-Wallis test of a numeric covariate across clusters, with eta².

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
    values : array-like of shape (n_samples,)
        Numbers; missing values (NaN) are dropped.

    Returns
    -------
    statistic, p_value, eta_squared : float

    Examples
    --------
    >>> h, p, e2 = numeric_association([0] * 20 + [1] * 20, list(range(40)))
    >>> p < 1e-6, e2 > 0.7
    (True, True)
    """
    labels, values = _pairs(labels, values)
    values = values.astype(np.float64)
    groups = [values[labels == k] for k in np.unique(labels)]
    groups = [g for g in groups if g.size]
    n, k = values.size, len(groups)
    if k < 2 or n <= k or np.ptp(values) == 0:
        return 0.0, 1.0, 0.0
    h, p = stats.kruskal(*groups)
    eta2 = max((h - k + 1) / (n - k), 0.0)
    return float(h), float(p), float(min(eta2, 1.0))


__all__ = ["categorical_association", "numeric_association"]
