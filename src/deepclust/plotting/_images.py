"""A grid of image rows (samples, reconstructions, generated digits)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_image_grid"]


def plot_image_grid(
    images: Any,
    image_shape: Sequence[int],
    *,
    row_labels: Sequence[str] | None = None,
    title: str | None = None,
    cell: float = 0.6,
) -> Figure:
    """Draw a (rows, cols) grid of flattened images.

    Parameters
    ----------
    images : array-like of shape (rows, cols, n_features)
        Rows of flattened images, channels first; NaN rows are left blank.
    image_shape : (channels, height, width)
        1 channel is drawn in grey, 3 channels in colour.
    row_labels : sequence of str, optional
        Written at the left of each row.
    cell : float, default=0.6
        Inches per image.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_image_grid(np.zeros((2, 3, 4)), (1, 2, 2), row_labels=["a", "b"])
    >>> len(fig.axes)
    6
    """
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(f"images must have shape (rows, cols, n_features), got {arr.shape}")
    c, h, w = (int(s) for s in image_shape)
    if c * h * w != arr.shape[2]:
        raise ValueError(f"image_shape {tuple(image_shape)} holds {c * h * w} values, rows have {arr.shape[2]}")
    rows, cols = arr.shape[:2]
    fig = Figure(figsize=(cell * cols + (0.6 if row_labels else 0.1), cell * rows + (0.4 if title else 0.1)), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            x = arr[i, j]
            if np.isfinite(x).all():
                img = x.reshape(c, h, w)
                if c == 1:
                    ax.imshow(img[0], cmap="gray", vmin=lo, vmax=hi)
                else:
                    ax.imshow(np.clip((np.moveaxis(img[:3], 0, -1) - lo) / max(hi - lo, 1e-12), 0, 1))
            if j == 0 and row_labels is not None:
                ax.set_ylabel(str(row_labels[i]), rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
