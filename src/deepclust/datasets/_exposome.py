"""The Exposome Data Challenge 2021 (ISGlobal / HELIX): omics of 1152 children from 6 cohorts.

The CSV export used here comes from the MSc thesis "Deep clustering models for metabolomics
data" (github.com/carlescn/MSc_bioinformatics_thesis), which applied DEC and VaDE to these
tables and found clusters of the serum metabolome that overlap with the recruiting cohort.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from deepclust.datasets._base import Dataset
from deepclust.datasets._fetch import DataNotAvailableError, data_home, fetch_file

_URL = (
    "https://raw.githubusercontent.com/carlescn/MSc_bioinformatics_thesis/"
    "83ce935ca79f4a32312609f6566927aa3a1202c7/ExposomeChallenge/ExposomeChallengeData/datasets/"
)
_SHA256 = {
    "metabol_serum_exprs.csv": "d7def14554c7f1c14007fb46c23bade1c41ea1fe9838a1e1deadc50942e1b761",
    "covariates.csv": "1b196a98408c92661c1ee8029d15c5156084c33e8ea02fe1e9b9929b3275861a",
}
# table -> (main file, sample annotation, feature annotation); None: not available for the table.
TABLES = {
    "serum": ("metabol_serum_exprs.csv", "metabol_serum_pData.csv", "metabol_serum_fData.csv"),
    "urine": ("metabol_urine_exprs.csv", "metabol_urine_pData.csv", "metabol_urine_fData.csv"),
    "proteome": ("proteome_exprs.csv", "proteome_pData.csv", "proteome_fData.csv"),
    "exposures": ("exposome.csv", None, "codebook.csv"),
}
COVARIATES = "covariates.csv"
LABEL = "h_cohort"
JOINED = {"serum+urine": ("serum", "urine")}  # tables joined on the child ID, features prefixed
# Default covariates for the confounder check (--confounders auto): how and when a sample was
# measured, against who the child is. Columns absent from a table's metadata are skipped.
TECHNICAL = ("plate_batch", "run_order2", "hs_dift_mealblood_imp", "blood_sam4")
BIOLOGICAL = (LABEL, "e3_sex", "age_sample_years", "h_ethnicity_cauc")


def exposome_file(fname: str, data_dir: str | os.PathLike | None = None):
    """Return the local path of one exposome file, downloading it if missing."""
    return fetch_file(f"exposome/{fname}", _URL + fname, _SHA256.get(fname), data_dir)


def _optional_file(fname: str | None, data_dir: str | os.PathLike | None) -> pd.DataFrame | None:
    # Annotation files enrich the metadata; a loader must not fail for want of them.
    if fname is None:
        return None
    path = data_home(data_dir) / "exposome" / fname
    if not path.is_file():
        try:
            path = exposome_file(fname, data_dir)
        except DataNotAvailableError:
            warnings.warn(f"exposome annotation {fname!r} not available; metadata will lack it", stacklevel=3)
            return None
    return pd.read_csv(path, index_col=0)


def load_exposome(data_dir: str | os.PathLike | None = None, table: str = "serum") -> Dataset:
    """Load one table of the Exposome Data Challenge 2021 with the children's covariates.

    Expression tables (``serum``, ``urine``, ``proteome``) are stored features x samples, with
    one column per child headed by its numeric ID; they are transposed to samples x features.
    Samples are joined with ``covariates.csv`` on the child ID.

    Parameters
    ----------
    data_dir : path-like, optional
        Data folder holding ``exposome/``; defaults to :func:`~deepclust.datasets.data_home`.
        Missing files are downloaded from the thesis repository (pinned commit).
    table : {"serum", "urine", "proteome", "exposures", "serum+urine"}, default="serum"
        - ``"serum"``: 177 serum metabolites (``metabol_serum_exprs.csv``).
        - ``"urine"``: 44 urine metabolites (``metabol_urine_exprs.csv``).
        - ``"proteome"``: 36 plasma proteins (``proteome_exprs.csv``).
        - ``"exposures"``: 222 environmental exposures (``exposome.csv``, samples in rows).
          Categorical exposures (``var_type == "factor"`` in ``codebook.csv``) are stored in
          this export as integer codes (0, 1, 2, ...); they are kept as numeric columns and
          their names are listed in ``info["categorical_features"]`` so that a pipeline can
          one-hot encode or drop them. Any column that is not numeric is dropped with a warning.
        - ``"serum+urine"``: both metabolomes of the same children side by side (221
          features, named ``serum_metab_*`` and ``urine_metab_*``), with the serum sample
          annotation (``plate_batch``) in the metadata.

    Returns
    -------
    Dataset
        ``X`` of shape (1152, n_features) float32; ``y`` the recruiting cohort ``h_cohort``
        encoded as 0..5 with the original cohort names in ``info["classes"]``; ``metadata`` all
        columns of ``covariates.csv`` aligned to the samples (index = child ID as str), plus
        the sample annotation of the table (``*_pData.csv``: age at sampling, ethnicity,
        fasting time, and for serum ``plate_batch`` and run order) where its column names are
        new, prefixed ``pdata_`` where they clash; feature annotations are in
        ``info["feature_metadata"]``. ``info["confounders"]`` names the technical and the
        biological covariates of the metadata for the confounder check.

    Examples
    --------
    >>> from deepclust.datasets import load_exposome
    >>> ds = load_exposome()  # doctest: +SKIP
    >>> ds.X.shape, ds.info["classes"]  # doctest: +SKIP
    ((1152, 177), ['1', '2', '3', '4', '5', '6'])

    References
    ----------
    ISGlobal Exposome Data Challenge 2021, https://github.com/isglobal-exposomeHub/ExposomeDataChallenge2021
    """
    if table in JOINED:
        return _load_joined(table, data_dir)
    if table not in TABLES:
        raise ValueError(f"exposome: table must be one of {[*TABLES, *JOINED]}, got {table!r}")
    main, pdata_name, fdata_name = TABLES[table]
    main_path = exposome_file(main, data_dir)
    cov_path = exposome_file(COVARIATES, data_dir)

    data = _read_table(table, main_path)
    ids = data.index

    metadata = _covariates_of(ids, cov_path, main)
    pdata = _optional_file(pdata_name, data_dir)
    if pdata is not None:
        metadata = _join_sample_annotation(metadata, pdata)
    info = {"table": table, "files": [main, COVARIATES], "source": _URL}
    fdata = _optional_file(fdata_name, data_dir)
    if fdata is not None:
        info.update(_feature_annotation(table, fdata, data.columns))
    codes, classes = pd.factorize(metadata[LABEL], sort=True)
    info.update(classes=[str(c) for c in classes], label=LABEL, confounders=_confounders(metadata))
    return Dataset(
        name="exposome" if table == "serum" else f"exposome-{table}",
        X=np.ascontiguousarray(data.to_numpy(dtype=np.float32)),
        y=codes.astype(np.int64),
        feature_names=[str(c) for c in data.columns],
        sample_ids=np.array(list(ids), dtype=object),
        metadata=metadata,
        info=info,
    )


def _read_table(table: str, path) -> pd.DataFrame:
    """The table as samples x numeric features, indexed by the child ID as str; warns about
    the non-numeric columns it drops."""
    if table == "exposures":
        data, dropped = _read_samples_in_rows(path)
    else:
        data, dropped = _read_features_in_rows(path)
    if dropped:
        warnings.warn(f"exposome {table}: dropped non-numeric columns {dropped}", stacklevel=3)  # the caller of load_exposome
    data.index = data.index.astype(str)
    return data


def _confounders(metadata: pd.DataFrame) -> dict[str, list[str]]:
    """The technical and the biological covariates present in ``metadata``."""
    return {
        "technical": [c for c in TECHNICAL if c in metadata.columns],
        "biological": [c for c in BIOLOGICAL if c in metadata.columns],
    }


def _covariates_of(ids: pd.Index, cov_path, main: str) -> pd.DataFrame:
    """The rows of ``covariates.csv`` for the children ``ids`` (str child IDs), in their order."""
    covariates = pd.read_csv(cov_path, index_col=0)
    if "ID" not in covariates.columns or LABEL not in covariates.columns:
        raise ValueError(f"{str(cov_path)!r} lacks the column 'ID' or {LABEL!r}; found {list(covariates.columns)}")
    covariates.index = covariates["ID"].astype(str)
    covariates.index.name = None
    missing = ids.difference(covariates.index)
    if len(missing):
        raise ValueError(
            f"{len(missing)} samples of {main!r} have no row in {COVARIATES!r}, e.g. ID {missing[0]!r}"
        )
    return covariates.loc[ids].copy()


def _join_sample_annotation(metadata: pd.DataFrame, pdata: pd.DataFrame) -> pd.DataFrame:
    """``metadata`` with the table's sample annotation (``*_pData.csv``) joined on the child ID;
    its columns whose names clash are prefixed ``pdata_``."""
    pdata.index = (pdata["ID"] if "ID" in pdata.columns else pdata.index).astype(str)
    pdata = pdata.drop(columns=[c for c in ("ID",) if c in pdata.columns])
    pdata = pdata.rename(columns={c: f"pdata_{c}" for c in pdata.columns if c in metadata.columns})
    return metadata.join(pdata, how="left")


def _feature_annotation(table: str, fdata: pd.DataFrame, columns: pd.Index) -> dict:
    """``info`` entries from the feature annotation: the annotation itself, aligned to
    ``columns``, and for the exposures the names of the categorical ones."""
    out = {"feature_metadata": fdata.reindex(columns)}
    if table == "exposures" and "var_type" in fdata.columns:
        factors = set(fdata.index[fdata["var_type"] == "factor"])
        out["categorical_features"] = [c for c in columns if c in factors]
    return out


def _load_joined(table: str, data_dir) -> Dataset:
    parts = [load_exposome(data_dir, table=t) for t in JOINED[table]]
    ids = parts[0].sample_ids
    common = [i for i in ids if all(i in set(p.sample_ids) for p in parts[1:])]
    if len(common) < len(ids):
        warnings.warn(f"exposome {table}: {len(ids) - len(common)} children lack one of the tables and are left out", stacklevel=3)
    blocks, names = [], []
    for t, p in zip(JOINED[table], parts):
        pos = pd.Index(p.sample_ids).get_indexer(common)
        blocks.append(p.X[pos])
        names += [f"{t}_{f}" for f in p.feature_names]
    first = parts[0]
    pos = pd.Index(first.sample_ids).get_indexer(common)
    info = {k: v for k, v in first.info.items() if k not in ("feature_metadata", "files")}
    info.update(table=table, files=[f for p in parts for f in p.info["files"]])
    return Dataset(
        name=f"exposome-{table}",
        X=np.ascontiguousarray(np.hstack(blocks), dtype=np.float32),
        y=first.y[pos],
        feature_names=names,
        sample_ids=np.array(common, dtype=object),
        metadata=first.metadata.iloc[pos],
        info=info,
    )


def _read_features_in_rows(path) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.read_csv(path, index_col=0)
    frame.index = frame.index.astype(str)
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise ValueError(
            f"{str(path)!r}: the column of sample {text[0]!r} is not numeric; expected a "
            "features x samples table of numbers"
        )
    data = frame.T
    _check_finite(data, path)
    return data, []


def _read_samples_in_rows(path) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.read_csv(path, index_col=0)
    if "ID" not in frame.columns:
        raise ValueError(f"{str(path)!r} lacks the column 'ID'; found {list(frame.columns)[:10]} ...")
    frame = frame.set_index("ID")
    numeric = frame.select_dtypes(include="number")
    dropped = [c for c in frame.columns if c not in numeric.columns]
    _check_finite(numeric, path)
    return numeric, dropped


def _check_finite(data: pd.DataFrame, path) -> None:
    values = data.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{str(path)!r} holds a missing or infinite value in feature {data.columns[col]!r} "
            f"for sample {data.index[row]!r}"
        )
