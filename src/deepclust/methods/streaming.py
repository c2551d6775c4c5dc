"""Data larger than memory, at the estimator edge: validate input that may be a file on disk.

.. deprecated:: 0.1.0
    The reader and the batch source moved down the layers: :class:`DiskArray`,
    :func:`open_array`, :func:`is_out_of_core`, :func:`as_input_for` and
    :func:`transform_to_npy` live in :mod:`deepclust.datasets` (``deepclust.datasets._disk``),
    :class:`BlockBatches` in :mod:`deepclust.train.batches`. This module re-exports them so
    that ``from deepclust.methods.streaming import ...`` keeps working; import them from their
    new homes in new code.

:func:`check_array_or_disk` stays here: it combines the estimators' own validation
(:func:`deepclust.methods._base.check_array_2d`) with the disk reader, so it belongs to the
estimator layer.
"""

from __future__ import annotations

from deepclust.datasets._disk import (  # noqa: F401  (re-exported for the old import path)
    BLOCK_BYTES,
    DiskArray,
    as_input_for,
    is_out_of_core,
    open_array,
    transform_to_npy,
)
from deepclust.train.batches import BlockBatches  # noqa: F401  (re-exported for the old import path)

__all__ = ["BLOCK_BYTES", "BlockBatches", "DiskArray", "as_input_for", "check_array_or_disk", "is_out_of_core", "open_array", "transform_to_npy"]


def check_array_or_disk(X, *, min_samples: int = 1, n_features: int | None = None, owner: str | None = None):
    """:func:`~deepclust.methods._base.check_array_2d` for in-memory input; a :class:`DiskArray`
    for data on disk (see :func:`is_out_of_core`), checked for size now and for values as read."""
    from deepclust.methods._base import check_array_2d

    if not is_out_of_core(X):
        return check_array_2d(X, min_samples=min_samples, n_features=n_features, owner=owner)
    data = open_array(X)
    if data.n_samples < min_samples:
        raise ValueError(f"X has {data.n_samples} sample(s); at least {min_samples} are needed")
    if data.n_features == 0:
        raise ValueError(f"X has 0 feature(s) (shape={data.shape}) while a minimum of 1 is required.")
    if n_features is not None and data.n_features != n_features:
        who = owner or "the model"
        raise ValueError(f"X has {data.n_features} features, but {who} is expecting {n_features} features as input (it was fitted with {n_features})")
    return data


