"""Load a user's own file (CSV, TSV, parquet, npy, npz, h5ad) or image folder into a :class:`Dataset`.

Every problem with the file is reported as a ValueError that names the file and says what is
wrong and where (column, row id or line number), because the first thing a new user does is
point the library at their own, imperfect file.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from deepclust.datasets._anndata import load_h5ad
from deepclust.datasets._base import Dataset
from deepclust.datasets._image_folder import load_image_folder
from deepclust.datasets._images import image_stack_dataset

_DELIMITED = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
SUPPORTED = (".csv", ".tsv", ".txt", ".parquet", ".npy", ".npz", ".h5ad")


def load_table(
    path: str | os.PathLike, *, label_column: str | None = None, id_column: str | None = None, transpose: bool = False,
    name: str | None = None, layer: str | None = None, obsm: str | None = None, allow_missing: bool = False, image_size=None,
) -> Dataset:
    """Load a numeric table with samples in rows (or in columns, with ``transpose=True``), a
    stack of images, or a folder of images.

    Parameters
    ----------
    path : path-like
        ``.csv``, ``.tsv``/``.txt`` (tab), ``.parquet``, ``.npy``/``.npz`` (``X``, optional ``y``, ``ids``), or a
        folder of PNG/JPEG images (:mod:`~deepclust.datasets._image_folder`). Arrays of shape (N, H, W),
        (N, C, H, W) or (N, H, W, C) load as images mapped to [0, 1] (:mod:`deepclust.datasets._images`).
    label_column : str, optional
        Column of reference labels (only for scoring), removed from the features; non-integer labels are
        encoded 0..k-1 in sorted order (originals in ``info["classes"]``). Not for ``.npy``/``.npz``.
    id_column : str, optional
        Column holding sample ids. If None, an unnamed first column (as R's ``write.csv``
        writes) or a named parquet index is used; otherwise the ids are ``"0"``, ``"1"``, ...
    transpose : bool, default=False
        The file is features x samples (omics matrices): the first column holds the feature names, every
        other column is one sample headed by its id; ``label_column`` and ``id_column`` then name rows.
    name : str, optional
        Dataset name; defaults to the file name without its extension.
    layer, obsm : str, optional
        For ``.h5ad`` (AnnData) files only: cluster ``layers[layer]`` or ``obsm[obsm]`` instead
        of ``.X`` (see :func:`deepclust.datasets.load_h5ad`; ``label_column`` names a column
        of ``.obs``). Needs ``pip install "deepclust[anndata]"``.
    allow_missing : bool, default=False
        Keep missing values as NaN for a preprocessing that imputes them (:mod:`deepclust.preprocess.missing`)
        instead of refusing the file. Infinite values are refused either way.
    image_size : int or (int, int), optional
        For a folder of images only: the ``(height, width)`` every image is resized to; default
        the most common size in the folder.

    Returns
    -------
    Dataset
        ``X`` float32 of shape (n_samples, n_features), ``y`` or None, string ``sample_ids``;
        for images ``kind="image"``, rows channels first and ``image_shape=(C, H, W)``. A UserWarning
        names feature columns that hold a single value (kept; they carry no information).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and the problem: unsupported extension, empty or ragged table, non-numeric,
        missing or infinite values, missing label/id column, duplicated ids, text not UTF-8, complex
        numbers, ``.npz`` without ``X``, ``y`` of another length, 1-D or 5+-D arrays, bad image folders.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from deepclust.datasets import load_table
    >>> tmp = os.path.join(tempfile.mkdtemp(), "toy.csv")
    >>> pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "kind": ["x", "y"]}).to_csv(tmp, index=False)
    >>> ds = load_table(tmp, label_column="kind")
    >>> ds.X.shape, ds.info["classes"]
    ((2, 2), ['x', 'y'])
    """
    path = Path(path)
    name = path.stem if name is None else name
    if path.is_dir():
        return _load_folder(path, name, image_size, label_column=label_column, id_column=id_column, transpose=transpose, layer=layer, obsm=obsm)
    if image_size is not None:
        raise ValueError(f"{str(path)!r}: image_size= applies to folders of images only, got image_size={image_size!r}")
    suffix = _supported_suffix(path)
    _check_options_apply(path, suffix, label_column=label_column, id_column=id_column, transpose=transpose, layer=layer, obsm=obsm)
    if suffix == ".h5ad":
        return load_h5ad(path, layer=layer, obsm=obsm, label_column=label_column, name=name)
    if suffix in (".npy", ".npz"):
        return _load_array(path, transpose=transpose, name=name, allow_missing=allow_missing)
    frame = _read_frame(path, suffix, transpose, names=(id_column, label_column))
    return _frame_to_dataset(frame, path, label_column=label_column, id_column=id_column, name=name, allow_missing=allow_missing)


def _load_folder(path: Path, name: str, image_size, **table_options) -> Dataset:
    """A folder of images; the options that only tables have are refused by name."""
    given = [k for k, v in table_options.items() if v]
    if given:
        raise ValueError(f"{str(path)!r} is a folder of images: {', '.join(given)} apply to tables only")
    return load_image_folder(path, image_size=image_size, name=name)


def _supported_suffix(path: Path) -> str:
    """The lower-case extension of the existing file ``path``, one of :data:`SUPPORTED`."""
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ValueError(
            f"cannot load {str(path)!r}: unsupported extension {path.suffix!r}; "
            f"supported are {', '.join(SUPPORTED)}"
        )
    return suffix


def _check_options_apply(path: Path, suffix: str, *, label_column, id_column, transpose, layer, obsm) -> None:
    """Refuse the options of :func:`load_table` that the file's format cannot honour."""
    if suffix == ".h5ad":
        if id_column is not None or transpose:
            raise ValueError(f"{str(path)!r}: id_column and transpose do not apply to .h5ad files (obs_names are the ids)")
        return
    if layer is not None or obsm is not None:
        raise ValueError(f"{str(path)!r}: layer= and obsm= apply to .h5ad files only")
    if suffix in (".npy", ".npz") and (label_column is not None or id_column is not None):
        raise ValueError(
            f"{str(path)!r}: label_column and id_column need a table with named columns; "
            "a .npy/.npz file has none (store labels as array 'y' and ids as 'ids' in an .npz)"
        )


# The cells pandas reads as missing by default. In columns of names (sample ids, labels, the
# feature names of a transposed table) they are names: a sample "null", a class "NA".
_NA_STRINGS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
               "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]  # fmt: skip


def _read_delimited(path: Path, sep: str, transpose: bool, names) -> pd.DataFrame:
    header = list(pd.read_csv(path, sep=sep, nrows=0).columns)
    literal = {c for c in names if c is not None} if not transpose else set()
    if header and (transpose or str(header[0]).startswith("Unnamed: 0")):
        literal.add(header[0])  # feature names (transposed) or R-style row names
    # round_trip: pandas' default fast parser can miss the nearest double by one unit, which
    # turned a float32 extreme (3.4028235e38, written as text) into "beyond float32 range".
    if not literal & set(header):
        return pd.read_csv(path, sep=sep, float_precision="round_trip")
    na = {c: ([""] if c in literal else _NA_STRINGS) for c in header}  # an empty id or label is still missing
    return pd.read_csv(path, sep=sep, keep_default_na=False, na_values=na, float_precision="round_trip")


def _read_frame(path: Path, suffix: str, transpose: bool, names=()) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise ValueError(f"{str(path)!r} is empty: expected a header and at least one row")
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
        if not isinstance(frame.index, pd.RangeIndex) and not transpose:
            frame = frame.reset_index()  # a named index becomes an ordinary column
            frame.attrs["index_column"] = str(frame.columns[0])
    else:
        try:
            frame = _read_delimited(path, _DELIMITED[suffix], transpose, names)
        except pd.errors.EmptyDataError as exc:
            raise ValueError(f"{str(path)!r} is empty: expected a header and at least one row") from exc
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{str(path)!r} is not UTF-8 text (it holds the byte 0x{exc.object[exc.start]:02x}, which UTF-8 "
                f"cannot decode); save it as a UTF-8 {suffix[1:].upper()} text file"
            ) from exc
        except pd.errors.ParserError as exc:
            match = re.search(r"line (\d+), saw (\d+)", str(exc))
            where = (
                f"line {match.group(1)} has {match.group(2)} fields, more than the header"
                if match
                else str(exc)
            )
            raise ValueError(f"{str(path)!r} has a ragged row: {where}") from exc
        if len(frame.columns) and str(frame.columns[0]).startswith("Unnamed: 0"):
            frame.attrs["index_column"] = str(frame.columns[0])
    if transpose:
        if frame.shape[1] < 2:
            raise ValueError(f"{str(path)!r}: transpose=True needs a feature-name column and sample columns")
        first = frame.columns[0]
        body = frame.set_index(first)
        body.index = body.index.astype(str)
        frame = body.T
        frame.index = frame.index.astype(str)
        frame.columns.name = None
        frame.attrs = {"ids_from_index": True}  # the header row held the ids, not a column
    return frame


def _frame_to_dataset(
    frame: pd.DataFrame, path: Path, *, label_column: str | None, id_column: str | None, name: str, allow_missing: bool = False
) -> Dataset:
    what = "rows" if frame.attrs.get("ids_from_index") else "columns"
    for arg, col in (("label_column", label_column), ("id_column", id_column)):
        if col is not None and col not in frame.columns:
            raise ValueError(
                f"{str(path)!r}: {arg}={col!r} not found; available {what}: {[str(c) for c in frame.columns]}"
            )
    if len(frame) == 0:
        raise ValueError(f"{str(path)!r} has no rows: expected at least one sample")

    id_col = id_column if id_column is not None else frame.attrs.get("index_column")
    if id_col is not None:
        ids = frame[id_col].astype(str).to_numpy()
    elif frame.attrs.get("ids_from_index"):
        ids = frame.index.astype(str).to_numpy()
    else:
        ids = np.array([str(i) for i in range(len(frame))])
    ids = np.asarray(ids, dtype=object)
    dup = pd.Index(ids)[pd.Index(ids).duplicated()]
    if len(dup):
        raise ValueError(f"{str(path)!r}: sample id {dup[0]!r} occurs more than once; ids must be unique")

    y, classes = None, None
    if label_column is not None:
        y, classes = _encode_labels(frame[label_column], ids, path, label_column)

    features = frame.drop(columns=[c for c in (id_col, label_column) if c is not None])
    if features.shape[1] == 0:
        raise ValueError(f"{str(path)!r} has no feature columns besides the label and id columns")
    X = _numeric_matrix(features, ids, path, allow_missing)
    info = {"source": str(path)}
    if classes is not None:
        info["classes"] = classes
    if label_column is not None:
        info["label"] = label_column
    return Dataset(
        name=name,
        X=X,
        y=y,
        feature_names=[str(c) for c in features.columns],
        sample_ids=ids,
        info=info,
    )


def _encode_labels(labels: pd.Series, ids: np.ndarray, path: Path, column: str):
    missing = labels.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"{str(path)!r}: label column {column!r} is missing for sample {ids[np.argmax(missing)]!r}"
        )
    if pd.api.types.is_integer_dtype(labels):
        return labels.to_numpy(dtype=np.int64), None
    numeric = pd.to_numeric(labels, errors="coerce")
    if numeric.notna().all() and (numeric % 1 == 0).all():
        # integer labels that became floats or strings, e.g. a label row of a transposed table
        return numeric.to_numpy(dtype=np.int64), None
    codes, classes = pd.factorize(labels.astype(str), sort=True)
    return codes.astype(np.int64), [str(c) for c in classes]


def _numeric_matrix(features: pd.DataFrame, ids: np.ndarray, path: Path, allow_missing: bool = False) -> np.ndarray:
    columns = []
    for col in features.columns:
        series = features[col]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            converted = pd.to_numeric(series, errors="coerce")
            bad = converted.isna().to_numpy() & series.notna().to_numpy()
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(
                    f"{str(path)!r}: feature column {str(col)!r} is not numeric: value "
                    f"{series.iloc[i]!r} for sample {ids[i]!r}; pass label_column=/id_column= for "
                    "non-feature columns or remove the column"
                )
            series = converted
        columns.append(series.to_numpy(dtype=np.float64, na_value=np.nan))
    X = np.column_stack(columns)
    _check_finite(X, [str(c) for c in features.columns], ids, path, allow_missing)
    _warn_constant(X, [str(c) for c in features.columns], path)
    return X.astype(np.float32)


def _warn_constant(X: np.ndarray, feature_names, path: Path) -> None:
    """Name the feature columns that hold one value only: they cannot separate clusters.

    They are kept (standard scaling maps them to zero). When every column is constant, all rows
    are identical and the fit itself refuses the data, so no warning is given here.
    """
    if X.shape[0] < 2:
        return
    constant = np.flatnonzero((X == X[:1]).all(axis=0))
    if 0 < len(constant) < X.shape[1]:
        names = ", ".join(repr(feature_names[j]) for j in constant[:5]) + (", ..." if len(constant) > 5 else "")
        warnings.warn(
            f"{str(path)!r}: {len(constant)} of {X.shape[1]} feature columns are constant ({names}); they carry no "
            "information for clustering and are kept as they are (drop them to save time)",
            UserWarning,
            stacklevel=4,
        )


def _check_finite(X: np.ndarray, feature_names, ids, path: Path, allow_missing: bool = False) -> None:
    finite = np.isfinite(X) & (np.abs(np.nan_to_num(X)) <= np.finfo(np.float32).max)
    if allow_missing:
        finite |= np.isnan(X)
    if finite.all():
        return
    col = int(np.argmax(~finite.all(axis=0)))
    row = int(np.argmax(~finite[:, col]))
    value = X[row, col]
    kind = "a missing (NaN)" if np.isnan(value) else "an infinite (or beyond float32 range)"
    raise ValueError(
        f"{str(path)!r}: feature {feature_names[col]!r} has {kind} value at sample {ids[row]!r} "
        "(first occurrence); impute or drop it before clustering, or let deepclust do it (--preprocess 'dropmissing,impute,...')"
    )


def _read_arrays(path: Path):
    """``(X, y, ids)`` from a ``.npy`` (X only) or ``.npz`` file (``X``, optional ``y``, ``ids``)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{str(path)!r} is not a readable {path.suffix} file ({exc})") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return loaded, None, None
    with loaded:
        keys = list(loaded.files)
        if "X" in keys:
            return loaded["X"], loaded["y"] if "y" in keys else None, loaded["ids"] if "ids" in keys else None
        if len(keys) == 1 and keys[0] not in ("y", "ids"):
            return loaded[keys[0]], None, None  # np.savez(path, X) names it "arr_0"
    raise ValueError(
        f"{str(path)!r} has no array named 'X' (it holds {keys}): expected 'X' (with optional 'y' "
        "and 'ids') or a single array"
    )


def _check_labels(y, n: int, path: Path) -> np.ndarray | None:
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{str(path)!r}: 'y' has shape {y.shape}: {y.size} labels for {n} samples in X, expected shape ({n},)")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{str(path)!r}: 'y' must hold integer labels, got dtype {y.dtype}")
    return y.astype(np.int64)


def _load_array(path: Path, *, transpose: bool, name: str, allow_missing: bool = False) -> Dataset:
    X, y, ids = _read_arrays(path)
    if np.iscomplexobj(X):
        raise ValueError(
            f"{str(path)!r}: array X holds complex numbers (dtype {X.dtype}); expected real values "
            "(store np.abs(X) or the real and imaginary parts as separate features)"
        )
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{str(path)!r}: array X has non-numeric dtype {X.dtype}, expected numbers")
    if X.ndim >= 3:
        if transpose:
            raise ValueError(f"{str(path)!r}: transpose=True applies to 2-D tables, not to images of shape {X.shape}")
        y = _check_labels(y, X.shape[0], path)
        return image_stack_dataset(X, source=str(path), name=name, y=y, ids=ids)
    if X.ndim != 2:
        raise ValueError(
            f"{str(path)!r}: expected a 2-D array (n_samples, n_features) or a stack of images (N, H, W) "
            f"or (N, C, H, W), got shape {X.shape}"
        )
    if transpose:
        X = X.T
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{str(path)!r} has no rows or no columns: shape {X.shape}")
    n = X.shape[0]
    ids = np.array([str(i) for i in range(n)] if ids is None else [str(i) for i in ids], dtype=object)
    if len(ids) != n:
        raise ValueError(f"{str(path)!r}: 'ids' has {len(ids)} entries for {n} samples")
    y = _check_labels(y, n, path)
    X = np.asarray(X, dtype=np.float64)
    feature_names = [f"x{j}" for j in range(X.shape[1])]
    _check_finite(X, feature_names, ids, path, allow_missing)
    _warn_constant(X, feature_names, path)
    return Dataset(
        name=name,
        X=X.astype(np.float32),
        y=y,
        feature_names=feature_names,
        sample_ids=ids,
        info={"source": str(path)},
    )
