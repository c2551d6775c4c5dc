"""Voronoi regions of a nearest-centre clustering in a 2-D embedding (Agarap & Azcarraga 2018)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from deepclust.plotting._embedding import _cluster_colours

__all__ = ["plot_voronoi"]


def plot_voronoi(
    Z: Any,
    labels: Any,
    centers: Any,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    resolution: int = 300,
    max_points: int = 5000,
    random_state: Any = 0,
) -> Axes:
    """Points of a 2-D embedding over the Voronoi cells of the cluster centres.

    Every pixel of the plotting window is coloured by its nearest centre, which is the region
    k-means (and DEC/DCN's nearest-centre heads) assign to that cluster.

    Parameters
    ----------
    Z : array-like of shape (n_samples, 2)
    labels : array-like of shape (n_samples,) of ints in ``[0, n_clusters)``
    centers : array-like of shape (n_clusters, 2)
        Centre ``k`` is the centre of cluster label ``k``.
    resolution : int, default=300
        Grid points per axis.
    max_points : int, default=5000
        Points drawn (a random sample above that).

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[0.0, 0], [0.1, 0], [5, 5], [5, 5.1]])
    >>> plot_voronoi(Z, [0, 0, 1, 1], [[0.05, 0], [5, 5.05]]).get_xlabel()
    'dim 1'

    References
    ----------
    Agarap & Azcarraga (2018). Improving k-means clustering performance with disentangled
    internal representations. arXiv:1806.04913.
    """
    Z = np.asarray(Z, dtype=np.float64)
    C = np.asarray(centers, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    if Z.ndim != 2 or Z.shape[1] != 2 or C.ndim != 2 or C.shape[1] != 2:
        raise ValueError(f"Voronoi regions need 2-D points and centres, got Z {Z.shape} and centers {C.shape}")
    if labels.shape[0] != Z.shape[0] or labels.min() < 0 or labels.max() >= C.shape[0]:
        raise ValueError("labels must index the rows of centers, one per row of Z")
    lo = np.minimum(Z.min(axis=0), C.min(axis=0))
    hi = np.maximum(Z.max(axis=0), C.max(axis=0))
    pad = 0.05 * np.maximum(hi - lo, 1e-9)
    lo, hi = lo - pad, hi + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.c_[gx.ravel(), gy.ravel()]  # (r^2, 2)
    region = ((grid[:, None, :] - C[None, :, :]) ** 2).sum(-1).argmin(axis=1).reshape(gx.shape)
    colours = _cluster_colours(C.shape[0])
    if ax is None:
        ax = Figure(figsize=(6.0, 5.0), layout="constrained").add_subplot()
    ax.imshow(region, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap=ListedColormap(colours[:, :3]), alpha=0.25, aspect="auto", interpolation="nearest")
    rng = np.random.default_rng(random_state if isinstance(random_state, (int, np.integer)) else 0)
    idx = rng.permutation(Z.shape[0])[:max_points]
    ax.scatter(Z[idx, 0], Z[idx, 1], c=colours[labels[idx]], s=float(np.clip(4000 / max(len(idx), 1), 1, 15)), linewidths=0)
    ax.scatter(C[:, 0], C[:, 1], marker="X", s=90, c="black", edgecolors="white", linewidths=1)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("dim 1")
    ax.set_ylabel("dim 2")
    if title:
        ax.set_title(title)
    return ax
