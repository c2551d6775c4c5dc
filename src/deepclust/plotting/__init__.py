"""Plots of embeddings and clusters.

Importing this package does not import matplotlib: each function's module is loaded on first
use. Figures are made with :class:`matplotlib.figure.Figure`, not ``pyplot``, so no GUI backend
is needed or selected.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepclust.plotting._embedding import plot_embedding, save_figure

# public name -> private module that defines it
_LAZY = {
    "plot_embedding": "deepclust.plotting._embedding",
    "save_figure": "deepclust.plotting._embedding",
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
