"""Saving and loading fitted estimators without pickle.

A saved model is a folder with ``model.json`` (format version, deepclust version, class name,
constructor parameters, small fitted metadata) and ``arrays.safetensors`` (network weights and
fitted arrays). Loading parses JSON and reads raw tensors; it never unpickles, so a model file
cannot run code. Parameters that are estimators (a clusterer object, a UMAP) are stored as
class path + parameters and rebuilt only from deepclust, scikit-learn and umap-learn classes.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from deepclust._io import atomic_directory, atomic_write_json
from deepclust._version import __version__

FORMAT = "deepclust-model"
FORMAT_VERSION = 1
_ALLOWED_MODULES = ("deepclust.", "sklearn.", "umap.")
_REGISTRY: dict[str, type] = {}


def register_model(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by name from a saved model."""
    _REGISTRY[cls.__name__] = cls
    return cls


# -- parameters <-> JSON ------------------------------------------------------------------
def encode_param(value: Any, *, where: str = "parameter") -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [encode_param(v, where=where) for v in value]
    if isinstance(value, dict):
        return {str(k): encode_param(v, where=where) for k, v in value.items()}
    if isinstance(value, BaseEstimator):
        cls = type(value)
        return {
            "__estimator__": f"{cls.__module__}:{cls.__qualname__}",
            "params": {k: encode_param(v, where=f"{where}.{k}") for k, v in value.get_params(deep=False).items()},
        }
    raise ValueError(f"cannot save {where} of type {type(value).__name__}: only numbers, strings, lists and scikit-learn estimators can be saved")


def decode_param(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_param(v) for v in value]
    if isinstance(value, dict) and "__estimator__" in value:
        module_name, _, qualname = value["__estimator__"].partition(":")
        registered = _REGISTRY.get(qualname)
        if registered is not None and registered.__module__ == module_name:
            # a class that code already imported registered with @register_model (a plug-in
            # method): nothing is imported on the file's word, so the file still cannot run code
            return registered(**{k: decode_param(v) for k, v in value["params"].items()})
        if not module_name.startswith(_ALLOWED_MODULES):
            raise ValueError(f"saved model refers to class {value['__estimator__']!r}, which is not from deepclust, scikit-learn or umap-learn; refusing to load it")
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        if not (isinstance(obj, type) and issubclass(obj, BaseEstimator)):
            raise ValueError(f"saved model refers to {value['__estimator__']!r}, which is not an estimator class")
        return obj(**{k: decode_param(v) for k, v in value["params"].items()})
    if isinstance(value, dict):
        return {k: decode_param(v) for k, v in value.items()}
    return value


# -- nested array dicts ---------------------------------------------------------------------
def prefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}/{k}": v for k, v in arrays.items()}


def unprefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    p = prefix + "/"
    return {k[len(p):]: v for k, v in arrays.items() if k.startswith(p)}


def nested_state(estimator) -> tuple[dict, dict[str, np.ndarray]]:
    """State of a fitted sub-estimator (e.g. the embedding inside a clustering model)."""
    if type(estimator).__name__ not in _REGISTRY or not hasattr(estimator, "_save_state"):
        raise ValueError(f"cannot save a component of type {type(estimator).__name__}")
    meta, arrays = estimator._save_state()
    params = {k: encode_param(v, where=f"parameter {k!r}") for k, v in estimator.get_params(deep=False).items()}
    return {"class": type(estimator).__name__, "params": params, "state": meta}, arrays


def restore_nested(meta: dict, arrays: dict[str, np.ndarray]):
    """Inverse of :func:`nested_state`."""
    cls = _REGISTRY.get(meta.get("class"))
    if cls is None:
        raise ValueError(f"saved model has a component of unknown class {meta.get('class')!r}")
    est = cls(**{k: decode_param(v) for k, v in meta["params"].items()})
    est._load_state(meta["state"], arrays)
    return est


# -- folder I/O ---------------------------------------------------------------------------
def save_model(estimator, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a fitted estimator to the folder ``path`` (atomically: all or nothing)."""
    nested, arrays = nested_state(estimator)
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "deepclust_version": __version__, **nested}
    from safetensors.numpy import save_file

    path = Path(path)
    with atomic_directory(path, overwrite=overwrite) as tmp:
        atomic_write_json(tmp / "model.json", doc)
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp / "arrays.safetensors"))
    return path


def load_model(path: str | Path, expected: type | None = None):
    """Load a model saved by :func:`save_model`; ``expected`` checks its class.

    Raises
    ------
    FileNotFoundError
        The folder or one of its two files is missing.
    ValueError
        Not a deepclust model, an incompatible format version, or corrupt arrays.
    """
    path = Path(path)
    cfg, weights = path / "model.json", path / "arrays.safetensors"
    if not path.is_dir():
        raise FileNotFoundError(f"no saved model at {str(path)!r} (expected a folder with model.json and arrays.safetensors)")
    for f in (cfg, weights):
        if not f.is_file():
            raise FileNotFoundError(f"saved model {str(path)!r} is incomplete: {f.name} is missing")
    try:
        doc = json.loads(cfg.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(cfg)!r} is not a deepclust model description (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{str(cfg)!r} is not a deepclust model description")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"model at {str(path)!r} was saved by deepclust {doc.get('deepclust_version')} in format version "
            f"{doc.get('format_version')}; this deepclust {__version__} reads format version {FORMAT_VERSION}"
        )
    cls = _REGISTRY.get(doc.get("class"))
    if cls is None:
        raise ValueError(f"model at {str(path)!r} is of unknown class {doc.get('class')!r}; known: {sorted(_REGISTRY)}")
    if expected is not None and not issubclass(cls, expected):
        raise ValueError(f"model at {str(path)!r} is a {cls.__name__}, not a {expected.__name__}")
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        arrays = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"model weights {str(weights)!r} are corrupt or unreadable: {exc}") from None
    return restore_nested(doc, arrays)


class SavableMixin:
    """``save``/``load`` as JSON + safetensors for an estimator with ``_save_state``/``_load_state``.

    ``_fitted_attribute`` names the attribute that exists once fitted (checked before saving).
    """

    _fitted_attribute = "labels_"

    def save(self, path, *, overwrite: bool = False):
        """Save to folder ``path`` as JSON + safetensors (no pickle). Returns the path."""
        check_is_fitted(self, self._fitted_attribute)
        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        """Load a model saved with :meth:`save` (refuses a model of another class)."""
        return load_model(path, expected=cls)
