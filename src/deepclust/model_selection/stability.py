"""Stability across seeds: pairwise agreement, consensus labels and per-cluster stability.

Given the labels of several fits (different seeds), :func:`seed_stability` reports

- the pairwise adjusted Rand index matrix between fits;
- consensus labels: the co-association matrix (fraction of fits that put two samples in the
  same cluster; Fred & Jain 2005) cut by average linkage into k clusters (k = the most common
  number of clusters among the fits, unless given). Above ``max_samples`` samples the matrix
  is built on a random subsample and every other sample joins the consensus cluster it is
  co-assigned with most often (exact for the subsample, cheap for the rest);
- per-cluster stability: for each consensus cluster, the mean over fits of its best-match
  Jaccard index with a cluster of that fit (Hennig 2007). Clusters below ``threshold``
  (default 0.75; Hennig calls clusters under 0.75 doubtful, under 0.5 dissolved) are flagged
  unstable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering

from deepclust.metrics import ari

__all__ = ["StabilityResult", "co_association", "consensus_labels", "parse_seeds", "seed_stability"]

UNSTABLE_BELOW = 0.75


def parse_seeds(text: str) -> list[int]:
    """``"0-9"`` -> [0, ..., 9]; ``"1,5,7"`` -> [1, 5, 7]; ``"3"`` -> [3].

    Examples
    --------
    >>> parse_seeds("0-2"), parse_seeds("4,1")
    ([0, 1, 2], [4, 1])
    """
    text = str(text).strip()
    try:
        if "-" in text and "," not in text:
            lo, hi = (int(t) for t in text.split("-", 1))
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ValueError(f"seeds must look like '0-9' or '0,3,7', got {text!r}") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct non-negative integers, got {text!r}")
    return seeds


def _codes(labelings) -> np.ndarray:
    runs = [np.asarray(l) for l in labelings]
    if len(runs) < 2:
        raise ValueError(f"stability needs the labels of at least 2 fits, got {len(runs)}")
    n = runs[0].shape[0]
    if any(r.ndim != 1 or r.shape[0] != n for r in runs):
        raise ValueError("every labelling must be 1-D with the same number of samples")
    return np.stack([np.unique(r, return_inverse=True)[1] for r in runs])  # (R, n)


def co_association(labelings) -> np.ndarray:
    """Fraction of fits in which each pair of samples shares a cluster: (n, n) float32.

    Examples
    --------
    >>> co_association([[0, 0, 1], [0, 1, 1]]).tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    codes = _codes(labelings)
    onehot = np.concatenate([np.eye(c.max() + 1, dtype=np.float32)[c] for c in codes], axis=1)  # (n, sum k_r)
    return (onehot @ onehot.T) / codes.shape[0]


def consensus_labels(labelings, n_clusters: int | None = None, *, max_samples: int = 5000, random_state=0) -> np.ndarray:
    """Consensus clustering: average linkage on ``1 - co_association``, cut into ``n_clusters``.

    Clusters are numbered by size, 0 the largest (equal sizes: by their first sample).

    Examples
    --------
    >>> consensus_labels([[0, 0, 1, 1], [1, 1, 0, 0], [0, 0, 0, 1]], 2).tolist()
    [0, 0, 1, 1]
    """
    codes = _codes(labelings)
    R, n = codes.shape
    if n_clusters is None:
        counts = [int(c.max()) + 1 for c in codes]
        values, freq = np.unique(counts, return_counts=True)
        n_clusters = int(values[freq == freq.max()].min())
    if not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters must be in [1, {n}], got {n_clusters}")
    rng = np.random.default_rng(random_state)
    sub = np.sort(rng.choice(n, size=max_samples, replace=False)) if n > max_samples else np.arange(n)
    C = co_association(codes[:, sub])
    if n_clusters == 1:
        lab_sub = np.zeros(len(sub), dtype=np.int64)
    else:
        lab_sub = AgglomerativeClustering(n_clusters=n_clusters, metric="precomputed", linkage="average").fit_predict(1.0 - C)
    labels = np.empty(n, dtype=np.int64)
    labels[sub] = lab_sub
    rest = np.setdiff1d(np.arange(n), sub)
    if rest.size:
        # affinity(i, c) = mean over fits of the fraction of c's subsample members that share i's
        # cluster in that fit: the mean co-association of i with c, without the n x n matrix.
        aff = np.zeros((rest.size, n_clusters))
        for r in range(R):
            frac = np.zeros((n_clusters, codes[r].max() + 1))
            np.add.at(frac, (lab_sub, codes[r, sub]), 1.0)
            frac /= np.maximum(frac.sum(axis=1, keepdims=True), 1.0)
            aff += frac[:, codes[r, rest]].T
        labels[rest] = aff.argmax(axis=1)
    sizes = np.bincount(labels, minlength=n_clusters)
    first = np.array([np.flatnonzero(labels == c)[0] if sizes[c] else n for c in range(n_clusters)])
    order = np.lexsort((first, -sizes))  # largest first; equal sizes by first sample
    return np.argsort(order)[labels]


def _best_jaccard(consensus: np.ndarray, run: np.ndarray) -> np.ndarray:
    """(K,) best-match Jaccard of each consensus cluster with the clusters of one fit."""
    K, M = consensus.max() + 1, run.max() + 1
    inter = np.zeros((K, M))
    np.add.at(inter, (consensus, run), 1.0)
    union = np.bincount(consensus, minlength=K)[:, None] + np.bincount(run, minlength=M)[None, :] - inter
    return (inter / np.maximum(union, 1.0)).max(axis=1)


@dataclass
class StabilityResult:
    """What :func:`seed_stability` found. ``clusters`` has one row per consensus cluster."""

    names: list[str]
    ari: np.ndarray  # (R, R)
    consensus: np.ndarray  # (n,)
    clusters: pd.DataFrame  # cluster, size, stability, unstable
    agreement: np.ndarray  # (R,) ARI of each fit with the consensus
    threshold: float

    @property
    def best_run(self) -> int:
        """Index of the fit that agrees best with the consensus (first on ties)."""
        return int(np.argmax(self.agreement))

    @property
    def unstable(self) -> list[int]:
        return [int(c) for c in self.clusters.loc[self.clusters["unstable"], "cluster"]]

    def ari_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.ari, index=self.names, columns=self.names)

    def to_dict(self) -> dict:
        off = self.ari[~np.eye(len(self.names), dtype=bool)]
        return {
            "runs": self.names,
            "n_clusters": int(self.consensus.max()) + 1,
            "mean_pairwise_ari": float(off.mean()) if off.size else 1.0,
            "min_pairwise_ari": float(off.min()) if off.size else 1.0,
            "pairwise_ari": self.ari.round(6).tolist(),
            "agreement_with_consensus": dict(zip(self.names, self.agreement.round(6).tolist())),
            "best_run": self.names[self.best_run],
            "unstable_threshold": self.threshold,
            "per_cluster_stability_definition": "mean over fits of the best-match Jaccard index of the consensus cluster (Hennig 2007)",
            "consensus_definition": "co-association matrix (fraction of fits that put two samples together), average linkage on 1 - co-association",
            "clusters": self.clusters.to_dict(orient="records"),
            "unstable_clusters": self.unstable,
        }

    def write(self, folder: str | Path, extra: dict | None = None) -> None:
        """``stability.json`` and ``stability_ari.csv`` in ``folder``, atomically."""
        from deepclust._io import atomic_open, atomic_write_json

        folder = Path(folder)
        atomic_write_json(folder / "stability.json", {**self.to_dict(), **(extra or {})})
        with atomic_open(folder / "stability_ari.csv", "w", encoding="utf-8", newline="") as fh:
            self.ari_frame().to_csv(fh, index_label="run")


def seed_stability(
    labelings: Sequence,
    *,
    names: Sequence[str] | None = None,
    n_clusters: int | None = None,
    threshold: float = UNSTABLE_BELOW,
    max_samples: int = 5000,
    random_state=0,
) -> StabilityResult:
    """Agreement between fits, consensus labels and per-cluster stability.

    Parameters
    ----------
    labelings : sequence of R array-likes of shape (n_samples,)
        The labels of each fit (e.g. one per seed); R >= 2.
    names : sequence of str, optional
        Name of each fit (e.g. the seeds); default ``"0", "1", ...``.
    n_clusters : int, optional
        Consensus clusters; default the most common number of clusters among the fits.
    threshold : float, default=0.75
        Consensus clusters with stability below this are flagged unstable.
    max_samples : int, default=5000
        Largest co-association matrix built (see the module docstring).
    random_state : int, default=0

    Returns
    -------
    StabilityResult

    Examples
    --------
    >>> res = seed_stability([[0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 2], [0, 0, 1, 1, 1, 2]])
    >>> res.ari.shape, res.consensus.tolist()
    ((3, 3), [0, 0, 1, 1, 2, 2])

    References
    ----------
    Fred & Jain (2005). Combining multiple clusterings using evidence accumulation. IEEE TPAMI 27(6).
    Hennig (2007). Cluster-wise assessment of cluster stability. CSDA 52, 258-271.
    Monti, Tamayo, Mesirov & Golub (2003). Consensus clustering. Machine Learning 52, 91-118.
    """
    codes = _codes(labelings)
    R = codes.shape[0]
    names = [str(i) for i in range(R)] if names is None else [str(n) for n in names]
    if len(names) != R:
        raise ValueError(f"names has {len(names)} entries for {R} fits")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    M = np.eye(R)
    for i in range(R):
        for j in range(i + 1, R):
            M[i, j] = M[j, i] = ari(codes[i], codes[j])
    consensus = consensus_labels(codes, n_clusters, max_samples=max_samples, random_state=random_state)
    jac = np.stack([_best_jaccard(consensus, c) for c in codes])  # (R, K)
    stab = jac.mean(axis=0)
    clusters = pd.DataFrame(
        {
            "cluster": np.arange(stab.shape[0]),
            "size": np.bincount(consensus, minlength=stab.shape[0]),
            "stability": stab.round(6),
            "min_jaccard": jac.min(axis=0).round(6),
            "unstable": stab < threshold,
        }
    )
    agreement = np.array([ari(consensus, c) for c in codes])
    return StabilityResult(names=names, ari=M, consensus=consensus, clusters=clusters, agreement=agreement, threshold=float(threshold))
