"""Where :func:`~deepclust.train.fit_module` draws its minibatches from.

A batch source yields, for one epoch, ``(rows, batch)`` pairs: the global row indices of the
minibatch (``state.batch_index``, which e.g. DEC uses to look up its targets) and the tuple of
tensors sliced to those rows, on the training device. :class:`TensorBatches` slices
in-memory tensors by one random permutation per epoch (the default);
:class:`deepclust.methods.streaming.BlockBatches` reads a file on disk in large blocks.

Under data parallelism every rank draws the same permutation (same generator seed) and takes
every ``world_size``-th row of each global minibatch from its ``rank``: the ranks' shards are
disjoint, their union is the single-process minibatch, and averaging the ranks' gradients
gives the single-process gradient. A final minibatch with fewer rows than ranks is dropped.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch

Batch = tuple[torch.Tensor, tuple[torch.Tensor, ...]]


class BatchSource:
    """Interface of a minibatch source. Subclasses define the four members below."""

    n_samples: int
    device: torch.device

    def epoch(self, generator: torch.Generator, batch_size: int, *, rank: int = 0, world_size: int = 1) -> Iterator[Batch]:  # pragma: no cover
        """Yield ``(rows, batch)`` for one shuffled pass; draws its randomness from ``generator``."""
        raise NotImplementedError

    def skip_epoch(self, generator: torch.Generator) -> None:  # pragma: no cover
        """Draw exactly what :meth:`epoch` draws from ``generator``, without reading data (resuming)."""
        raise NotImplementedError


def shard_rows(rows: torch.Tensor, rank: int, world_size: int) -> torch.Tensor | None:
    """This rank's share of a global minibatch's ``rows``; None when the batch is too small to share."""
    if world_size == 1:
        return rows
    if rows.shape[0] < world_size:
        return None
    return rows[rank::world_size]


class TensorBatches(BatchSource):
    """Minibatches gathered from in-memory tensors by one ``randperm`` per epoch.

    Parameters
    ----------
    tensors : sequence of Tensor, each of shape (n_samples, ...)
        On the training device; rows are gathered by index, never by a Python loop.
    """

    def __init__(self, tensors: Sequence[torch.Tensor]) -> None:
        tensors = tuple(tensors)
        if not tensors:
            raise ValueError("at least one tensor is needed")
        n = int(tensors[0].shape[0])
        if any(int(t.shape[0]) != n for t in tensors):
            raise ValueError("all tensors must have the same number of rows")
        self.tensors, self.n_samples, self.device = tensors, n, tensors[0].device

    def epoch(self, generator: torch.Generator, batch_size: int, *, rank: int = 0, world_size: int = 1) -> Iterator[Batch]:
        perm = torch.randperm(self.n_samples, generator=generator).to(self.device)
        for start in range(0, self.n_samples, batch_size):
            idx = shard_rows(perm[start : start + batch_size], rank, world_size)
            if idx is None:
                return
            yield idx, tuple(t[idx] for t in self.tensors)

    def skip_epoch(self, generator: torch.Generator) -> None:
        torch.randperm(self.n_samples, generator=generator)
