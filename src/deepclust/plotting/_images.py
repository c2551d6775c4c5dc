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
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['a', 'b']
    """
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(f"images must have shape (rows, cols, n_features), got {arr.shape}")
    c, h, w = (int(s) for s in image_shape)
    if c * h * w != arr.shape[2]:
        raise ValueError(f"image_shape {tuple(image_shape)} holds {c * h * w} values, rows have {arr.shape[2]}")
    rows, cols = arr.shape[:2]
    # One mosaic drawn by a single imshow: far faster than an Axes per image.
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    gap = 1
    mosaic = np.ones(((h + gap) * rows - gap, (w + gap) * cols - gap, 3))  # white between images
    for i in range(rows):
        for j in range(cols):
            x = arr[i, j]
            if not np.isfinite(x).all():
                continue  # blank cell
            img = (x.reshape(c, h, w) - lo) / max(hi - lo, 1e-12)
            rgb = np.repeat(img[:1], 3, axis=0) if c == 1 else img[:3]
            mosaic[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = np.clip(np.moveaxis(rgb, 0, -1), 0, 1)
    fig = Figure(figsize=(cell * cols + (1.0 if row_labels else 0.1), cell * rows + (0.4 if title else 0.1)), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([i * (h + gap) + h / 2 for i in range(rows)], [str(r) for r in row_labels] if row_labels is not None else [])
    ax.tick_params(length=0, labelsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
