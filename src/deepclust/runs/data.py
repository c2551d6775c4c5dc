"""The data step of a run: preprocessing and scaling (one rule for ``fit``, ``select-k`` and
benchmark cells), the number of clusters, and the covariates of the confounder check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepclust.datasets import Dataset
from deepclust.preprocess import Preprocessor, split_steps
from deepclust.preprocess.auto_scale import auto_scaling

__all__ = ["Preprocessing", "confounder_columns", "plan_preprocessing", "resolve_n_clusters"]


@dataclass(frozen=True)
class Preprocessing:
    """The user's preprocessing steps, then the scaling ``scale`` (chosen for ``reason``).

    ``preprocessor`` holds the chain (steps + scaling); :meth:`fit_transform` fits it on a
    dataset and returns the float32 matrix the model sees.
    """

    steps: list[str]
    scale: str
    reason: str
    preprocessor: Preprocessor

    @property
    def scaling(self) -> dict:
        """``{"scale": ..., "reason": ...}`` for ``metrics.json``."""
        return {"scale": self.scale, "reason": self.reason}

    def fit_transform(self, dataset: Dataset) -> np.ndarray:
        """Fit the chain on ``dataset`` (its metadata feeds batch steps); float32 (n_samples, n_features_used)."""
        if self.preprocessor.specs:
            return self.preprocessor.fit_transform(dataset.X, dataset.metadata)
        # Nothing to fit: skip the chain's float64 copy (hundreds of MB on a large image set);
        # an empty chain depends on the number of features only, so one row fits it.
        X = np.ascontiguousarray(dataset.X, dtype=np.float32)
        if np.isnan(X).any():
            r, c = np.argwhere(np.isnan(X))[0]
            raise ValueError(f"missing values remain after preprocessing (first at row {r}, column {c}); add 'impute' (and 'dropmissing') steps")
        self.preprocessor.fit(X[:1])
        return X


def plan_preprocessing(dataset: Dataset, scale: str = "auto", preprocess=None) -> Preprocessing:
    """Parse ``preprocess`` and resolve ``scale`` for ``dataset``; validates both, fits nothing.

    Parameters
    ----------
    dataset : Dataset
    scale : {"auto", "none", "standard", "minmax"}, default="auto"
        "auto" is resolved by :func:`deepclust.preprocess.auto_scale.auto_scaling`, the only
        place that rule is written.
    preprocess : str or list of str, optional
        Steps in the language of :mod:`deepclust.preprocess.pipeline`.

    Examples
    --------
    >>> from deepclust.datasets import load_dataset
    >>> plan_preprocessing(load_dataset("digits")).scale
    'none'
    """
    steps = split_steps(preprocess)
    scale, reason = auto_scaling(scale, dataset, steps)
    return Preprocessing(steps=steps, scale=scale, reason=reason, preprocessor=Preprocessor(steps + ([scale] if scale != "none" else [])))


def resolve_n_clusters(n_clusters, dataset: Dataset):
    """``n_clusters`` itself, "auto", or (None) the number of the dataset's reference classes."""
    if n_clusters == "auto":
        return "auto"
    if n_clusters is not None:
        return n_clusters
    if dataset.y is None:
        raise ValueError(f"dataset {dataset.name!r} has no labels, so the number of clusters must be given (--n-clusters K)")
    return int(len(np.unique(dataset.y)))


def confounder_columns(dataset: Dataset, technical, biological) -> tuple[list[str], list[str]]:
    """Resolve "auto" to the dataset's default covariates; check that the metadata exists."""
    from deepclust.explain.confounders import parse_covariates

    defaults = dataset.info.get("confounders", {}) if isinstance(dataset.info, dict) else {}
    out = []
    for role, value in (("technical", technical), ("biological", biological)):
        if isinstance(value, str) and value.strip().lower() == "auto":
            if role not in defaults:
                raise ValueError(
                    f"dataset {dataset.name!r} has no default {role} covariates; name metadata columns instead of 'auto'"
                )
            value = defaults[role]
        out.append(parse_covariates(value))
    if (out[0] or out[1]) and dataset.metadata is None:
        raise ValueError(
            f"the confounder check needs per-sample covariates, but dataset {dataset.name!r} has none; "
            "give a covariates table (--covariates FILE.csv, first column the sample ID)"
        )
    return out[0], out[1]
