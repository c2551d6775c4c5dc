"""How clusters relate to per-sample covariates (cohort, sex, age, ...).

Categorical covariates: a chi-square test of independence on the cluster x level table, with
Cramer's V as effect size. Numeric covariates: a Kruskal-Wallis test across clusters, with eta
squared. Missing values are dropped covariate by covariate.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from deepclust.explain.features import benjamini_hochberg

__all__ = ["covariate_associations", "covariate_kinds", "covariate_profiles", "cramers_v"]

#: Numeric columns with integer values and at most this many distinct values are treated as
#: categorical codes (e.g. a cohort stored as 1..6, education level 1..3).
MAX_CODED_LEVELS = 10


def cramers_v(table) -> float:
    """Cramer's V of a contingency table: ``sqrt(chi2 / (n (min(r, c) - 1)))``, in [0, 1].

    The chi-square statistic is the uncorrected one (no Yates continuity correction), so a
    perfect association gives exactly 1.

    Examples
    --------
    >>> cramers_v([[10, 0], [0, 5]])
    1.0

    References
    ----------
    Cramer (1946). Mathematical Methods of Statistics. Princeton University Press, p. 282.
    """
    t = np.asarray(table, dtype=np.float64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.ndim != 2 or min(t.shape) < 2:
        return float("nan")
    chi2 = stats.chi2_contingency(t, correction=False)[0]
    return float(np.sqrt(chi2 / (t.sum() * (min(t.shape) - 1))))


def _is_identifier(s: pd.Series) -> bool:
    # One distinct value per sample and not a measurement (text or whole numbers): an ID column.
    v = s.dropna()
    if len(v) < 3 or v.nunique() != len(v):
        return False
    return not pd.api.types.is_numeric_dtype(v) or bool(pd.api.types.is_integer_dtype(v) or np.all(np.mod(v.to_numpy(dtype=float), 1) == 0))


def covariate_kinds(covariates: pd.DataFrame, *, categorical: Sequence[str] = (), numeric: Sequence[str] = ()) -> dict[str, str]:
    """Decide, per column, ``"categorical"``, ``"numeric"`` or ``"skip"`` (and why).

    Text, boolean and category columns are categorical; numeric columns with whole-number values
    and at most :data:`MAX_CODED_LEVELS` distinct values are categorical codes; other numeric
    columns are numeric. Identifier-like columns (one distinct value per sample) and constant
    columns are skipped. ``categorical`` and ``numeric`` override the guess for named columns.
    """
    unknown = [c for c in (*categorical, *numeric) if c not in covariates.columns]
    if unknown:
        raise ValueError(f"covariates {unknown} not found; available: {list(map(str, covariates.columns))}")
    both = set(categorical) & set(numeric)
    if both:
        raise ValueError(f"covariates {sorted(both)} are named both categorical and numeric")
    kinds = {}
    for col in covariates.columns:
        s = covariates[col]
        if col in categorical:
            kinds[col] = "categorical"
        elif col in numeric:
            if not pd.api.types.is_numeric_dtype(s):
                s2 = pd.to_numeric(s, errors="coerce")
                if s2.notna().sum() < s.notna().sum():
                    raise ValueError(f"covariate {col!r} was named numeric but holds non-numeric values, e.g. {s[s2.isna() & s.notna()].iloc[0]!r}")
            kinds[col] = "numeric"
        elif s.dropna().nunique() < 2:
            kinds[col] = "skip"
        elif _is_identifier(s):
            kinds[col] = "skip"
        elif pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            kinds[col] = "categorical"
        else:
            v = s.dropna().to_numpy(dtype=float)
            coded = np.all(np.mod(v, 1) == 0) and len(np.unique(v)) <= MAX_CODED_LEVELS
            kinds[col] = "categorical" if coded else "numeric"
    return kinds


def _align(labels, covariates: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    if not isinstance(covariates, pd.DataFrame):
        raise TypeError(f"covariates must be a pandas DataFrame, got {type(covariates).__name__}")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != len(covariates):
        raise ValueError(f"labels has {labels.shape[0] if labels.ndim == 1 else labels.shape} entries but covariates has {len(covariates)} rows")
    return labels, covariates


def covariate_associations(
    labels,
    covariates: pd.DataFrame,
    *,
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
) -> pd.DataFrame:
    """Test every covariate for association with the clusters.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
    covariates : pandas.DataFrame with n_samples rows, aligned with ``labels``
    categorical, numeric : sequence of str
        Force the kind of these columns (see :func:`covariate_kinds` for the default guess).

    Returns
    -------
    pandas.DataFrame
        One row per covariate tested, sorted by ``q_value`` then ``effect_size`` (descending):
        ``covariate, kind`` (categorical / numeric), ``test`` (chi-square / Kruskal-Wallis),
        ``n`` (samples with a value), ``n_levels`` (categorical), ``statistic, dof, p_value,
        q_value`` (Benjamini-Hochberg over the covariates), ``effect_size`` and ``effect``
        (``cramers_v`` or ``eta_squared``). Skipped columns (constant, identifiers) are listed
        with ``test = "skipped"`` and NaN statistics at the end.

    Examples
    --------
    >>> import pandas as pd
    >>> cov = pd.DataFrame({"site": ["a"] * 4 + ["b"] * 4, "age": [1, 2, 3, 4, 5, 6, 7, 8.5]})
    >>> t = covariate_associations([0] * 4 + [1] * 4, cov)
    >>> float(t.set_index("covariate").loc["site", "effect_size"])
    1.0
    """
    labels, covariates = _align(labels, covariates)
    kinds = covariate_kinds(covariates, categorical=categorical, numeric=numeric)
    rows, skipped = [], []
    for col, kind in kinds.items():
        s = covariates[col].reset_index(drop=True)
        keep = s.notna().to_numpy()
        lab, vals = labels[keep], s[keep]
        if kind == "skip" or len(np.unique(lab)) < 2 or vals.nunique() < 2:
            skipped.append({"covariate": str(col), "kind": kind, "test": "skipped", "n": int(keep.sum())})
            continue
        if kind == "categorical":
            table = pd.crosstab(pd.Series(lab, name="cluster"), vals.astype(str).to_numpy())
            chi2, p, dof, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
            rows.append(
                {"covariate": str(col), "kind": kind, "test": "chi-square", "n": int(keep.sum()), "n_levels": int(table.shape[1]),
                 "statistic": float(chi2), "dof": int(dof), "p_value": float(p), "effect_size": cramers_v(table.to_numpy()), "effect": "cramers_v"}
            )
        else:
            v = pd.to_numeric(vals).to_numpy(dtype=np.float64)
            groups = [v[lab == c] for c in np.unique(lab)]
            k, n = len(groups), v.shape[0]
            h, p = stats.kruskal(*groups)
            eta2 = max(0.0, (h - k + 1) / (n - k)) if n > k else float("nan")
            rows.append(
                {"covariate": str(col), "kind": kind, "test": "Kruskal-Wallis", "n": int(n), "n_levels": np.nan,
                 "statistic": float(h), "dof": k - 1, "p_value": float(p), "effect_size": float(eta2), "effect": "eta_squared"}
            )
    columns = ["covariate", "kind", "test", "n", "n_levels", "statistic", "dof", "p_value", "q_value", "effect_size", "effect"]
    frame = pd.DataFrame(rows, columns=[c for c in columns if c != "q_value"])
    frame["q_value"] = benjamini_hochberg(frame["p_value"].to_numpy(dtype=float)) if len(frame) else []
    frame["_e"] = -frame["effect_size"]
    frame = frame.sort_values(["q_value", "_e"], kind="mergesort").drop(columns="_e")
    out = pd.concat([frame, pd.DataFrame(skipped, columns=["covariate", "kind", "test", "n"])], ignore_index=True) if skipped else frame
    return out[columns].reset_index(drop=True)


def covariate_profiles(labels, covariates: pd.DataFrame, *, categorical: Sequence[str] = (), numeric: Sequence[str] = ()) -> pd.DataFrame:
    """What each cluster looks like on each covariate, in long form.

    Returns
    -------
    pandas.DataFrame
        Columns ``covariate, level, cluster, value``: for categorical covariates one row per
        level and cluster with the fraction of the cluster's samples at that level
        (``level`` = the level); for numeric covariates the cluster's median
        (``level = "median"``). Also a ``cluster = "all"`` row for the whole data.

    Examples
    --------
    >>> import pandas as pd
    >>> p = covariate_profiles([0, 0, 1, 1], pd.DataFrame({"sex": ["f", "f", "m", "f"]}))
    >>> p[(p.cluster == "1") & (p.level == "m")].value.item()
    0.5
    """
    labels, covariates = _align(labels, covariates)
    kinds = covariate_kinds(covariates, categorical=categorical, numeric=numeric)
    lab = pd.Series(labels).astype(str)
    rows = []
    for col, kind in kinds.items():
        s = covariates[col].reset_index(drop=True)
        if kind == "categorical":
            vals = s.astype("string")
            for cluster, group in [*((c, vals[lab == c]) for c in sorted(lab.unique(), key=_natural)), ("all", vals)]:
                freq = group.value_counts(normalize=True, dropna=True)
                for level in sorted(vals.dropna().unique(), key=_natural):
                    rows.append((str(col), str(level), cluster, float(freq.get(level, 0.0))))
        elif kind == "numeric":
            v = pd.to_numeric(s)
            for cluster, group in [*((c, v[lab == c]) for c in sorted(lab.unique(), key=_natural)), ("all", v)]:
                rows.append((str(col), "median", cluster, float(group.median())))
    return pd.DataFrame(rows, columns=["covariate", "level", "cluster", "value"])


def _natural(text: str):
    # "2" < "10" for integer-like strings, otherwise alphabetical
    try:
        return (0, float(text), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(text))
