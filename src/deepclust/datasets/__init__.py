"""Loaders: benchmark sets (download + checksum + cache), user tables, image stacks and folders.

Every loader returns a :class:`Dataset`. :func:`load_dataset` resolves a registered name
(see :func:`list_datasets`) or a file path.

Examples
--------
>>> from deepclust.datasets import load_dataset
>>> load_dataset("digits").X.shape
(1797, 64)
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from deepclust.datasets._anndata import annotate_anndata, from_anndata, load_h5ad, write_h5ad_result
from deepclust.datasets._base import Dataset
from deepclust.datasets._covariates import attach_covariates
from deepclust.datasets._disk import DiskArray, as_input_for, is_out_of_core, open_array, transform_to_npy
from deepclust.datasets._network_spec import load_network_spec
from deepclust.datasets._benchmarks import (
    IDX_FILES,
    USPS_FILE,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_usps,
)
from deepclust.datasets._exposome import COVARIATES, TABLES, load_exposome
from deepclust.datasets._image_folder import load_image_folder
from deepclust.datasets._fetch import DataNotAvailableError, data_home, fetch_file
from deepclust.datasets._tables import SUPPORTED, load_table

__all__ = [
    "Dataset",
    "DiskArray",
    "as_input_for",
    "is_out_of_core",
    "load_network_spec",
    "open_array",
    "transform_to_npy",
    "DataNotAvailableError",
    "attach_covariates",
    "data_home",
    "fetch_file",
    "list_datasets",
    "load_dataset",
    "load_digits",
    "load_exposome",
    "load_fashion_mnist",
    "load_image_folder",
    "load_mnist",
    "load_table",
    "load_usps",
    "annotate_anndata",
    "from_anndata",
    "load_h5ad",
    "write_h5ad_result",
]


@dataclass(frozen=True)
class _Entry:
    loader: Callable[..., Dataset]
    description: str
    n_samples: int
    files: tuple[str, ...]  # relative to data_home; empty when bundled
    fixed_subset: str | None = None  # e.g. "mnist-test" always loads subset "test"
    has_subsets: bool = True


_REGISTRY: dict[str, _Entry] = {
    "digits": _Entry(
        load_digits, "scikit-learn's bundled 8x8 handwritten digits", 1797, (), has_subsets=False
    ),
    "mnist": _Entry(
        load_mnist, "MNIST handwritten digits, 28x28 (train 60000 + test 10000)", 70000,
        tuple(f"mnist/{f}" for f in IDX_FILES["mnist"]),
    ),
    "mnist-test": _Entry(
        load_mnist, "MNIST test split only, 28x28", 10000,
        tuple(f"mnist/{f}" for f in IDX_FILES["mnist"] if f.startswith("t10k")), fixed_subset="test",
    ),
    "fashion-mnist": _Entry(
        load_fashion_mnist, "Fashion-MNIST clothing images, 28x28 (train 60000 + test 10000)", 70000,
        tuple(f"fashion-mnist/{f}" for f in IDX_FILES["fashion-mnist"]),
    ),
    "usps": _Entry(load_usps, "USPS handwritten digits, 16x16 (train 7291 + test 2007)", 9298, (USPS_FILE[0],)),
    "exposome": _Entry(
        load_exposome, "Exposome Data Challenge 2021: 177 serum metabolites of 1152 children, 6 cohorts",
        1152, (f"exposome/{TABLES['serum'][0]}", f"exposome/{COVARIATES}"), has_subsets=False,
    ),
}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def list_datasets(data_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Describe the registered datasets and whether their files are already on disk.

    Parameters
    ----------
    data_dir : path-like, optional
        Data folder; defaults to :func:`data_home`. Nothing is downloaded.

    Returns
    -------
    list of dict
        One dict per dataset with keys ``name``, ``description``, ``n_samples`` and
        ``available`` (True if every file it needs is present locally).

    Examples
    --------
    >>> from deepclust.datasets import list_datasets
    >>> [d["name"] for d in list_datasets()][:2]
    ['digits', 'mnist']
    """
    home = data_home(data_dir)
    return [
        {
            "name": name,
            "description": entry.description,
            "n_samples": entry.n_samples,
            "available": all((home / f).is_file() for f in entry.files),
        }
        for name, entry in _REGISTRY.items()
    ]


def load_dataset(
    name_or_path: str | os.PathLike,
    *,
    subset: str = "all",
    data_dir: str | os.PathLike | None = None,
    **table_kwargs: Any,
) -> Dataset:
    """Load a registered dataset by name, or a user file by path.

    Parameters
    ----------
    name_or_path : str or path-like
        A name from :func:`list_datasets` (``"digits"``, ``"mnist"``, ``"mnist-test"``,
        ``"fashion-mnist"``, ``"usps"``, ``"exposome"``; case and ``_``/``-`` do not matter),
        or the path of a file or image folder that :func:`load_table` reads.
    subset : {"all", "train", "test"}, default="all"
        Split of the image benchmarks; must be "all" for datasets without splits.
    data_dir : path-like, optional
        Data folder for registered datasets; defaults to :func:`data_home`.
    **table_kwargs
        For a file: keyword arguments of :func:`load_table` (``label_column``, ``id_column``,
        ``transpose``, ``name``; ``image_size`` for an image folder). For ``"exposome"``:
        ``table``.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        If the name is neither registered nor an existing file (with a did-you-mean), or the
        arguments do not fit the dataset.

    Examples
    --------
    >>> from deepclust.datasets import load_dataset
    >>> load_dataset("digits").image_shape
    (1, 8, 8)
    """
    key = _normalise(str(name_or_path)) if isinstance(name_or_path, str) else None
    if key in _REGISTRY:
        return _load_registered(key, subset=subset, data_dir=data_dir, kwargs=table_kwargs)
    path = Path(name_or_path)
    if path.exists() or path.suffix.lower() in SUPPORTED or len(path.parts) > 1:
        if subset != "all":
            raise ValueError(f"subset={subset!r} applies to registered datasets, not to the file {str(path)!r}")
        return load_table(path, **table_kwargs)
    known = list(_REGISTRY)
    close = difflib.get_close_matches(key or str(name_or_path), known, n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"unknown dataset {str(name_or_path)!r}: not a registered name and not an existing file. "
        f"Known names: {', '.join(known)}{hint}"
    )


def _load_registered(key: str, *, subset: str, data_dir, kwargs: dict[str, Any]) -> Dataset:
    entry = _REGISTRY[key]
    allowed = {"table"} if key == "exposome" else set()
    extra = sorted(set(kwargs) - allowed)
    if extra:
        table = ["table is for the exposome's tables"] if "table" in extra else []
        files = [a for a in extra if a != "table"]
        why = "; ".join(table + ([f"{', '.join(files)} {'is' if len(files) == 1 else 'are'} for data files (load_table)"] if files else []))
        raise ValueError(f"dataset {key!r} does not take the arguments {extra}: {why}")
    if entry.fixed_subset is not None:
        if subset not in ("all", entry.fixed_subset):
            raise ValueError(f"dataset {key!r} is the {entry.fixed_subset!r} split; got subset={subset!r}")
        subset = entry.fixed_subset
    if key == "digits":
        return load_digits(subset=subset)
    if not entry.has_subsets:
        if subset != "all":
            raise ValueError(f"dataset {key!r} has no train/test split: subset must be 'all', got {subset!r}")
        return entry.loader(data_dir=data_dir, **kwargs)
    return entry.loader(subset=subset, data_dir=data_dir)
