"""Heatmaps: features by cluster, clusters against reference labels, run-to-run agreement."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from deepclust.metrics._external import _encode_labels

__all__ = ["plot_ari_matrix", "plot_contingency", "plot_feature_heatmap"]


def _new_axes(width: float, height: float) -> Axes:
    return Figure(figsize=(width, height), layout="constrained").add_subplot()


def _annotate(ax: Axes, values: np.ndarray, fmt: str, max_cells: int = 400) -> None:
    if values.size > max_cells:
        return
    hi = np.nanmax(np.abs(values)) if values.size else 1.0
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7, color="white" if abs(v) > 0.6 * hi else "black")


def plot_feature_heatmap(
    X: Any,
    labels: Any,
    features: Sequence[str],
    *,
    feature_names: Sequence[str],
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Mean z-score of selected features in each cluster (rows: features, columns: clusters).

    Each feature is standardised over all samples, then averaged within each cluster, so a
    cell reads "how many standard deviations above the overall mean this cluster lies".

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
    features : sequence of str
        Names to show, in order (e.g. :func:`deepclust.explain.top_features`).
    feature_names : sequence of str, length n_features
    ax : Axes, optional
    title : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> plot_feature_heatmap(X, [0, 1] * 10, ["b", "a"], feature_names=["a", "b", "c"]).get_title()
    ''
    """
    X = np.asarray(X, dtype=np.float64)
    codes, uniques = _encode_labels(labels, "labels")
    index = {str(f): j for j, f in enumerate(feature_names)}
    missing = [f for f in features if str(f) not in index]
    if missing:
        raise ValueError(f"features {missing[:5]} are not among feature_names")
    if not len(features):
        raise ValueError("features is empty: nothing to draw")
    cols = [index[str(f)] for f in features]
    sub = X[:, cols]
    sd = sub.std(axis=0)
    z = (sub - sub.mean(axis=0)) / np.where(sd > 0, sd, 1.0)  # (n, m)
    means = np.stack([z[codes == k].mean(axis=0) for k in range(len(uniques))], axis=1)  # (m, K)
    if ax is None:
        ax = _new_axes(1.2 + 0.45 * len(uniques), 1.2 + 0.25 * len(features))
    lim = max(float(np.abs(means).max()), 1e-9)
    im = ax.imshow(means, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(len(uniques)), [str(u) for u in uniques])
    ax.set_yticks(range(len(features)), [str(f) for f in features], fontsize=7)
    ax.set_xlabel("cluster")
    ax.figure.colorbar(im, ax=ax, label="mean z-score", shrink=0.8)
    if title:
        ax.set_title(title)
    return ax


def plot_contingency(labels: Any, y_true: Any, *, ax: Axes | None = None, title: str | None = None, class_names: Sequence[str] | None = None) -> Axes:
    """Counts of each cluster (rows) against each reference class (columns).

    Rows are ordered so that each cluster sits near the class it holds most of.

    Examples
    --------
    >>> plot_contingency([0, 0, 1], ["a", "a", "b"]).get_ylabel()
    'cluster'
    """
    c, cu = _encode_labels(labels, "labels")
    t, tu = _encode_labels(y_true, "y_true")
    if c.shape[0] != t.shape[0]:
        raise ValueError(f"labels has {c.shape[0]} entries but y_true has {t.shape[0]}")
    table = np.zeros((len(cu), len(tu)), dtype=np.int64)
    np.add.at(table, (c, t), 1)
    order = np.lexsort((-table.max(axis=1), table.argmax(axis=1)))
    table = table[order]
    if ax is None:
        ax = _new_axes(1.5 + 0.45 * len(tu), 1.2 + 0.35 * len(cu))
    im = ax.imshow(table, cmap="Blues", aspect="auto")
    _annotate(ax, table.astype(float), ".0f")
    names = [str(u) for u in (class_names if class_names is not None else tu)]
    if len(names) != len(tu):
        names = [str(u) for u in tu]
    ax.set_xticks(range(len(tu)), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right" if max(map(len, names)) > 3 else "center")
    ax.set_yticks(range(len(cu)), [str(cu[i]) for i in order])
    ax.set_xlabel("reference label")
    ax.set_ylabel("cluster")
    ax.figure.colorbar(im, ax=ax, label="samples", shrink=0.8)
    if title:
        ax.set_title(title)
    return ax


def plot_ari_matrix(matrix: Any, *, names: Sequence[str] | None = None, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Pairwise adjusted Rand index between runs (e.g. seeds), annotated.

    Examples
    --------
    >>> plot_ari_matrix([[1.0, 0.5], [0.5, 1.0]], names=["0", "1"]).get_xlabel()
    'seed'
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix must be square, got shape {m.shape}")
    names = [str(i) for i in range(m.shape[0])] if names is None else [str(n) for n in names]
    if ax is None:
        ax = _new_axes(1.5 + 0.4 * m.shape[0], 1.0 + 0.4 * m.shape[0])
    im = ax.imshow(m, cmap="viridis", vmin=min(0.0, float(np.nanmin(m))), vmax=1.0)
    _annotate(ax, m, ".2f")
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("seed")
    ax.set_ylabel("seed")
    ax.figure.colorbar(im, ax=ax, label="ARI", shrink=0.8)
    if title:
        ax.set_title(title)
    return ax
