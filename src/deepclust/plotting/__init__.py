"""Plots of embeddings and clusters.

Importing this package does not import matplotlib: each function's module is loaded on first
use. Figures are made with :class:`matplotlib.figure.Figure`, not ``pyplot``, so no GUI backend
is needed or selected.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepclust.plotting._animation import embedding_animation
    from deepclust.plotting._curves import plot_history, plot_k_sweep
    from deepclust.plotting._embedding import plot_embedding, save_figure
    from deepclust.plotting._heatmaps import plot_ari_matrix, plot_contingency, plot_feature_heatmap
    from deepclust.plotting._images import plot_image_grid
    from deepclust.plotting._regions import plot_voronoi

# public name -> private module that defines it
_LAZY = {
    "plot_embedding": "deepclust.plotting._embedding",
    "save_figure": "deepclust.plotting._embedding",
    "plot_feature_heatmap": "deepclust.plotting._heatmaps",
    "plot_contingency": "deepclust.plotting._heatmaps",
    "plot_ari_matrix": "deepclust.plotting._heatmaps",
    "plot_k_sweep": "deepclust.plotting._curves",
    "plot_history": "deepclust.plotting._curves",
    "plot_voronoi": "deepclust.plotting._regions",
    "plot_image_grid": "deepclust.plotting._images",
    "embedding_animation": "deepclust.plotting._animation",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
