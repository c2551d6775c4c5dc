"""Stacks of images (``.npy`` / ``.npz`` arrays of 3 or 4 dimensions) as image datasets.

Two decisions live here, once, for arrays and image folders alike:

* **Layout.** deepclust stores an image as one row of ``C*H*W`` values, channels first, with
  ``Dataset.image_shape = (C, H, W)``. A 3-D array ``(N, H, W)`` is one channel. A 4-D array is
  read as channels first ``(N, C, H, W)`` when axis 1 has 1, 3 or 4 entries (grey, RGB, RGBA);
  otherwise as channels last ``(N, H, W, C)`` when the last axis has 1, 3 or 4 entries (the
  layout of PIL, matplotlib and TensorFlow), which is moved to channels first; otherwise as
  channels first with any number of bands (e.g. multispectral ``(N, 8, 64, 64)``) when there are
  no more bands than pixels along either side. Anything else is ambiguous and refused, with the
  fix (``np.moveaxis``) in the message. A tie such as ``(N, 3, 32, 3)`` goes to channels first.
* **Intensities** are mapped to [0, 1] over the whole array, never per pixel (a per-pixel
  scaling would blow up the near-constant border pixels): ``uint8`` by /255 and ``uint16`` by
  /65535 (their full range); other integer types by /255 when their values lie in 0..255 (8-bit
  values stored in a wider type), else min-max; booleans as 0 and 1; floats already in [0, 1]
  are kept; other floats are min-max mapped. ``Dataset.info["intensity"]`` says which was done.
"""

from __future__ import annotations

import numpy as np

from deepclust.datasets._base import Dataset

_COLOUR_CHANNELS = (1, 3, 4)


def channels_first(arr: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    """``arr`` of 3 or 4 dimensions as ``(N, C, H, W)``, and how its layout was read.

    Parameters
    ----------
    arr : ndarray of shape (N, H, W), (N, C, H, W) or (N, H, W, C)
    source : str
        The file, for error messages.

    Returns
    -------
    images : ndarray of shape (N, C, H, W)
    layout : str
        One of ``"(N, H, W)"``, ``"(N, C, H, W)"``, ``"(N, H, W, C), moved to (N, C, H, W)"``.
    """
    if arr.ndim == 3:
        return arr[:, None], "(N, H, W)"
    if arr.ndim != 4:
        raise ValueError(
            f"{source!r}: expected a 2-D array (n_samples, n_features) or a stack of images (N, H, W) or "
            f"(N, C, H, W), got shape {arr.shape}"
        )
    _, a, h, w = arr.shape
    if a in _COLOUR_CHANNELS:
        return arr, "(N, C, H, W)"
    if w in _COLOUR_CHANNELS:
        return np.moveaxis(arr, 3, 1), "(N, H, W, C), moved to (N, C, H, W)"
    if a <= min(h, w):
        return arr, "(N, C, H, W)"
    raise ValueError(
        f"{source!r}: cannot tell the channel axis of images of shape {arr.shape}: expected (N, C, H, W) "
        "(channels first) or (N, H, W, C) with C in 1, 3 or 4; move the channels to axis 1 first "
        "(np.moveaxis(X, -1, 1))"
    )


def to_unit_range(arr: np.ndarray, source: str) -> tuple[np.ndarray, str]:
    """Pixel values mapped to [0, 1] over the whole array, as float32, and what was done.

    Parameters
    ----------
    arr : ndarray of real numbers or booleans
    source : str
        The file, for error messages.

    Returns
    -------
    values : ndarray of float32, same shape
    intensity : str
        One sentence for ``Dataset.info["intensity"]``.
    """
    kind = arr.dtype
    if kind == bool:
        return arr.astype(np.float32), "booleans read as 0 and 1"
    if np.issubdtype(kind, np.integer):
        if kind in (np.uint8, np.uint16):
            top = np.iinfo(kind).max
            return (arr / np.float32(top)).astype(np.float32), f"{kind} pixels divided by {top}"
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= 255:
            return (arr / np.float32(255)).astype(np.float32), f"{kind} pixels in 0..255 divided by 255"
        return _min_max(arr.astype(np.float64), lo, hi, f"{kind} pixels")
    values = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(values)
    if bad.any():
        where = np.unravel_index(int(np.argmax(bad)), values.shape)
        raise ValueError(f"{source!r}: image {where[0]} holds a missing or infinite value (NaN or inf) at index {where[1:]}")
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0 and hi <= 1:
        return values.astype(np.float32), f"{kind} pixels already in [0, 1], kept"
    return _min_max(values, lo, hi, f"{kind} pixels")


def _min_max(values: np.ndarray, lo: float, hi: float, what: str) -> tuple[np.ndarray, str]:
    span = hi - lo if hi > lo else 1.0  # a constant stack maps to zeros (the fit then refuses it)
    out = ((values - lo) / span).astype(np.float32)
    return out, f"{what} in [{lo:g}, {hi:g}] min-max mapped to [0, 1] over the whole array"


def image_stack_dataset(arr: np.ndarray, *, source: str, name: str, y=None, ids=None, info=None) -> Dataset:
    """A :class:`Dataset` of kind ``"image"`` from a stack of images.

    Parameters
    ----------
    arr : ndarray of shape (N, H, W), (N, C, H, W) or (N, H, W, C)
        See the module docstring for how the layout and the intensities are read.
    source : str
        The file or folder, for messages and ``info["source"]``.
    name : str
    y : ndarray of shape (N,) of int, optional
    ids : ndarray of shape (N,) of str, optional
        Defaults to ``"0"``, ``"1"``, ...
    info : dict, optional
        Extra provenance, merged into ``Dataset.info``.

    Returns
    -------
    Dataset
        ``X`` float32 (N, C*H*W) in [0, 1], channels first; ``image_shape=(C, H, W)``.
    """
    images, layout = channels_first(arr, source)
    n, c, h, w = images.shape
    if min(images.shape) == 0:
        raise ValueError(f"{source!r} holds no images or empty ones: shape {arr.shape}")
    values, intensity = to_unit_range(images, source)
    X = np.ascontiguousarray(values.reshape(n, c * h * w))
    ids = np.array([str(i) for i in range(n)] if ids is None else [str(i) for i in ids], dtype=object)
    if len(ids) != n:
        raise ValueError(f"{source!r}: 'ids' has {len(ids)} entries for {n} images")
    prefix = (lambda j: f"pixel_{j}") if c == 1 else (lambda j: f"c{j // (h * w)}_pixel_{j % (h * w)}")
    return Dataset(
        name=name,
        X=X,
        y=y,
        feature_names=[prefix(j) for j in range(X.shape[1])],
        sample_ids=ids,
        image_shape=(int(c), int(h), int(w)),
        info={"source": str(source), "layout": layout, "intensity": intensity, **(info or {})},
        kind="image",
    )


def is_image_stack(arr: np.ndarray) -> bool:
    """True for arrays that :func:`image_stack_dataset` reads (3 or more dimensions)."""
    return arr.ndim >= 3

