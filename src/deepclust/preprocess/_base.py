"""What every preprocessing transformer shares: input checks and a pickle-free saved state.

A transformer's state is its constructor parameters plus its fitted attributes, split into a
JSON-able dict and a dict of numpy arrays (written to safetensors beside the JSON), so that a
run folder's preprocessing can be replayed at predict time without unpickling anything.
Only classes registered here (:func:`register_step`) can be rebuilt from a saved state.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

_STEPS: dict[str, type] = {}


def register_step(cls: type) -> type:
    """Class decorator: make ``cls`` rebuildable from a saved state by its class name."""
    _STEPS[cls.__name__] = cls
    return cls


def check_table(X, *, name: str = "X", allow_nan: bool = True, n_features: int | None = None, owner: str = "") -> np.ndarray:
    """``X`` as a 2-D float64 array; NaN allowed (missing values) unless ``allow_nan`` is False,
    infinity never."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric 2-D array: {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if np.isinf(arr).any():
        r, c = np.argwhere(np.isinf(arr))[0]
        raise ValueError(f"{name} contains infinity (first at row {r}, column {c})")
    if not allow_nan and np.isnan(arr).any():
        r, c = np.argwhere(np.isnan(arr))[0]
        raise ValueError(
            f"{owner or name}: {name} has missing values (first at row {r}, column {c}); "
            "put a 'dropmissing' and an 'impute' step before this one"
        )
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but {owner or 'this step'} was fitted with {n_features}")
    return arr


def check_groups(values, n_samples: int, *, what: str, owner: str) -> np.ndarray:
    """A per-sample label vector (batch) as an array of str, length ``n_samples``, no missing."""
    if values is None:
        raise ValueError(f"{owner} needs the {what} of every sample; none was given")
    arr = np.asarray(values, dtype=object).reshape(-1)
    if arr.shape[0] != n_samples:
        raise ValueError(f"{owner}: {what} has {arr.shape[0]} entries but X has {n_samples} samples")
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in arr])
    if missing.any():
        raise ValueError(f"{owner}: {what} is missing for sample {int(np.argmax(missing))}")
    # plate 3 read as 3 (int) in one file and "3" or 3.0 in another must be the same batch
    return np.array([_label(v) for v in arr], dtype=object)


def _label(v) -> str:
    if isinstance(v, numbers.Real) and not isinstance(v, bool) and float(v).is_integer():
        return str(int(v))
    return str(v)


class PreprocessStep(TransformerMixin, BaseEstimator):
    """Base class: subclasses list their fitted attributes in ``_fitted_arrays`` (numpy
    arrays) and ``_fitted_values`` (JSON-able values); :meth:`get_state` / :meth:`from_state`
    do the rest. ``needs`` names the per-sample covariates ``fit``/``transform`` take."""

    _fitted_arrays: tuple[str, ...] = ()
    _fitted_values: tuple[str, ...] = ()

    def covariate_columns(self) -> dict[str, object]:
        """Keyword -> metadata column name(s) this step reads at fit and transform time."""
        return {}

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able description, arrays) of the fitted step."""
        check_is_fitted(self)
        params = {k: _plain(v) for k, v in self.get_params(deep=False).items()}
        fitted = {name: _plain(getattr(self, name)) for name in ("n_features_in_", *self._fitted_values)}
        arrays = {name: np.ascontiguousarray(getattr(self, name)) for name in self._fitted_arrays}
        return {"class": type(self).__name__, "params": params, "fitted": fitted}, arrays

    @staticmethod
    def from_state(meta: dict, arrays: dict[str, np.ndarray]) -> "PreprocessStep":
        """Rebuild a fitted step from :meth:`get_state`'s output (only registered classes)."""
        cls = _STEPS.get(meta.get("class"))
        if cls is None:
            raise ValueError(f"saved preprocessing has a step of unknown class {meta.get('class')!r}; known: {sorted(_STEPS)}")
        step = cls(**meta.get("params", {}))
        for name in ("n_features_in_", *cls._fitted_values):
            if name not in meta.get("fitted", {}):
                raise ValueError(f"saved preprocessing step {cls.__name__} lacks its fitted value {name!r}")
            setattr(step, name, meta["fitted"][name])
        for name in cls._fitted_arrays:
            if name not in arrays:
                raise ValueError(f"saved preprocessing step {cls.__name__} lacks its fitted array {name!r}")
            setattr(step, name, np.asarray(arrays[name]))
        return step

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "n_features_in_")


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
