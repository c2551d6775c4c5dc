"""Line plots: the k sweep of model selection and the training curves of a run."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_history", "plot_k_sweep"]

# column -> (panel title, which direction is better)
_SWEEP = {
    "silhouette": ("silhouette (higher is better)", "max"),
    "davies_bouldin": ("Davies-Bouldin (lower is better)", "min"),
    "calinski_harabasz": ("Calinski-Harabasz (higher is better)", "max"),
    "bic": ("GMM BIC (lower is better)", "min"),
    "stability": ("bootstrap stability, mean ARI (higher is better)", "max"),
}


def plot_k_sweep(table: pd.DataFrame, *, chosen: int | None = None, threshold: float | None = None, title: str | None = None) -> Figure:
    """One panel per criterion of a k sweep (the table of :func:`deepclust.model_selection.select_k`).

    Parameters
    ----------
    table : DataFrame with a ``k`` column and any of ``silhouette, davies_bouldin,
        calinski_harabasz, bic, stability``
    chosen : int, optional
        The selected k, marked by a vertical line in every panel.
    threshold : float, optional
        The stability threshold of the selection rule, drawn on the stability panel.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> fig = plot_k_sweep(pd.DataFrame({"k": [2, 3], "silhouette": [0.5, 0.7]}), chosen=3)
    >>> len(fig.axes)
    1
    """
    if "k" not in table.columns:
        raise ValueError(f"table needs a 'k' column; it has {list(table.columns)}")
    cols = [c for c in _SWEEP if c in table.columns and table[c].notna().any()]
    if not cols:
        raise ValueError(f"table has none of the criteria {list(_SWEEP)}")
    ncol = min(3, len(cols))
    nrow = int(np.ceil(len(cols) / ncol))
    fig = Figure(figsize=(3.6 * ncol, 2.8 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    k = table["k"].to_numpy()
    for ax, col in zip(axes, cols):
        label, _ = _SWEEP[col]
        ax.plot(k, table[col].to_numpy(dtype=float), marker="o", color="C0")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("k")
        ax.set_xticks(k)
        if chosen is not None:
            ax.axvline(chosen, color="C3", linestyle="--", linewidth=1)
        if col == "stability" and threshold is not None:
            ax.axhline(threshold, color="grey", linestyle=":", linewidth=1)
    for ax in axes[len(cols):]:
        ax.set_visible(False)
    if title or chosen is not None:
        fig.suptitle(title or f"chosen k = {chosen}", fontsize=10)
    return fig


def _history_panels(history: Mapping[str, Any]) -> list[tuple[str, str, list]]:
    """(phase, quantity, values) for every per-epoch series of numbers in ``history``."""
    panels = []
    for key, values in history.items():
        phase, name = ("pretraining", key[len("pretrain_"):]) if key.startswith("pretrain_") else ("training", key)
        if name in ("epoch", "seconds") or not isinstance(values, (list, tuple)) or not values:
            continue
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            continue  # e.g. per-epoch cluster sizes (lists)
        panels.append((phase, name, list(values)))
    # pretraining first, then the total loss before its terms
    return sorted(panels, key=lambda p: (p[0] != "pretraining", p[1] != "loss"))


def plot_history(history: Mapping[str, Any], *, title: str | None = None, max_cols: int = 4) -> Figure:
    """Training curves: each per-epoch quantity of a run's ``history.json`` on its own axis.

    A loss, its terms, the learning rate, DEC's label-change fraction and the smallest
    cluster's size have different units and scales; on one shared axis the loss shows as a
    flat line, so every quantity gets its own small panel (title ``phase: quantity``). Keys
    starting with ``pretrain_`` belong to the pretraining phase. ``epoch`` and ``seconds`` are
    not plotted; entries that are not lists of numbers (per-epoch cluster sizes) are skipped.

    Examples
    --------
    >>> fig = plot_history({"epoch": [0, 1], "loss": [1.0, 0.5], "lr": [1e-3, 1e-4]})
    >>> [ax.get_title() for ax in fig.axes if ax.get_visible()]
    ['training: loss', 'training: lr']
    """
    panels = _history_panels(history)
    if not panels:
        raise ValueError("history holds no per-epoch losses to plot")
    ncol = min(max_cols, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig = Figure(figsize=(3.2 * ncol, 2.4 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    for ax, (phase, name, values) in zip(axes, panels):
        ax.plot(np.arange(len(values)), values, color="C0" if phase == "pretraining" else "C1")
        ax.set_title(f"{phase}: {name}", fontsize=9)
        ax.set_xlabel("epoch" if phase == "pretraining" or "epoch" in history else "update")
        if min(values) > 0 and max(values) / min(values) > 50:
            ax.set_yscale("log")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
