"""An animated GIF of a 2-D embedding over training epochs (Aljalbout et al. 2018 show these)."""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from deepclust.plotting._embedding import _cluster_colours

__all__ = ["embedding_animation"]


def embedding_animation(
    frames: Any,
    labels: Any,
    *,
    titles: Sequence[str] | None = None,
    max_frames: int = 60,
    duration_ms: int = 150,
    size_px: int = 320,
) -> bytes:
    """Render the 2-D embedding of the same points at successive epochs as a looping GIF.

    Parameters
    ----------
    frames : array-like of shape (n_frames, n_points, 2)
    labels : array-like of shape (n_points,)
        Colour of each point (e.g. the final clusters), the same in every frame.
    titles : sequence of str, optional
        One caption per frame (e.g. "epoch 3").
    max_frames : int, default=60
        More frames are thinned evenly (first and last kept) to keep the file small.
    duration_ms : int, default=150
        Time each frame is shown; the last one is held 4 times as long.
    size_px : int, default=320
        Width and height of the GIF.

    Returns
    -------
    bytes
        The GIF file.

    Examples
    --------
    >>> import numpy as np
    >>> gif = embedding_animation(np.random.default_rng(0).normal(size=(3, 10, 2)), [0, 1] * 5)
    >>> gif[:6]
    b'GIF89a'

    References
    ----------
    Aljalbout, Golkov, Siddiqui, Strobel & Cremers (2018). Clustering with deep learning:
    taxonomy and new methods. arXiv:1801.07648.
    """
    from PIL import Image

    F = np.asarray(frames, dtype=np.float64)
    if F.ndim != 3 or F.shape[2] != 2 or F.shape[0] < 1:
        raise ValueError(f"frames must have shape (n_frames, n_points, 2), got {F.shape}")
    labels = np.asarray(labels)
    if labels.shape != (F.shape[1],):
        raise ValueError(f"labels must have shape ({F.shape[1]},), got {labels.shape}")
    uniques, codes = np.unique(labels, return_inverse=True)
    colours = _cluster_colours(len(uniques))[codes]
    keep = np.unique(np.linspace(0, F.shape[0] - 1, min(max_frames, F.shape[0])).round().astype(int))
    dpi = 80
    images = []
    for i in keep:
        fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi, layout="constrained")
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        xy = F[i]
        lo, hi = np.percentile(xy, [0.5, 99.5], axis=0)  # robust limits per frame: outliers do not squash the view
        pad = 0.05 * np.maximum(hi - lo, 1e-9)
        ax.scatter(xy[:, 0], xy[:, 1], c=colours, s=4, linewidths=0)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
        canvas.draw()
        rgba = np.asarray(canvas.buffer_rgba())
        images.append(Image.fromarray(rgba[:, :, :3]).convert("P", palette=Image.ADAPTIVE, colors=64))
    durations = [duration_ms] * len(images)
    durations[-1] = 4 * duration_ms
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=True)
    return buf.getvalue()
