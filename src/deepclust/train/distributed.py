"""Data-parallel training across processes (``torchrun``), and single-process no-ops otherwise.

When a ``torch.distributed`` process group with more than one rank is initialised,
:func:`~deepclust.train.fit_module` wraps the module in ``DistributedDataParallel``: each
rank trains on its shard of every minibatch (see :mod:`deepclust.train.batches`) and the
gradients are averaged. The helpers below are what methods use to keep their own state
identical on every rank (DEC's targets, DCN's centroids); each is the identity in a single
process, so code calls them unconditionally.

Launch (one machine, two processes)::

    torchrun --nproc_per_node=2 -m deepclust.cli fit --data X.npy --method dec

:func:`init_from_env` joins the group that ``torchrun`` describes in the environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``): NCCL when the
training device is CUDA (one GPU per process, ``cuda:LOCAL_RANK``), gloo on CPU.
"""

from __future__ import annotations

import datetime
import os
from typing import Callable

import torch
from torch import nn


def _dist():
    import torch.distributed as dist

    return dist


def is_distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    dist = _dist()
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return _dist().get_rank() if is_distributed() else 0


def world_size() -> int:
    return _dist().get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """Rank 0 (or no process group): the one process that writes outputs and prints."""
    return rank() == 0


def local_rank() -> int:
    """This process's index on its machine (``LOCAL_RANK`` set by torchrun), 0 otherwise."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_from_env(device: str | None = "auto", timeout_s: float = 1800.0) -> bool:
    """Join the process group ``torchrun`` set up; return whether one is active.

    A no-op (False) outside ``torchrun`` or with one process. The backend is NCCL when
    ``device`` resolves to CUDA ("auto" or "cuda" with a GPU present), gloo otherwise.
    """
    dist = _dist()
    if dist.is_available() and dist.is_initialized():
        return is_distributed()
    if not launched_by_torchrun():
        return False
    if not dist.is_available():
        raise RuntimeError("this PyTorch build has no torch.distributed; run a single process")
    cuda = torch.cuda.is_available() and (device is None or str(device) == "auto" or str(device).startswith("cuda"))
    if cuda:
        torch.cuda.set_device(local_rank())
    dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(seconds=timeout_s))
    return True


def shutdown() -> None:
    """Leave the process group (call once at the end of a torchrun process)."""
    dist = _dist()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


# -- collectives that methods call unconditionally ------------------------------------------
def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum of ``t`` over ranks (a new tensor; ``t`` itself in a single process)."""
    if not is_distributed():
        return t
    out = t.clone()
    _dist().all_reduce(out)
    return out


def row_range(n: int) -> tuple[int, int]:
    """This rank's contiguous slice of ``n`` rows for work split by rows (e.g. encoding all data)."""
    w, r = world_size(), rank()
    per = -(-n // w)
    return min(r * per, n), min((r + 1) * per, n)


def all_gather_rows(t: torch.Tensor, n: int) -> torch.Tensor:
    """Concatenate every rank's ``t`` (its :func:`row_range` of ``n`` rows) in rank order.

    Every rank gets the same ``(n, ...)`` tensor. Shards are padded to equal length for the
    collective and trimmed afterwards.
    """
    if not is_distributed():
        return t
    w = world_size()
    per = -(-n // w)
    padded = torch.zeros((per, *t.shape[1:]), dtype=t.dtype, device=t.device)
    padded[: t.shape[0]] = t
    parts = [torch.empty_like(padded) for _ in range(w)]
    _dist().all_gather(parts, padded)
    return torch.cat(parts)[:n]


def broadcast_(t: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Overwrite ``t`` on every rank with rank ``src``'s values (in place)."""
    if is_distributed():
        _dist().broadcast(t, src)
    return t


# -- the training loop's side ---------------------------------------------------------------
class _LossModule(nn.Module):
    """Holds ``module`` so DistributedDataParallel sees every parameter the loss touches.

    DDP synchronises gradients only for work done inside its own ``forward``; methods' loss
    functions call sub-modules (``module["autoencoder"].encode``), so the whole loss runs
    here. ``state`` travels as an attribute: DDP would copy a dataclass passed as input.
    """

    def __init__(self, module: nn.Module, loss_fn: Callable) -> None:
        super().__init__()
        self.module, self.loss_fn, self.state = module, loss_fn, None

    def forward(self, *batch: torch.Tensor):
        return self.loss_fn(self.module, batch, self.state)


def data_parallel(module: nn.Module, loss_fn: Callable, optimizer: torch.optim.Optimizer, device: torch.device) -> Callable:
    """Wrap ``loss_fn`` so that its backward pass averages gradients over ranks (DDP).

    Returns a function with ``loss_fn``'s signature ``(module, batch, state)``. Parameters the
    optimizer does not train (DEC's decoder) get no gradient, so DDP is told to look for
    unused parameters only then. Buffers are not broadcast on each step: methods keep them
    equal themselves (DCN all-reduces its centroid updates).
    """
    from torch.nn.parallel import DistributedDataParallel

    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    unused = any(id(p) not in trained for p in module.parameters() if p.requires_grad)
    wrapper = _LossModule(module, loss_fn)
    # Buffers are synced from rank 0 when DDP is built, not before every forward pass.
    import inspect

    no_buffer_sync = {"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters else {"broadcast_buffers": False}
    ddp = DistributedDataParallel(
        wrapper,
        device_ids=[device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None,
        find_unused_parameters=unused,
        **no_buffer_sync,
    )

    def run(_module: nn.Module, batch: tuple[torch.Tensor, ...], state):
        wrapper.state = state
        return ddp(*batch)

    return run


def reduce_epoch_sums(sums: dict[str, torch.Tensor], seen: int) -> tuple[dict[str, torch.Tensor], int]:
    """Add up the per-rank sums of the logged losses, so every rank logs (and stops on) the same means."""
    if not is_distributed():
        return sums, seen
    keys = sorted(sums)
    device = sums[keys[0]].device if keys else torch.device("cpu")
    flat = torch.stack([sums[k].double() for k in keys] + [torch.tensor(float(seen), dtype=torch.float64, device=device)])
    _dist().all_reduce(flat)
    return {k: flat[i] for i, k in enumerate(keys)}, int(flat[-1].item())
