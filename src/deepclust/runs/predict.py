"""Label new data with a saved run: replay its preprocessing, then its model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from deepclust.datasets import Dataset
from deepclust.methods import load_model
from deepclust.metrics import evaluate
from deepclust.preprocess import Preprocessor, apply_scaling
from deepclust.runs.writing import write_labels

__all__ = ["predict_run", "saved_preprocess_steps"]


def saved_preprocess_steps(model: str | Path) -> list[str]:
    """The preprocessing steps a run folder replays (empty for a bare model folder)."""
    _, run_dir = _model_folder(Path(model))
    if run_dir is None or not (run_dir / "preprocess.json").is_file():
        return []
    try:
        state = json.loads((run_dir / "preprocess.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(run_dir / 'preprocess.json')!r} is not valid JSON: {exc}") from None
    return [str(step.get("spec", "")) for step in state.get("steps", [])] if "format" in state else []


def _model_folder(path: Path) -> tuple[Path, Path | None]:
    """Accept a run folder (with ``model/``) or a model folder; return (model dir, run dir)."""
    if (path / "model" / "model.json").is_file():
        return path / "model", path
    return path, None


def predict_run(model: str | Path, dataset: Dataset, *, out: str | Path | None = None, overwrite: bool = False) -> tuple[np.ndarray, dict | None]:
    """Label ``dataset`` with a saved model (a run folder or a model folder).

    Replays the run's saved preprocessing first (batch steps read ``dataset.metadata``, so
    new samples need their batch; a batch the run never saw is an error). Writes ``sample_id, cluster`` to ``out`` (CSV)
    when given. Returns the labels and, when the dataset has reference labels, the metrics.
    """
    model_dir, run_dir = _model_folder(Path(model))
    estimator = load_model(model_dir)
    X = dataset.X
    if run_dir is not None and (run_dir / "preprocess.json").is_file():
        state = json.loads((run_dir / "preprocess.json").read_text(encoding="utf-8"))
        if "format" in state:
            X = Preprocessor.load(run_dir).transform(X, dataset.metadata)
        else:  # a run folder written before the preprocessing chain: one scaling
            X = apply_scaling(state, X)
    if out is not None:
        out = Path(out)
        if out.exists() and not overwrite:
            raise FileExistsError(f"output file {str(out)!r} already exists; pass --overwrite to replace it")
        if not out.parent.is_dir():
            raise FileNotFoundError(f"output folder {str(out.parent)!r} does not exist")
    labels = estimator.predict(X)
    metrics = evaluate(labels, y_true=dataset.y) if dataset.y is not None else None
    if out is not None:
        write_labels(out, dataset.sample_ids, labels)
    return labels, metrics
