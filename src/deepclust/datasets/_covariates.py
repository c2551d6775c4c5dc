"""Join a per-sample covariates table (batch, plate, run order, sex, ...) onto a Dataset."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pandas as pd

from deepclust.datasets._base import Dataset


def attach_covariates(dataset: Dataset, path: str | os.PathLike, *, id_column: str | None = None) -> Dataset:
    """Return ``dataset`` with the columns of a covariates file joined onto its metadata.

    Parameters
    ----------
    dataset : Dataset
    path : path-like
        A CSV (or ``.tsv``) with one row per sample. The sample ID is the column
        ``id_column``, else the first column; it is matched, as text, to
        ``dataset.sample_ids``. Extra rows are ignored; a sample without a row is an error.
    id_column : str, optional

    Returns
    -------
    Dataset
        A copy whose ``metadata`` holds the file's columns (replacing columns of the same
        name), aligned with the samples.

    Examples
    --------
    >>> import os, tempfile, pandas as pd
    >>> from deepclust.datasets import load_dataset
    >>> ds = load_dataset("digits")
    >>> f = os.path.join(tempfile.mkdtemp(), "cov.csv")
    >>> pd.DataFrame({"id": ds.sample_ids, "plate": [i % 4 for i in range(ds.n_samples)]}).to_csv(f, index=False)
    >>> attach_covariates(ds, f).metadata["plate"].iloc[:3].tolist()
    [0, 1, 2]
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"covariates file {str(path)!r} does not exist")
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    try:
        frame = pd.read_csv(path, sep=sep)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"covariates file {str(path)!r} could not be read as a table: {exc}") from None
    if frame.shape[1] < 2:
        raise ValueError(f"covariates file {str(path)!r} needs a sample ID column and at least one covariate column")
    col = id_column or frame.columns[0]
    if col not in frame.columns:
        raise ValueError(f"covariates file {str(path)!r} has no column {col!r}; columns: {list(frame.columns)}")
    frame.index = frame.pop(col).astype(str)
    if frame.index.duplicated().any():
        raise ValueError(f"covariates file {str(path)!r}: sample ID {frame.index[frame.index.duplicated()][0]!r} occurs twice")
    ids = pd.Index([str(i) for i in dataset.sample_ids])
    missing = ids.difference(frame.index)
    if len(missing):
        raise ValueError(
            f"covariates file {str(path)!r} has no row for {len(missing)} of the {len(ids)} samples, e.g. {missing[0]!r} "
            f"(its IDs look like {list(frame.index[:3])}; the data's like {list(ids[:3])})"
        )
    joined = frame.reindex(ids)
    if dataset.metadata is not None:
        base = dataset.metadata.copy()
        base.index = ids
        joined = base.drop(columns=[c for c in joined.columns if c in base.columns]).join(joined)
    return dataclasses.replace(dataset, metadata=joined)
