"""Held-out data for choosing defaults: data that no suite row is made of, by a short name.

- ``sk:wine``, ``sk:breast_cancer``, ``sk:iris``: scikit-learn's bundled tables (no download);
- ``mnist-train:N``: the first N images of MNIST's training split, as images (what an image
  file gives) or, with ``as_table=True``, as a plain table of 784 pixel columns (what a CSV
  export gives: no image shape, so ``scale="auto"`` standardises it);
- any other name: :func:`deepclust.datasets.load_dataset` (``exposome:TABLE`` for a table).
"""
from __future__ import annotations

import numpy as np

from deepclust.datasets import Dataset, load_dataset


def load(spec: str, *, as_table: bool = False, subset: str = "all") -> Dataset:
    """The dataset ``spec`` names; ``subset`` picks a split of a dataset :func:`load_dataset` loads."""
    name, _, arg = spec.partition(":")
    if name == "sk":
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, f"load_{arg}")()
        X = np.asarray(bunch.data, dtype=np.float32)
        return Dataset(spec, X, np.asarray(bunch.target), [str(f) for f in bunch.feature_names], np.arange(len(X)).astype(str).astype(object))
    if name == "mnist-train":
        full, n = load_dataset("mnist", subset="train"), int(arg)
        image = {} if as_table else {"image_shape": full.image_shape, "kind": full.kind}
        return Dataset(spec, full.X[:n], full.y[:n], list(full.feature_names), full.sample_ids[:n], **image)
    return load_dataset(name, subset=subset, **({"table": arg} if arg else {}))


def prepared(spec: str):
    """``(data, X, y, k)``: :func:`load`'s dataset, its features as the CLI's defaults prepare
    them (``scale="auto"``, no preprocessing; float32), its labels (for scoring only) and the
    number of classes."""
    data, X, y, k = prepared_slice(spec)
    return data, np.asarray(X, dtype=np.float32), y, k


def add_slice_arguments(parser) -> None:
    """The ``name``, ``--subset`` and ``--n`` arguments of the scripts that take a slice of a
    dataset as their held-out data (``dec_init.py``, ``vade_init.py``, ``ae_lr_schedule.py``)."""
    parser.add_argument("name", help="dataset, NAME or NAME:TABLE")
    parser.add_argument("--subset", default="all")
    parser.add_argument("--n", type=int, default=None, help="keep the first N rows (a held-out slice of a large split)")


def prepared_slice(name: str, subset: str = "all", n: int | None = None):
    """``(data, X, y, k)`` for ``add_slice_arguments``' values: :func:`load`'s dataset ``name``'s
    ``subset``, prepared as the CLI's defaults do (``scale="auto"``, no preprocessing), cut to its
    first ``n`` rows; ``y`` for scoring only, ``k`` its number of classes."""
    from deepclust.runs.data import plan_preprocessing

    data = load(name, subset=subset)
    X = plan_preprocessing(data, "auto", []).fit_transform(data)
    y = np.asarray(data.y)
    if n is not None:
        X, y = X[:n], y[:n]
    return data, X, y, len(np.unique(y))
