"""Explain the clusters of a run folder: reload its data, join covariates, write ``explain/``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import pandas as pd

from deepclust.explain import Explanation, explain_clusters

__all__ = ["explain_run", "read_covariates"]


def read_covariates(path: str | os.PathLike, id_column: str | None = None) -> pd.DataFrame:
    """A covariate table (CSV, TSV or parquet; samples in rows) indexed by sample ID as str.

    The ID column is ``id_column``, else ``"ID"`` when present, else the first column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such covariate file: {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path).reset_index()
    elif suffix in (".csv", ".tsv", ".txt"):
        frame = pd.read_csv(path, sep="," if suffix == ".csv" else "\t")
    else:
        raise ValueError(f"covariate file {str(path)!r}: expected .csv, .tsv, .txt or .parquet")
    if id_column is None:
        id_column = "ID" if "ID" in frame.columns else frame.columns[0]
    if id_column not in frame.columns:
        raise ValueError(f"covariate file {str(path)!r} has no column {id_column!r}; columns: {list(map(str, frame.columns))}")
    frame.index = frame[id_column].astype(str)
    frame.index.name = None
    dup = frame.index[frame.index.duplicated()]
    if len(dup):
        raise ValueError(f"covariate file {str(path)!r}: sample ID {dup[0]!r} occurs more than once")
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed:")]
    return frame.drop(columns=[id_column, *unnamed])


def _load_run_data(run: Path, doc: dict, *, data, subset, data_dir, options):
    from deepclust.datasets import load_dataset

    source = doc.get("data") or {}
    if data is None:
        data = source.get("data") or doc.get("dataset")
        if data is None:
            raise ValueError(f"run {str(run)!r} does not record its data; pass --data")
        options = {**source.get("options", {}), **(options or {})}
        subset = subset or source.get("subset") or "all"
        data_dir = data_dir or source.get("data_dir")
    return load_dataset(data, subset=subset or "all", data_dir=data_dir, **(options or {}))


def explain_run(
    run_dir: str | os.PathLike,
    *,
    data: str | None = None,
    subset: str | None = None,
    data_dir: str | None = None,
    options: dict | None = None,
    covariate_files: Sequence[str] = (),
    covariate_id_column: str | None = None,
    drop: Sequence[str] = (),
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
    n_top: int = 5,
    out: str | os.PathLike | None = None,
) -> tuple[Explanation, Path]:
    """Explain the labels of a run folder and write the tables to ``out`` (default ``RUN_DIR/explain``).

    The data are reloaded as the run recorded them (``metrics.json["data"]``) unless ``data``
    is given; labels are matched to samples by ID. Covariates: the dataset's own metadata
    (e.g. the exposome covariates) joined with every table in ``covariate_files`` on the
    sample ID; ``drop`` removes columns.

    Returns
    -------
    (Explanation, Path of the folder written)
    """
    from deepclust._io import atomic_directory

    run = Path(run_dir)
    if not (run / "labels.csv").is_file() or not (run / "metrics.json").is_file():
        raise FileNotFoundError(f"{str(run)!r} is not a run folder: it lacks labels.csv or metrics.json")
    doc = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    dataset = _load_run_data(run, doc, data=data, subset=subset, data_dir=data_dir, options=options)
    labels = pd.read_csv(run / "labels.csv", dtype={"sample_id": str}).set_index("sample_id")["cluster"]
    ids = pd.Index([str(i) for i in dataset.sample_ids])
    missing = ids.difference(labels.index)
    if len(missing) or len(labels) != len(ids):
        raise ValueError(
            f"the data ({len(ids)} samples) do not match the run's labels ({len(labels)}); "
            f"e.g. sample {missing[0] if len(missing) else labels.index.difference(ids)[0]!r}; pass the data the run clustered with --data"
        )
    y = labels.loc[ids].to_numpy()
    covariates = dataset.metadata.copy() if dataset.metadata is not None else pd.DataFrame(index=ids)
    covariates.index = ids
    for path in covariate_files:
        extra = read_covariates(path, covariate_id_column)
        extra = extra.drop(columns=[c for c in extra.columns if c in covariates.columns])
        covariates = covariates.join(extra, how="left")
    unknown = [c for c in drop if c not in covariates.columns]
    if unknown:
        raise ValueError(f"--drop-covariates: {unknown} not among the covariates {list(map(str, covariates.columns))}")
    covariates = covariates.drop(columns=list(drop))
    explanation = explain_clusters(
        dataset.X, y, feature_names=dataset.feature_names,
        covariates=covariates.reset_index(drop=True) if covariates.shape[1] else None,
        categorical=categorical, numeric=numeric, n_top=n_top,
    )
    out = Path(out) if out is not None else run / "explain"
    with atomic_directory(out, overwrite=True) as tmp:
        explanation.write(tmp)
    return explanation, out
