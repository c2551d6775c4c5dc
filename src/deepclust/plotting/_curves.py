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


def plot_history(history: Mapping[str, Any], *, title: str | None = None) -> Figure:
    """Training curves: every per-epoch loss in a run's ``history.json``, one panel per phase.

    Keys starting with ``pretrain_`` form the pretraining panel; the others the clustering (or
    only) phase. ``epoch``, ``seconds`` and ``lr`` are not plotted; entries that are not lists
    of numbers (e.g. per-epoch cluster sizes) are skipped.

    Examples
    --------
    >>> fig = plot_history({"epoch": [0, 1], "loss": [1.0, 0.5]})
    >>> fig.axes[0].get_ylabel()
    'loss'
    """
    groups: dict[str, dict[str, list]] = {}
    for key, values in history.items():
        phase, name = ("pretraining", key[len("pretrain_"):]) if key.startswith("pretrain_") else ("training", key)
        if name in ("epoch", "seconds", "lr") or not isinstance(values, (list, tuple)) or not values:
            continue
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            continue
        groups.setdefault(phase, {})[name] = list(values)
    if not groups:
        raise ValueError("history holds no per-epoch losses to plot")
    fig = Figure(figsize=(4.2 * len(groups), 3.0), layout="constrained")
    axes = fig.subplots(1, len(groups), squeeze=False).ravel()
    for ax, (phase, curves) in zip(axes, sorted(groups.items(), key=lambda kv: kv[0] != "pretraining")):
        for name, values in curves.items():
            ax.plot(np.arange(len(values)), values, label=name)
        ax.set_title(phase, fontsize=9)
        ax.set_xlabel("epoch" if phase == "pretraining" or "epoch" in history else "update")
        ax.set_ylabel("loss")
        positive = all(v > 0 for vals in curves.values() for v in vals)
        spread = [max(v) / min(v) for v in curves.values() if min(v) > 0]
        if positive and spread and max(spread) > 50:
            ax.set_yscale("log")
        if len(curves) > 1:
            ax.legend(fontsize="small", frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
