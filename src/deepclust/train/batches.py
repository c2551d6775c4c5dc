"""Where :func:`~deepclust.train.fit_module` draws its minibatches from.

A batch source yields, for one epoch, ``(rows, batch)`` pairs: the global row indices of the
minibatch (``state.batch_index``, which e.g. DEC uses to look up its targets) and the tuple of
tensors sliced to those rows, on the training device. :class:`TensorBatches` slices
in-memory tensors by one random permutation per epoch (the default);
:class:`BlockBatches` reads an array on disk in large blocks, through the small interface
:class:`RowBlocks` (which :class:`deepclust.datasets.DiskArray` implements), so the training
layer does not depend on the data layer above it.

Under data parallelism every rank draws the same permutation (same generator seed) and takes
every ``world_size``-th row of each global minibatch from its ``rank``: the ranks' shards are
disjoint, their union is the single-process minibatch, and averaging the ranks' gradients
gives the single-process gradient. A final minibatch with fewer rows than ranks is dropped.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Protocol, Sequence

import numpy as np
import torch

Batch = tuple[torch.Tensor, tuple[torch.Tensor, ...]]


class RowBlocks(Protocol):
    """What :class:`BlockBatches` needs of an array on disk (e.g. :class:`deepclust.datasets.DiskArray`)."""

    n_samples: int

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a float32 array (stop - start, n_features)."""

    def default_block_rows(self) -> int:
        """Rows per block when the caller does not say."""


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
        for idx in self.epoch_rows(generator, batch_size, rank=rank, world_size=world_size):
            yield idx, tuple(t[idx] for t in self.tensors)

    def epoch_rows(self, generator: torch.Generator, batch_size: int, *, rank: int = 0, world_size: int = 1) -> Iterator[torch.Tensor]:
        """The row indices of :meth:`epoch`'s minibatches alone (same draws), for a step that gathers its own rows."""
        perm = torch.randperm(self.n_samples, generator=generator).to(self.device)
        for start in range(0, self.n_samples, batch_size):
            idx = shard_rows(perm[start : start + batch_size], rank, world_size)
            if idx is None:
                return
            yield idx

    def skip_epoch(self, generator: torch.Generator) -> None:
        torch.randperm(self.n_samples, generator=generator)


class BlockBatches(BatchSource):
    """Shuffled minibatches streamed from an array on disk (:class:`RowBlocks`) in contiguous blocks.

    Shuffling scheme (seeded by the training generator): the rows are cut into blocks of
    ``block_rows`` consecutive rows. Each epoch draws a random order of the blocks, groups
    them ``window_blocks`` at a time into windows, and for each window draws a random
    permutation of its rows; minibatches are taken from that permutation, rows left over at
    the end of a window go into the next window's first minibatch. So each minibatch mixes
    rows from ``window_blocks`` places in the file, each block is read with one sequential
    read, and at most two windows (the current one and the next, read ahead by a thread)
    are in memory. When all blocks fit in one window this is exactly the in-memory shuffle
    (:class:`TensorBatches`): same draws, same minibatches.

    Parameters
    ----------
    data : RowBlocks
        E.g. a :class:`deepclust.datasets.DiskArray`.
    device : torch.device
    block_rows : int, optional
        Default: about 32 MB of float32 per block (10,700 rows of 784 features).
    window_blocks : int, default=8
    """

    def __init__(self, data: RowBlocks, device: torch.device, *, block_rows: int | None = None, window_blocks: int = 8) -> None:
        if data.n_samples == 0:
            raise ValueError("cannot train on zero samples")
        self.data, self.device = data, torch.device(device)
        self.n_samples = data.n_samples
        self.block_rows = int(block_rows or data.default_block_rows())
        self.window_blocks = int(window_blocks)
        if self.block_rows < 1 or self.window_blocks < 1:
            raise ValueError(f"block_rows and window_blocks must be positive, got {block_rows} and {window_blocks}")
        self.n_blocks = -(-self.n_samples // self.block_rows)

    def _plan(self, generator: torch.Generator) -> list[tuple[list[int], torch.Tensor]]:
        """The epoch's windows: (block ids in file order, permutation of the window's rows)."""
        if self.n_blocks <= self.window_blocks:
            return [(list(range(self.n_blocks)), torch.randperm(self.n_samples, generator=generator))]
        order = torch.randperm(self.n_blocks, generator=generator).tolist()
        plan = []
        for w in range(0, self.n_blocks, self.window_blocks):
            blocks = sorted(order[w : w + self.window_blocks])  # read in file order
            rows = sum(min(self.block_rows, self.n_samples - b * self.block_rows) for b in blocks)
            plan.append((blocks, torch.randperm(rows, generator=generator)))
        return plan

    def skip_epoch(self, generator: torch.Generator) -> None:
        self._plan(generator)

    def _read_window(self, blocks: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows (R, d) float32 on CPU, their global indices (R,))."""
        parts, index = [], []
        for b in blocks:
            start = b * self.block_rows
            stop = min(start + self.block_rows, self.n_samples)
            parts.append(self.data.read(start, stop))
            index.append(torch.arange(start, stop))
        x = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return torch.from_numpy(x), torch.cat(index)

    def epoch(self, generator: torch.Generator, batch_size: int, *, rank: int = 0, world_size: int = 1) -> Iterator[Batch]:
        plan = self._plan(generator)
        with ThreadPoolExecutor(max_workers=1) as pool:
            ahead = pool.submit(self._read_window, plan[0][0])
            carry_x = carry_i = None
            for w, (_, perm) in enumerate(plan):
                x, gidx = ahead.result()
                if w + 1 < len(plan):
                    ahead = pool.submit(self._read_window, plan[w + 1][0])
                start = 0
                if carry_x is not None:  # complete the minibatch begun in the previous window
                    take = perm[: batch_size - carry_x.shape[0]]
                    xb, ib = torch.cat([carry_x, x[take]]), torch.cat([carry_i, gidx[take]])
                    start = take.shape[0]
                    carry_x = carry_i = None
                    if xb.shape[0] < batch_size and w + 1 < len(plan):
                        carry_x, carry_i = xb, ib
                    else:
                        out = self._emit(xb, ib, rank, world_size)
                        if out is None:
                            return
                        yield out
                for s in range(start, perm.shape[0], batch_size):
                    take = perm[s : s + batch_size]
                    if take.shape[0] < batch_size and w + 1 < len(plan):
                        carry_x, carry_i = x[take], gidx[take]
                        break
                    out = self._emit(x[take], gidx[take], rank, world_size)
                    if out is None:
                        return
                    yield out
                del x, gidx

    def _emit(self, xb: torch.Tensor, ib: torch.Tensor, rank: int, world_size: int) -> Batch | None:
        if world_size > 1:
            mine = shard_rows(torch.arange(ib.shape[0]), rank, world_size)
            if mine is None:
                return None
            xb, ib = xb[mine], ib[mine]
        return ib.to(self.device), (xb.to(self.device),)
