"""A chain of preprocessing steps, written as a short text, fitted once and replayed later.

The step language (``deepclust fit --preprocess ...`` and ``preprocess = [...]`` in benchmark
configs): steps separated by commas, each a name with options after colons; an option is
``key=value`` (a list: values joined by ``+``) or a bare word::

    log1p,dropmissing:0.2,impute:knn=5,combat:batch=plate_batch:preserve=e3_sex+age,select:mad=100,pareto

=================  ===========================================================================
step               meaning
=================  ===========================================================================
``log``            natural log; ``log:base=2``, ``log:offset=1``; also ``log2``, ``log10``
``log1p``          ``log(1 + x)``
``standard``       auto scaling: mean 0, unit variance per feature (alias ``auto``)
``pareto``         Pareto scaling: mean 0, divided by the square root of the SD
``minmax``         each feature to [0, 1]
``dropmissing``    drop features missing in more than a fraction of samples: ``dropmissing:0.2``
``impute``         fill missing values: ``impute:median`` (default) or ``impute:knn=5``
``select``         keep the most variable features: ``select:mad=100`` or ``select:var=100``
``batchcenter``    centre each batch on the overall mean: ``batchcenter:batch=COLUMN``
``batchscale``     centre and scale each batch: ``batchscale:batch=COLUMN``
``combat``         ComBat: ``combat:batch=COLUMN[:preserve=COL+COL][:mean_only]``
=================  ===========================================================================

``COLUMN`` names a column of the dataset's metadata (for the exposome: ``plate_batch``; for
your own table: a column of the ``--covariates`` file). Batch steps read it again at predict
time, so new samples must come with their batch.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from deepclust.preprocess._base import PreprocessStep
from deepclust.preprocess.batch import BatchCenterer
from deepclust.preprocess.combat import ComBat
from deepclust.preprocess.missing import DropMissing, Imputer
from deepclust.preprocess.selection import SelectTopFeatures
from deepclust.preprocess.transforms import AutoScaler, LogTransform, MinMaxScaler, ParetoScaler

FORMAT = "deepclust-preprocess"
FORMAT_VERSION = 1
SCALER_STEPS = ("standard", "auto", "pareto", "minmax")


def _value(text: str):
    low = text.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _options(step: str, parts: list[str]) -> tuple[dict, list]:
    opts, bare = {}, []
    for part in parts:
        if not part:
            raise ValueError(f"preprocess step {step!r}: an empty option (two colons in a row?)")
        if "=" in part:
            key, _, value = part.partition("=")
            if not key or not value:
                raise ValueError(f"preprocess step {step!r}: option {part!r} must look like key=value")
            opts[key.strip().lower()] = value.strip()
        else:
            bare.append(part.strip())
    return opts, bare


def _no_more(step: str, opts: dict, bare: list, allowed: Sequence[str] = ()) -> None:
    extra = [k for k in opts if k not in allowed] + bare
    if extra:
        hint = difflib.get_close_matches(str(extra[0]), list(allowed), n=1)
        more = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"preprocess step {step!r}: unknown option {extra[0]!r}{more}; allowed: {', '.join(allowed) or 'none'}")


def _make_log(step, name, opts, bare):
    base = {"log": None, "log2": 2, "log10": 10, "log1p": None}[name]
    offset = 1.0 if name == "log1p" else 0.0
    if "base" in opts:
        b = opts.pop("base")
        base = None if b.lower() == "e" else _value(b)
    if "offset" in opts:
        offset = float(_value(opts.pop("offset")))
    _no_more(step, opts, bare, ("base", "offset"))
    return LogTransform(base=base, offset=offset)


def _make_scaler(step, name, opts, bare):
    _no_more(step, opts, bare)
    return {"standard": AutoScaler, "auto": AutoScaler, "pareto": ParetoScaler, "minmax": MinMaxScaler}[name]()


def _make_dropmissing(step, name, opts, bare):
    frac = opts.pop("max", None) or (bare.pop(0) if bare else "0.2")
    _no_more(step, opts, bare, ("max",))
    return DropMissing(float(_value(frac)))


def _make_impute(step, name, opts, bare):
    strategy, k = "median", 5
    if "knn" in opts:
        strategy, k = "knn", _value(opts.pop("knn"))
    if "k" in opts:
        k = _value(opts.pop("k"))
    if bare and bare[0] in ("median", "knn"):
        strategy = bare.pop(0)
    _no_more(step, opts, bare, ("knn", "k", "median"))
    return Imputer(strategy=strategy, n_neighbors=k)


def _make_select(step, name, opts, bare):
    by, n = "mad", 100
    for key, crit in (("mad", "mad"), ("var", "variance"), ("variance", "variance")):
        if key in opts:
            by, n = crit, _value(opts.pop(key))
    if bare and bare[0].isdigit():
        n = int(bare.pop(0))
    _no_more(step, opts, bare, ("mad", "var"))
    return SelectTopFeatures(n_features=n, by=by)


def _batch_key(step, opts) -> str:
    if "batch" not in opts:
        raise ValueError(f"preprocess step {step!r} needs the metadata column of the batch: e.g. {step.split(':')[0]}:batch=plate_batch")
    return opts.pop("batch")


def _make_batchcenter(step, name, opts, bare):
    key = _batch_key(step, opts)
    _no_more(step, opts, bare, ("batch",))
    return BatchCenterer(scale=name == "batchscale", batch_key=key)


def _make_combat(step, name, opts, bare):
    key = _batch_key(step, opts)
    preserve = [c for c in opts.pop("preserve", "").split("+") if c]
    mean_only = False
    if "mean_only" in bare:
        bare.remove("mean_only")
        mean_only = True
    if "mean_only" in opts:
        mean_only = bool(_value(opts.pop("mean_only")))
    _no_more(step, opts, bare, ("batch", "preserve", "mean_only"))
    return ComBat(batch_key=key, preserve=preserve, mean_only=mean_only)


_MAKERS = {
    "log": _make_log, "log2": _make_log, "log10": _make_log, "log1p": _make_log,
    "standard": _make_scaler, "auto": _make_scaler, "pareto": _make_scaler, "minmax": _make_scaler,
    "dropmissing": _make_dropmissing, "impute": _make_impute, "select": _make_select,
    "batchcenter": _make_batchcenter, "batchscale": _make_batchcenter, "combat": _make_combat,
}


def split_steps(spec: str | Sequence[str] | None) -> list[str]:
    """``"a,b:x=1"`` or ``["a", "b:x=1"]`` -> ``["a", "b:x=1"]`` (whitespace stripped)."""
    if spec is None:
        return []
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"a preprocess step must be a string like 'log1p' or 'select:mad=100', got {item!r}")
        item = item.strip()
        if item:
            out.append(item)
    return out


def parse_step(step: str) -> PreprocessStep:
    """One step of the language above -> an unfitted transformer.

    Examples
    --------
    >>> parse_step("select:mad=50")
    SelectTopFeatures(n_features=50)
    """
    name, *parts = step.split(":")
    name = name.strip().lower()
    if name not in _MAKERS:
        hint = difflib.get_close_matches(name, list(_MAKERS), n=1)
        more = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"unknown preprocess step {name!r}{more}; known steps: {', '.join(_MAKERS)}")
    opts, bare = _options(step, parts)
    return _MAKERS[name](step, name, opts, bare)


def ends_with_scaling(spec) -> bool:
    """Whether the last step of ``spec`` is a per-feature scaling."""
    steps = split_steps(spec)
    return bool(steps) and steps[-1].split(":")[0].strip().lower() in SCALER_STEPS


class Preprocessor:
    """Fit a chain of steps on a table and its per-sample metadata; replay it on new samples.

    Parameters
    ----------
    steps : str or sequence of str
        In the step language of this module, e.g. ``"log1p,combat:batch=plate_batch,standard"``.

    Attributes (after fit)
    ----------------------
    steps_ : list of PreprocessStep
    support_ : ndarray of int
        Indices of the input features that reach the output, in order.
    n_features_in_ : int

    Examples
    --------
    >>> X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 35.0], [4.0, 39.0]])
    >>> meta = pd.DataFrame({"plate": [1, 1, 2, 2]})
    >>> pre = Preprocessor("log,batchcenter:batch=plate,standard")
    >>> pre.fit_transform(X, meta).shape
    (4, 2)
    """

    def __init__(self, steps) -> None:
        self.specs = split_steps(steps)
        self._unfitted = [parse_step(s) for s in self.specs]  # validate the text now

    def __repr__(self) -> str:
        return f"Preprocessor({','.join(self.specs)!r})"

    def metadata_columns(self) -> list[str]:
        """Metadata columns the steps read (batch and preserved covariates)."""
        cols: list[str] = []
        for step in self._unfitted:
            for value in step.covariate_columns().values():
                for c in [value] if isinstance(value, str) else list(value or []):
                    if c not in cols:
                        cols.append(c)
        return cols

    @staticmethod
    def _step_kwargs(step: PreprocessStep, metadata: pd.DataFrame | None, n: int) -> dict:
        wanted = step.covariate_columns()
        if not wanted:
            return {}
        if metadata is None:
            cols = [c for v in wanted.values() for c in ([v] if isinstance(v, str) else list(v or []))]
            raise ValueError(
                f"preprocess step {type(step).__name__} reads the metadata column(s) {cols}, but the data have no per-sample "
                "metadata; give a covariates table (deepclust: --covariates FILE.csv, first column the sample ID)"
            )
        if len(metadata) != n:
            raise ValueError(f"metadata has {len(metadata)} rows but the data have {n} samples")
        kwargs = {}
        for key, col in wanted.items():
            names = [col] if isinstance(col, str) else list(col or [])
            missing = [c for c in names if c not in metadata.columns]
            if missing:
                hint = difflib.get_close_matches(missing[0], [str(c) for c in metadata.columns], n=1)
                more = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(f"metadata column {missing[0]!r} not found{more}; available: {', '.join(map(str, metadata.columns))}")
            if key == "batch":
                kwargs[key] = metadata[col].to_numpy()
            elif names:
                kwargs[key] = metadata[names].reset_index(drop=True)
        return kwargs

    def fit_transform(self, X, metadata: pd.DataFrame | None = None) -> np.ndarray:
        """Fit every step in turn on ``X`` (n_samples, n_features); returns float32 output."""
        out = np.asarray(X, dtype=np.float64)
        if out.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {out.shape}")
        support = np.arange(out.shape[1])
        fitted = []
        for spec, step in zip(self.specs, self._unfitted):
            from sklearn.base import clone

            step = clone(step)
            try:
                out = step.fit_transform(out, **self._step_kwargs(step, metadata, out.shape[0]))
            except ValueError as exc:
                raise ValueError(f"preprocess step {spec!r}: {exc}") from None
            if hasattr(step, "support_"):
                support = support[step.support_]
            fitted.append(step)
        self.steps_, self.support_, self.n_features_in_ = fitted, support, int(np.shape(X)[1])
        return self._finish(out)

    def fit(self, X, metadata: pd.DataFrame | None = None) -> "Preprocessor":
        self.fit_transform(X, metadata)
        return self

    def transform(self, X, metadata: pd.DataFrame | None = None) -> np.ndarray:
        """Replay the fitted steps on new samples (float32 output)."""
        if not hasattr(self, "steps_"):
            raise ValueError("this Preprocessor is not fitted yet; call fit or fit_transform first")
        out = np.asarray(X, dtype=np.float64)
        if out.ndim != 2 or out.shape[1] != self.n_features_in_:
            raise ValueError(f"data have {out.shape[-1] if out.ndim else 0} features, but the preprocessing was fitted on {self.n_features_in_}")
        for spec, step in zip(self.specs, self.steps_):
            try:
                out = step.transform(out, **self._step_kwargs(step, metadata, out.shape[0]))
            except ValueError as exc:
                raise ValueError(f"preprocess step {spec!r}: {exc}") from None
        return self._finish(out)

    @staticmethod
    def _finish(out: np.ndarray) -> np.ndarray:
        if np.isnan(out).any():
            r, c = np.argwhere(np.isnan(out))[0]
            raise ValueError(f"missing values remain after preprocessing (first at row {r}, column {c}); add 'impute' (and 'dropmissing') steps")
        return np.ascontiguousarray(out, dtype=np.float32)

    # -- persistence ----------------------------------------------------------------------------
    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON document, arrays) describing the fitted chain."""
        if not hasattr(self, "steps_"):
            raise ValueError("this Preprocessor is not fitted yet")
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "n_features_in": self.n_features_in_, "support": self.support_.tolist(), "steps": []}
        arrays = {}
        for i, (spec, step) in enumerate(zip(self.specs, self.steps_)):
            meta, arr = step.get_state()
            doc["steps"].append({"spec": spec, **meta})
            arrays.update({f"{i}/{k}": v for k, v in arr.items()})
        return doc, arrays

    @classmethod
    def from_state(cls, doc: dict, arrays: dict[str, np.ndarray]) -> "Preprocessor":
        if doc.get("format") != FORMAT:
            raise ValueError("not a deepclust preprocessing description")
        if doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"preprocessing saved in format version {doc.get('format_version')}; this deepclust reads version {FORMAT_VERSION}")
        pre = cls([s["spec"] for s in doc["steps"]])
        pre.steps_ = [
            PreprocessStep.from_state(s, {k.split("/", 1)[1]: v for k, v in arrays.items() if k.split("/", 1)[0] == str(i)})
            for i, s in enumerate(doc["steps"])
        ]
        pre.n_features_in_ = int(doc["n_features_in"])
        pre.support_ = np.asarray(doc.get("support", range(pre.n_features_in_)), dtype=np.int64)
        return pre

    def save(self, folder: str | Path) -> list[Path]:
        """Write ``preprocess.json`` (and ``preprocess.safetensors`` when a step has arrays)
        into ``folder``; returns the files written."""
        from safetensors.numpy import save_file

        from deepclust._io import atomic_write_json

        folder = Path(folder)
        doc, arrays = self.get_state()
        written = [folder / "preprocess.json"]
        atomic_write_json(written[0], doc)
        if arrays:
            written.append(folder / "preprocess.safetensors")
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(written[1]))
        return written

    @classmethod
    def load(cls, folder: str | Path) -> "Preprocessor":
        """Read what :meth:`save` wrote (never unpickles)."""
        folder = Path(folder)
        doc = json.loads((folder / "preprocess.json").read_text(encoding="utf-8"))
        arrays = {}
        if (folder / "preprocess.safetensors").is_file():
            from safetensors.numpy import load_file

            arrays = load_file(str(folder / "preprocess.safetensors"))
        return cls.from_state(doc, arrays)
