"""Scatter plot of an embedding coloured by cluster, and atomic figure saving.

Figures are built with :class:`matplotlib.figure.Figure` directly rather than ``pyplot``, so no
GUI backend is selected or needed and nothing global changes for the caller.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.decomposition import PCA
from sklearn.utils import check_array, check_random_state

from deepclust._io import atomic_write_bytes
from deepclust.metrics._external import _encode_labels

__all__ = ["plot_embedding", "save_figure"]

_MAX_LEGEND = 20


def _cluster_colours(n_clusters: int) -> np.ndarray:
    """RGBA colours of shape (n_clusters, 4) from a qualitative colormap."""
    import matplotlib

    if n_clusters <= 10:
        return np.asarray(matplotlib.colormaps["tab10"].colors)[:n_clusters]
    if n_clusters <= 20:
        return np.asarray(matplotlib.colormaps["tab20"].colors)[:n_clusters]
    # Beyond 20 no qualitative map has enough distinct colours; spread over a wide-hue map.
    return matplotlib.colormaps["turbo"](np.linspace(0.0, 1.0, n_clusters))[:, :3]


def plot_embedding(
    Z: Any,
    labels: Any,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    max_points: int = 20000,
    random_state: Any = 0,
    s: float | None = None,
) -> Axes:
    """Scatter plot of a 2-D view of an embedding, one colour per cluster.

    Embeddings with more than two columns are projected on their first two principal
    components (PCA fitted on all points; axes labelled "PC1" and "PC2"). Two-column
    embeddings are drawn as they are (axes "dim 1" and "dim 2"). Above ``max_points`` points a
    uniform random sample is drawn, and points are drawn in random order so that no cluster
    systematically hides another.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Embedding, ``n_features >= 2``.
    labels : array-like of shape (n_samples,)
        Cluster of each point, any hashable scalars.
    ax : matplotlib Axes, optional
        Axes to draw on; by default a new :class:`~matplotlib.figure.Figure` (no pyplot) is made.
    title : str, optional
        Axes title.
    max_points : int, default=20000
        Largest number of points drawn.
    random_state : int, RandomState instance or None, default=0
        Seed of the sample and the drawing order.
    s : float, optional
        Marker size; by default it shrinks with the number of points drawn.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on (``ax.figure`` is the figure). A legend is added for at most 20
        clusters.

    Raises
    ------
    ValueError
        If ``Z`` has fewer than 2 columns, the lengths differ or ``max_points < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_embedding(np.random.default_rng(0).normal(size=(50, 5)), [0, 1] * 25)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('PC1', 'PC2')
    """
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 1:
        raise ValueError(f"max_points must be a positive integer, got {max_points!r}")
    Z = check_array(Z, dtype=[np.float64, np.float32], input_name="Z")
    if Z.shape[1] < 2:
        raise ValueError(f"Z must have at least 2 columns to plot, got shape {Z.shape}")
    codes, uniques = _encode_labels(labels, "labels")
    if codes.shape[0] != Z.shape[0]:
        raise ValueError(
            f"Z has {Z.shape[0]} rows but labels has {codes.shape[0]} entries; expected the same number"
        )
    return _plot_embedding(
        Z, codes, uniques, ax=ax, title=title, max_points=max_points, random_state=random_state, s=s
    )


def _plot_embedding(
    Z: np.ndarray,
    codes: np.ndarray,
    uniques: list,
    *,
    ax: Axes | None,
    title: str | None,
    max_points: int,
    random_state: Any,
    s: float | None,
) -> Axes:
    rng = check_random_state(random_state)
    if Z.shape[1] > 2:
        Z2 = PCA(n_components=2, random_state=rng).fit_transform(Z)  # (n, 2)
        xlabel, ylabel = "PC1", "PC2"
    else:
        Z2 = Z
        xlabel, ylabel = "dim 1", "dim 2"
    n = Z2.shape[0]
    # A permutation both subsamples and randomises the drawing order.
    idx = rng.permutation(n)[: min(n, max_points)]
    Z2, codes = Z2[idx], codes[idx]

    if ax is None:
        ax = Figure(figsize=(6.0, 5.0), layout="constrained").add_subplot()
    colours = _cluster_colours(len(uniques))
    if s is None:
        s = float(np.clip(5000.0 / max(len(idx), 1), 1.0, 20.0))
    ax.scatter(Z2[:, 0], Z2[:, 1], c=colours[codes], s=s, linewidths=0, rasterized=len(idx) > 5000)
    if len(uniques) <= _MAX_LEGEND:
        handles = [
            Line2D([], [], linestyle="", marker="o", markersize=6, color=colours[k], label=str(u))
            for k, u in enumerate(uniques)
        ]
        ax.legend(handles=handles, title="cluster", loc="best", fontsize="small", frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax


def save_figure(fig: Figure, path: str | os.PathLike, **savefig_kwargs: Any) -> None:
    """Save a figure atomically; the format comes from the file suffix.

    The figure is rendered to memory first and then written with a temporary file and a
    rename, so an interrupted save never leaves a truncated image or destroys the old one.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Figure to save (for an Axes ``ax``, pass ``ax.figure``).
    path : path-like
        Destination, e.g. ``"umap.png"`` or ``"umap.pdf"``. Its folder must exist.
    **savefig_kwargs
        Passed to :meth:`matplotlib.figure.Figure.savefig` (``dpi``, ``bbox_inches``, ...).

    Raises
    ------
    ValueError
        If the suffix is missing or not a format matplotlib can write, or ``format`` is passed.
    FileNotFoundError
        If the destination folder does not exist.

    Examples
    --------
    >>> import tempfile, os
    >>> ax = plot_embedding([[0, 0], [1, 1], [2, 0]], ["a", "b", "a"])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_figure(ax.figure, os.path.join(d, "emb.png"))
    """
    if "format" in savefig_kwargs:
        raise ValueError("save_figure takes the format from the path suffix; do not pass format=")
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(
            f"cannot save figure to {str(path)!r}: expected a suffix among {sorted(supported)}, "
            f"got {path.suffix!r}"
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"folder {str(parent)!r} for figure {path.name!r} does not exist")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, **savefig_kwargs)
    atomic_write_bytes(path, buf.getvalue())
