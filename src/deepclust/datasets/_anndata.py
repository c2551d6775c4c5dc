"""AnnData (``.h5ad``) in and out, with the scanpy conventions for results.

Reading: the matrix to cluster is ``.X``, a layer (``layer=``) or an ``.obsm`` entry
(``obsm=``, e.g. ``"X_pca"``); ``.obs`` becomes the dataset's metadata (covariates for
``deepclust explain``) and ``obs_names`` the sample IDs.

Writing (as scanpy's ``tl.leiden`` and ``tl.umap`` do): labels in ``obs["deepclust"]`` (a
categorical of strings), the clustered representation in ``obsm["X_deepclust"]``, parameters
and metrics in ``uns["deepclust"]``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deepclust.datasets._base import Dataset

__all__ = ["annotate_anndata", "from_anndata", "load_h5ad", "write_h5ad_result"]

KEY = "deepclust"


def _require_anndata():
    try:
        import anndata
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError('reading and writing .h5ad files needs anndata: pip install "deepclust[anndata]"') from exc
    return anndata


def _dense(matrix, what: str) -> np.ndarray:
    import scipy.sparse

    if scipy.sparse.issparse(matrix):
        matrix = matrix.toarray()  # the networks take dense input
    elif hasattr(matrix, "to_numpy"):  # an obsm entry stored as a DataFrame
        matrix = matrix.to_numpy()
    arr = np.asarray(matrix)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n_obs, n_features), got shape {arr.shape}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{what} holds complex numbers (dtype {arr.dtype}); expected real values")
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
    return arr.astype(np.float32)


def from_anndata(adata, *, layer: str | None = None, obsm: str | None = None, label_column: str | None = None, name: str = "anndata") -> Dataset:
    """Turn an in-memory ``anndata.AnnData`` into a :class:`Dataset`.

    Parameters
    ----------
    adata : anndata.AnnData
    layer : str, optional
        Use ``adata.layers[layer]`` instead of ``adata.X``.
    obsm : str, optional
        Use ``adata.obsm[obsm]`` (e.g. ``"X_pca"``); features are then named ``<obsm>_1, ...``.
    label_column : str, optional
        A column of ``adata.obs`` holding reference labels (only for scoring); encoded 0..k-1
        in sorted order, names in ``info["classes"]``.
    name : str, default="anndata"

    Returns
    -------
    Dataset
        ``metadata`` is a copy of ``adata.obs`` (index: ``obs_names``); ``kind="embedding"``
        with ``obsm`` (so ``scale="auto"`` leaves it as it is), else ``"table"``.

    Raises
    ------
    ValueError
        Both ``layer`` and ``obsm``, an unknown key, no ``.X``, non-finite values, or a missing
        label.

    Examples
    --------
    >>> import anndata, numpy as np  # doctest: +SKIP
    >>> ad = anndata.AnnData(np.ones((3, 2), dtype="float32"))  # doctest: +SKIP
    >>> from_anndata(ad).X.shape  # doctest: +SKIP
    (3, 2)
    """
    if layer is not None and obsm is not None:
        raise ValueError("give layer= or obsm=, not both")
    if layer is not None:
        if layer not in adata.layers:
            raise ValueError(f"layer {layer!r} not found; the AnnData has layers {list(adata.layers.keys())}")
        X, what, features = _dense(adata.layers[layer], f"layer {layer!r}"), f"layers[{layer!r}]", [str(v) for v in adata.var_names]
    elif obsm is not None:
        if obsm not in adata.obsm:
            raise ValueError(f"obsm key {obsm!r} not found; the AnnData has obsm {list(adata.obsm.keys())}")
        X, what = _dense(adata.obsm[obsm], f"obsm {obsm!r}"), f"obsm[{obsm!r}]"
        features = [f"{obsm}_{j + 1}" for j in range(X.shape[1])]
    else:
        if adata.X is None:
            raise ValueError("the AnnData has no .X; pass layer= or obsm=")
        X, what, features = _dense(adata.X, ".X"), ".X", [str(v) for v in adata.var_names]
    ids = np.array([str(i) for i in adata.obs_names], dtype=object)
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"{what} holds a missing or infinite value for observation {ids[r]!r}, feature {features[c]!r}; impute or drop it first")
    if len(set(ids)) != len(ids):
        raise ValueError("obs_names are not unique; call adata.obs_names_make_unique() first")
    info: dict[str, Any] = {"source": name, "h5ad": {"layer": layer, "obsm": obsm}}
    y = None
    if label_column is not None:
        if label_column not in adata.obs.columns:
            raise ValueError(f"label_column {label_column!r} not in obs; columns: {list(map(str, adata.obs.columns))}")
        col = adata.obs[label_column]
        if col.isna().any():
            raise ValueError(f"label column {label_column!r} is missing for observation {ids[np.argmax(col.isna().to_numpy())]!r}")
        codes, classes = pd.factorize(col.astype(str), sort=True)
        y, info["classes"], info["label"] = codes.astype(np.int64), [str(c) for c in classes], label_column
    obs = adata.obs.copy()
    obs.index = pd.Index(ids)
    # an obsm entry (X_pca, X_umap, ...) is an embedding: its axes' scales carry meaning
    kind = "embedding" if obsm is not None else "table"
    return Dataset(name=name, X=np.ascontiguousarray(X), y=y, feature_names=features, sample_ids=ids, metadata=obs, info=info, kind=kind)


def load_h5ad(path: str | os.PathLike, *, layer: str | None = None, obsm: str | None = None, label_column: str | None = None, name: str | None = None) -> Dataset:
    """Read an ``.h5ad`` file into a :class:`Dataset` (see :func:`from_anndata`)."""
    anndata = _require_anndata()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    try:
        adata = anndata.read_h5ad(path)
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is not a readable .h5ad file ({exc})") from exc
    ds = from_anndata(adata, layer=layer, obsm=obsm, label_column=label_column, name=name or path.stem)
    ds.info["source"] = str(path)
    return ds


def _plain(value):
    """Parameters as h5ad can store them: no None, tuples as lists, numpy scalars as Python."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def annotate_anndata(adata, labels, embedding=None, params: dict | None = None, *, key: str = KEY):
    """Put the results into ``adata`` in place: ``obs[key]``, ``obsm[f"X_{key}"]``, ``uns[key]``.

    Parameters
    ----------
    adata : anndata.AnnData
    labels : array-like of shape (n_obs,)
    embedding : array-like of shape (n_obs, d), optional
    params : dict, optional
        Stored as ``uns[key]`` (None values are dropped: h5ad cannot store them).

    Returns
    -------
    adata
    """
    labels = np.asarray(labels)
    if labels.shape != (adata.n_obs,):
        raise ValueError(f"labels has shape {labels.shape}, the AnnData has {adata.n_obs} observations")
    order = sorted({int(v) for v in labels}) if np.issubdtype(labels.dtype, np.integer) else sorted(set(map(str, labels)))
    adata.obs[key] = pd.Categorical([str(v) for v in labels], categories=[str(v) for v in order])
    if embedding is not None:
        emb = np.asarray(embedding, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] != adata.n_obs:
            raise ValueError(f"embedding has shape {emb.shape}, expected ({adata.n_obs}, d)")
        adata.obsm[f"X_{key}"] = emb
    adata.uns[key] = _plain(dict(params or {}))
    return adata


def write_h5ad_result(source: str | os.PathLike, out: str | os.PathLike, *, labels, embedding=None, params: dict | None = None, metrics: dict | None = None, overwrite: bool = False) -> Path:
    """Read ``source``, annotate it (:func:`annotate_anndata`) and write it to ``out`` atomically.

    ``uns["deepclust"]`` holds ``{"params": params, "metrics": metrics}``.
    """
    anndata = _require_anndata()
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"output file {str(out)!r} already exists; pass --overwrite to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"output folder {str(parent)!r} does not exist")
    adata = anndata.read_h5ad(source)
    uns = {"params": params or {}}
    if metrics:
        uns["metrics"] = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and np.isfinite(v)}
    annotate_anndata(adata, labels, embedding, uns)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".h5ad", dir=parent)
    os.close(fd)
    try:
        adata.write_h5ad(tmp)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return out
