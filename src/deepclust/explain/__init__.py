"""What distinguishes each cluster: feature tests, covariate associations.

:func:`explain_clusters` runs everything and returns an :class:`Explanation`, whose
:meth:`~Explanation.write` saves the tables as CSV and a heatmap of the top features:

    features.csv        one-vs-rest Mann-Whitney U per cluster and feature, BH q-values,
                        Cliff's delta, log2 fold change (positive data only)
    kruskal.csv         Kruskal-Wallis per feature across all clusters, eta squared
    covariates.csv      chi-square + Cramer's V (categorical) / Kruskal-Wallis + eta^2 (numeric)
    covariate_profiles.csv  per cluster: level fractions (categorical), medians (numeric)
    heatmap.png         mean z-score of the top features of each cluster

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = np.r_[rng.normal(0, 1, (30, 4)), rng.normal(0, 1, (30, 4)) + [3, 0, 0, 0]]
>>> labels = np.r_[np.zeros(30, int), np.ones(30, int)]
>>> ex = explain_clusters(X, labels, feature_names=["a", "b", "c", "d"])
>>> ex.kruskal.feature.iloc[0]
'a'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from deepclust.explain.covariates import covariate_associations, covariate_kinds, covariate_profiles, cramers_v
from deepclust.explain.features import benjamini_hochberg, cliffs_delta, kruskal_features, rank_features, top_features

__all__ = [
    "Explanation",
    "benjamini_hochberg",
    "cliffs_delta",
    "covariate_associations",
    "covariate_kinds",
    "covariate_profiles",
    "cramers_v",
    "explain_clusters",
    "kruskal_features",
    "rank_features",
    "top_features",
]


@dataclass
class Explanation:
    """Result of :func:`explain_clusters`; tables are pandas DataFrames (covariate ones may be None)."""

    features: pd.DataFrame
    kruskal: pd.DataFrame
    covariates: pd.DataFrame | None
    profiles: pd.DataFrame | None
    top: list[str]
    X: np.ndarray
    labels: np.ndarray
    feature_names: list[str]

    def summary(self, n: int = 3, alpha: float = 0.05) -> pd.DataFrame:
        """Per cluster: size and its ``n`` best features (name, Cliff's delta) with q < alpha."""
        rows = []
        for cluster, group in self.features.groupby("cluster", sort=True):
            sig = group[group["q_value"] < alpha].sort_values("rank").head(n)
            best = ", ".join(f"{f} ({'+' if d > 0 else ''}{d:.2f})" for f, d in zip(sig["feature"], sig["cliffs_delta"]))
            rows.append({"cluster": cluster, "size": int(group["n_in"].iloc[0]), "n_significant": int((group["q_value"] < alpha).sum()), "top_features": best})
        return pd.DataFrame(rows)

    def write(self, folder: str | Path, *, plot: bool = True) -> Path:
        """Write the CSV tables and ``heatmap.png`` into ``folder`` (created; files written atomically)."""
        from deepclust._io import atomic_open

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"features.csv": self.features, "kruskal.csv": self.kruskal, "covariates.csv": self.covariates, "covariate_profiles.csv": self.profiles}
        for name, table in tables.items():
            if table is not None:
                with atomic_open(folder / name, "w", encoding="utf-8", newline="") as fh:
                    table.to_csv(fh, index=False)
        if plot and self.top:
            from deepclust.plotting import plot_feature_heatmap, save_figure

            ax = plot_feature_heatmap(self.X, self.labels, self.top, feature_names=self.feature_names, title="top features per cluster")
            save_figure(ax.figure, folder / "heatmap.png", dpi=110)
        return folder


def explain_clusters(
    X,
    labels,
    *,
    feature_names: Sequence[str] | None = None,
    covariates: pd.DataFrame | None = None,
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
    n_top: int = 5,
) -> Explanation:
    """Explain a clustering by its features and, optionally, by per-sample covariates.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data in interpretable units (before scaling), e.g. metabolite levels.
    labels : array-like of shape (n_samples,)
    feature_names : sequence of str, optional
    covariates : pandas.DataFrame with n_samples rows, optional
        Aligned with ``labels`` by position (e.g. ``Dataset.metadata``).
    categorical, numeric : sequence of str
        Force the kind of these covariates (see :func:`covariate_kinds`).
    n_top : int, default=5
        Features per cluster in the heatmap.

    Returns
    -------
    Explanation
    """
    X = np.asarray(X, dtype=np.float64)
    features = rank_features(X, labels, feature_names=feature_names)
    names = [str(f) for f in (feature_names if feature_names is not None else [f"x{j}" for j in range(X.shape[1])])]
    kw = kruskal_features(X, labels, feature_names=names)
    cov = prof = None
    if covariates is not None:
        cov = covariate_associations(labels, covariates, categorical=categorical, numeric=numeric)
        prof = covariate_profiles(labels, covariates, categorical=categorical, numeric=numeric)
    return Explanation(
        features=features, kruskal=kw, covariates=cov, profiles=prof, top=top_features(features, n_top),
        X=X, labels=np.asarray(labels), feature_names=names,
    )
