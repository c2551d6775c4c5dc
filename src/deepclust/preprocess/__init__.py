"""Preprocessing: plain scikit-learn transformers, plus a JSON form so runs can be replayed.

One idea per module: :mod:`~deepclust.preprocess.transforms` (log, auto / Pareto / min-max
scaling), :mod:`~deepclust.preprocess.missing` (drop, impute), :mod:`~deepclust.preprocess.selection`
(top variance / MAD), :mod:`~deepclust.preprocess.batch` (per-batch centring and scaling),
:mod:`~deepclust.preprocess.combat` (ComBat) and :mod:`~deepclust.preprocess.pipeline` (a chain
written as text, e.g. ``"log1p,combat:batch=plate_batch,select:mad=100,standard"``, saved as
JSON + safetensors and replayed at predict time). :func:`fit_scaling` / :func:`apply_scaling`
are the single-scaling form older run folders were written with.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler

SCALINGS = ("none", "standard", "minmax")


def fit_scaling(kind: str, X: np.ndarray) -> tuple[np.ndarray, dict]:
    """Fit the scaling ``kind`` on ``X`` and return (scaled X, JSON-able state).

    Parameters
    ----------
    kind : {"none", "standard", "minmax"}
        "standard" centres each feature and divides by its standard deviation (constant
        features are left at zero); "minmax" maps each feature to [0, 1].
    X : ndarray of shape (n_samples, n_features)
    """
    if kind not in SCALINGS:
        raise ValueError(f"unknown scaling {kind!r}; expected one of {list(SCALINGS)}")
    if kind == "none":
        return X, {"kind": "none"}
    scaler = StandardScaler() if kind == "standard" else MinMaxScaler()
    Xs = scaler.fit_transform(X).astype(np.float32)
    if kind == "standard":
        state = {"kind": kind, "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()}
    else:
        state = {"kind": kind, "min": scaler.min_.tolist(), "scale": scaler.scale_.tolist()}
    return Xs, state


def apply_scaling(state: dict, X: np.ndarray) -> np.ndarray:
    """Apply a scaling saved by :func:`fit_scaling` to new data."""
    kind = state.get("kind")
    if kind == "none":
        return X
    scale = np.asarray(state["scale"], dtype=np.float64)
    if X.shape[1] != scale.shape[0]:
        raise ValueError(f"data have {X.shape[1]} features, but the model was fitted with {scale.shape[0]} features")
    if kind == "standard":
        return ((X - np.asarray(state["mean"])) / scale).astype(np.float32)
    if kind == "minmax":
        return (X * scale + np.asarray(state["min"])).astype(np.float32)
    raise ValueError(f"unknown scaling {kind!r} in saved run")


from deepclust.preprocess._base import PreprocessStep  # noqa: E402
from deepclust.preprocess.augment_text import check_augment, parse_augment  # noqa: E402
from deepclust.preprocess.batch import BatchCenterer  # noqa: E402
from deepclust.preprocess.combat import ComBat  # noqa: E402
from deepclust.preprocess.missing import DropMissing, Imputer  # noqa: E402
from deepclust.preprocess.pipeline import Preprocessor, ends_with_scaling, parse_step, split_steps  # noqa: E402
from deepclust.preprocess.selection import SelectTopFeatures  # noqa: E402
from deepclust.preprocess.transforms import AutoScaler, LogTransform, MinMaxScaler, ParetoScaler  # noqa: E402

__all__ = [
    "SCALINGS",
    "AutoScaler",
    "BatchCenterer",
    "ComBat",
    "DropMissing",
    "Imputer",
    "LogTransform",
    "MinMaxScaler",
    "ParetoScaler",
    "PreprocessStep",
    "Preprocessor",
    "SelectTopFeatures",
    "apply_scaling",
    "check_augment",
    "ends_with_scaling",
    "fit_scaling",
    "parse_augment",
    "parse_step",
    "split_steps",
]
