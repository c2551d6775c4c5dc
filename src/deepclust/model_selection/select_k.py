"""Choose the number of clusters: sweep k on an embedding and score each clustering.

Criteria per k: silhouette, Davies-Bouldin and Calinski-Harabasz of the clustering; the BIC of a
Gaussian mixture with k components; and bootstrap stability, the mean adjusted Rand index
between the clustering of the full data and the clusterings learned on bootstrap resamples
(each resample's clusterer labels all points; Fang & Wang 2012, Hennig 2007).

The rule (:data:`RULE`): among the k whose stability is at least ``stability_threshold``, take
the highest silhouette; every k within ``tie_tolerance`` of it counts as tied and the smallest
wins. If no k is stable enough, the most stable k is taken (smallest on ties) and a warning
says so. Silhouette is scale-free and penalises both merged and split groups; the stability
filter removes the k whose partition is an arbitrary cut of a continuum, which silhouette alone
cannot see.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.mixture import GaussianMixture

from deepclust.metrics import ari, calinski_harabasz, davies_bouldin, silhouette

__all__ = ["RULE", "SelectKResult", "parse_k_range", "select_k"]

RULE = (
    "highest silhouette among k with bootstrap stability (mean ARI) >= {threshold}; "
    "k within {tol} of the best silhouette count as tied and the smallest wins; "
    "if no k is that stable, the most stable k"
)
DEFAULT_K_RANGE = (2, 12)


def parse_k_range(text: str) -> list[int]:
    """``"2-12"`` -> [2, ..., 12]; ``"2,4,8"`` -> [2, 4, 8]; every k must be >= 2.

    Examples
    --------
    >>> parse_k_range("3-5"), parse_k_range("2,4")
    ([3, 4, 5], [2, 4])
    """
    text = str(text).strip()
    try:
        if "-" in text and "," not in text:
            lo, hi = (int(t) for t in text.split("-", 1))
            ks = list(range(lo, hi + 1))
        else:
            ks = sorted({int(t) for t in text.split(",") if t.strip()})
    except ValueError:
        raise ValueError(f"k range must look like '2-12' or '2,4,8', got {text!r}") from None
    if not ks or min(ks) < 2:
        raise ValueError(f"k range must hold integers >= 2 (e.g. '2-12'), got {text!r}")
    return ks


@dataclass
class SelectKResult:
    """The k sweep: ``table`` (one row per k), the chosen ``k`` and the rule that chose it."""

    table: pd.DataFrame
    k: int
    rule: str
    reason: str
    threshold: float
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"chosen_k": int(self.k), "rule": self.rule, "reason": self.reason, "threshold": self.threshold, **self.settings}

    def plot(self):
        """The curves (a matplotlib Figure), the chosen k marked."""
        from deepclust.plotting import plot_k_sweep

        return plot_k_sweep(self.table, chosen=self.k, threshold=self.threshold, title=f"chosen k = {self.k}")

    def write(self, folder: str | Path, *, plot: bool = True) -> None:
        """``select_k.csv`` (and ``select_k.png``) in ``folder``, atomically."""
        from deepclust._io import atomic_open

        folder = Path(folder)
        with atomic_open(folder / "select_k.csv", "w", encoding="utf-8", newline="") as fh:
            self.table.to_csv(fh, index=False)
        if plot:
            from deepclust.plotting import save_figure

            save_figure(self.plot(), folder / "select_k.png", dpi=100)


def _cluster(spec, k: int, seed: int, Z: np.ndarray):
    from deepclust.methods._clusterers import fit_assigner, make_clusterer

    assigner, labels = fit_assigner(make_clusterer(spec, k, seed), Z)
    return assigner, labels


def select_k(
    Z,
    k_range=range(DEFAULT_K_RANGE[0], DEFAULT_K_RANGE[1] + 1),
    *,
    clusterer="kmeans",
    n_bootstrap: int = 10,
    stability_threshold: float = 0.8,
    tie_tolerance: float = 0.01,
    max_samples: int = 20000,
    random_state=0,
    progress: bool = False,
) -> SelectKResult:
    """Sweep k over ``k_range`` on the embedding ``Z`` and choose one (see :data:`RULE`).

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_dims)
        The representation that is clustered (an autoencoder's codes, or the scaled data).
    k_range : iterable of int, default=range(2, 13)
    clusterer : {"kmeans", "gmm", "gmm-diag", "agglomerative"} or estimator, default="kmeans"
        The clusterer whose k is chosen.
    n_bootstrap : int, default=10
        Bootstrap resamples per k for the stability score; 0 skips stability (the rule then
        uses silhouette alone).
    stability_threshold : float, default=0.8
    tie_tolerance : float, default=0.01
        Silhouettes closer than this to the best count as tied.
    max_samples : int, default=20000
        Bootstrap resamples hold at most this many points (drawn with replacement), so large
        data sets stay affordable; every resample's clusterer still labels all points.
    random_state : int or None, default=0
    progress : bool, default=False
        A progress bar over k.

    Returns
    -------
    SelectKResult
        ``table`` columns: ``k, silhouette, davies_bouldin, calinski_harabasz, bic,
        stability, stability_sd, smallest_cluster``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> Z, _ = make_blobs(300, centers=4, cluster_std=0.5, random_state=1)
    >>> select_k(Z, range(2, 7), n_bootstrap=3).k
    4

    References
    ----------
    Rousseeuw (1987). Silhouettes. J. Comput. Appl. Math. 20, 53-65.
    Hennig (2007). Cluster-wise assessment of cluster stability. CSDA 52, 258-271.
    Fang & Wang (2012). Selection of the number of clusters via the bootstrap method. CSDA 56, 468-477.
    """
    from deepclust.methods._base import check_array_2d, seed_stream

    Z = check_array_2d(Z, name="Z", min_samples=3).astype(np.float64)
    n = Z.shape[0]
    ks = sorted({int(k) for k in k_range})
    if not ks or ks[0] < 2:
        raise ValueError(f"k_range must hold integers >= 2, got {list(k_range)!r}")
    if ks[-1] >= n:
        raise ValueError(f"k={ks[-1]} needs more than {n} samples")
    if not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap!r}")
    if not 0.0 <= stability_threshold <= 1.0:
        raise ValueError(f"stability_threshold must be in [0, 1], got {stability_threshold!r}")
    rng = seed_stream(random_state)
    cov = "full" if Z.shape[1] <= 32 else "diag"  # full covariances in high dimension are mostly penalty
    iterator = ks
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(ks, desc="select k", unit="k", leave=False)
    rows = [_score_k(clusterer, k, Z, rng, n_bootstrap=n_bootstrap, max_samples=max_samples, cov=cov) for k in iterator]
    table = pd.DataFrame(rows)
    k, reason = _choose(table, stability_threshold, tie_tolerance, use_stability=n_bootstrap > 0)
    rule = RULE.format(threshold=stability_threshold, tol=tie_tolerance)
    settings = {"k_range": ks, "clusterer": clusterer if isinstance(clusterer, str) else type(clusterer).__name__,
                "n_bootstrap": int(n_bootstrap), "bic_covariance": cov}
    return SelectKResult(table=table, k=k, rule=rule, reason=reason, threshold=stability_threshold, settings=settings)


def _score_k(clusterer, k: int, Z: np.ndarray, rng, *, n_bootstrap: int, max_samples: int, cov: str) -> dict:
    """One row of the sweep's table: cluster ``Z`` into ``k``, score it, resample it ``n_bootstrap`` times."""
    from deepclust.methods._base import draw_seed

    n = Z.shape[0]
    seed = draw_seed(rng)
    _, labels = _cluster(clusterer, k, seed, Z)
    gmm = GaussianMixture(n_components=k, covariance_type=cov, random_state=seed, reg_covar=1e-5).fit(Z)
    scores = []
    for _ in range(n_bootstrap):
        idx = rng.integers(0, n, size=min(n, max_samples))
        assigner, _ = _cluster(clusterer, k, draw_seed(rng), Z[idx])
        scores.append(ari(labels, assigner.predict(Z)))
    return {
        "k": k,
        "silhouette": silhouette(Z, labels, sample_size=5000, random_state=seed),
        "davies_bouldin": davies_bouldin(Z, labels),
        "calinski_harabasz": calinski_harabasz(Z, labels),
        "bic": float(gmm.bic(Z)),
        "stability": float(np.mean(scores)) if scores else np.nan,
        "stability_sd": float(np.std(scores)) if scores else np.nan,
        "smallest_cluster": int(np.bincount(np.unique(labels, return_inverse=True)[1]).min()),
    }


def _choose(table: pd.DataFrame, threshold: float, tol: float, *, use_stability: bool) -> tuple[int, str]:
    sil = table["silhouette"].fillna(-np.inf)
    if use_stability:
        stable = table["stability"] >= threshold
        if not stable.any():
            best = table.loc[table["stability"].idxmax()]  # idxmax takes the first, i.e. the smallest k
            warnings.warn(
                f"no k in {table['k'].min()}-{table['k'].max()} reaches bootstrap stability {threshold}; "
                f"taking the most stable, k={int(best['k'])} (ARI {best['stability']:.2f}): the clusters may not be real",
                RuntimeWarning,
                stacklevel=3,
            )
            return int(best["k"]), f"no k reached stability {threshold}; k={int(best['k'])} is the most stable (ARI {best['stability']:.3f})"
    else:
        stable = pd.Series(True, index=table.index)
    best = sil[stable].max()
    tied = table[stable & (sil >= best - tol)]
    k = int(tied["k"].min())
    row = table.set_index("k").loc[k]
    why = f"k={k}: silhouette {row['silhouette']:.3f} (best among stable k: {best:.3f})"
    if use_stability:
        why += f", stability {row['stability']:.3f} >= {threshold}"
    return k, why
