"""The one result type every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("table", "image", "embedding")


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: samples in rows, features in columns.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"mnist"`` or the file name for user tables.
    X : ndarray of shape (n_samples, n_features), float32
        The data, finite (NaN marks a missing value only in tables loaded with
        ``allow_missing=True``, for a preprocessing that imputes them).
    y : ndarray of shape (n_samples,) or None
        Reference labels when known (used only for scoring), else None.
    feature_names : list of str, length n_features
    sample_ids : ndarray of shape (n_samples,), dtype object (str)
    metadata : pandas.DataFrame or None
        Per-sample covariates indexed like ``sample_ids`` (e.g. the exposome covariates).
    image_shape : tuple of int or None
        ``(channels, height, width)`` for image data, so conv networks and plots can reshape rows.
    info : dict
        Free-form provenance (source files, subset, URL; for images how the pixel values were
        mapped to [0, 1]).
    kind : {"table", "image", "embedding"}, optional
        What the columns are, which decides ``scale="auto"``
        (:func:`deepclust.preprocess.auto_scale.auto_scaling`): a ``"table"`` of features on
        their own scales, ``"image"`` pixels in [0, 1], or an ``"embedding"`` whose axes'
        relative scales carry meaning (a PCA of an ``.h5ad``'s ``obsm``). Defaults to
        ``"image"`` when ``image_shape`` is given, else ``"table"``.
    """

    name: str
    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    sample_ids: np.ndarray
    metadata: pd.DataFrame | None = None
    image_shape: tuple[int, ...] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None

    def __post_init__(self) -> None:
        kind = self.kind if self.kind is not None else ("table" if self.image_shape is None else "image")
        if kind not in KINDS:
            raise ValueError(f"Dataset kind must be one of {list(KINDS)}, got {kind!r}")
        if (kind == "image") != (self.image_shape is not None):
            raise ValueError(f"a Dataset of kind {kind!r} {'needs' if kind == 'image' else 'cannot have'} an image_shape, got {self.image_shape!r}")
        object.__setattr__(self, "kind", kind)  # frozen: resolve the default once

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def __repr__(self) -> str:  # the arrays are too long to print
        labels = "unknown" if self.y is None else f"{len(np.unique(self.y))} classes"
        return f"Dataset({self.name!r}, X={self.X.shape}, labels={labels})"
