"""The one training loop every method uses (pretraining and clustering phases alike).

It knows nothing about autoencoders or clustering: it takes minibatches from a batch source
(in-memory tensors, or a file streamed in blocks: :mod:`deepclust.train.batches`), calls
``loss_fn`` and steps the optimiser; inside a ``torchrun`` process group it trains data-parallel
(:mod:`deepclust.train.distributed`). Method-specific work (DEC's target distribution,
DCN's centroid updates, early stopping, checkpoints) plugs in as callbacks.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from deepclust.train import distributed
from deepclust.train.batches import BatchSource, TensorBatches
from deepclust.train.observers import active_observers

LossOutput = "torch.Tensor | dict[str, torch.Tensor]"


@dataclass
class TrainState:
    """What callbacks can read (and, for ``stop``, write) while training runs."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    epochs: int
    epoch: int = 0  # current epoch, 0-based
    step: int = 0  # optimiser steps taken so far over the whole run
    batch_index: torch.Tensor | None = None  # (B,) row indices of the current batch
    logs: dict[str, float] = field(default_factory=dict)  # last finished epoch's means
    history: dict[str, list[float]] = field(default_factory=dict)
    stop: bool = False
    stop_reason: str | None = None

    def why_stopped(self) -> str:
        """``stop_reason``, or "completed N epochs" when training simply ran its epochs out."""
        return self.stop_reason or f"completed {len(self.history.get('loss', []))} epochs"


class Callback:
    """Hooks into :func:`fit_module`. Override what you need; set ``state.stop`` to end training.

    A callback that keeps state across epochs (targets, counters, a schedule) returns it from
    :meth:`state_dict` (JSON values and tensors) and takes it back in :meth:`load_state_dict`,
    so that checkpoints (:func:`deepclust.train.checkpointing`) can resume it exactly.
    """

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_epoch_begin(self, state: TrainState) -> None: ...

    def on_batch_begin(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by a relative ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    patience : int, default=10
    min_delta : float, default=1e-4
        Relative improvement that counts: ``new < best * (1 - min_delta)``.
    monitor : str, default="loss"
    """

    def __init__(self, patience: int = 10, min_delta: float = 1e-4, monitor: str = "loss") -> None:
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.patience, self.min_delta, self.monitor = int(patience), float(min_delta), monitor

    def on_train_begin(self, state: TrainState) -> None:
        self.best, self.wait = float("inf"), 0

    def state_dict(self) -> dict:
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.wait = float(state["best"]), int(state["wait"])

    def on_epoch_end(self, state: TrainState) -> None:
        value = state.logs[self.monitor]
        if value < self.best * (1.0 - self.min_delta):
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.stop = True
                state.stop_reason = f"early stopping: {self.monitor} did not improve for {self.patience} epochs"


def fit_module(
    module: nn.Module,
    loss_fn: Callable[[nn.Module, tuple[torch.Tensor, ...], TrainState], "torch.Tensor | dict[str, torch.Tensor]"],
    tensors: "Sequence[torch.Tensor] | BatchSource",
    *,
    epochs: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    callbacks: Sequence[Callback] = (),
    autocast_dtype: torch.dtype | None = None,
    progress: bool = False,
    desc: str = "train",
    start_epoch: int = 0,
    state: TrainState | None = None,
    max_steps: int | None = None,
    cuda_graph: bool = False,
) -> TrainState:
    """Train ``module`` by minibatch gradient descent on ``loss_fn``.

    Parameters
    ----------
    module : nn.Module
    loss_fn : callable ``(module, batch, state) -> Tensor or dict``
        ``batch`` is the tuple of ``tensors`` sliced to the current rows (``state.batch_index``).
        A dict must hold the total under ``"loss"``; its other entries are logged.
    tensors : sequence of Tensor, each of shape (n_samples, ...), or BatchSource
        Tensors already on the training device (rows are gathered by index, never by a Python
        loop), or a :class:`~deepclust.train.batches.BatchSource` such as
        :class:`~deepclust.train.batches.BlockBatches`, which streams a file from disk.
    epochs, batch_size : int
    optimizer : torch.optim.Optimizer
    generator : torch.Generator
        Drives the shuffling (CPU generator), so runs are reproducible without global seeding.
    callbacks : sequence of Callback
    autocast_dtype : torch.dtype or None
        ``torch.bfloat16`` to run under autocast; None for full precision.
    progress : bool
        Show a tqdm bar over epochs on stderr.
    start_epoch : int
        First epoch to run (for resuming); the shuffles of earlier epochs are replayed so a
        resumed run sees the same batches as an uninterrupted one. Inside a
        :func:`deepclust.train.checkpointing` block the loop writes checkpoints itself and, with
        ``resume=True``, starts from its checkpoint instead.
    state : TrainState, optional
        Continue from a previous state (its history and step count).
    max_steps : int, optional
        Stop after this many optimiser steps in total (DEC's ``max_iter``), even mid-epoch.
    cuda_graph : bool, default=False
        Replay the step of a full minibatch from a CUDA graph captured once, where
        :func:`_can_capture` allows it (:class:`_GraphStep` says for which ``loss_fn``).

    A callback may set ``state.stop`` in ``on_batch_begin`` (e.g. DEC's label-change test); the
    loop then ends before that batch, and the epoch's logged means cover the batches run.

    Inside a process group of several ranks (``torchrun``), ``module`` is wrapped in
    ``DistributedDataParallel``, each rank trains on its shard of each minibatch
    (``batch_size`` stays the global minibatch size), and the logged means are over all ranks,
    so callbacks decide alike everywhere.

    Returns
    -------
    TrainState
        With ``history``: per-epoch means of every logged loss, plus ``epoch`` and ``seconds``.
    """
    source, state = _source_and_state(module, optimizer, tensors, state, epochs=epochs, batch_size=batch_size)
    callbacks = [*callbacks, *active_observers()]  # observers watch every run inside observe_training()
    run, start_epoch = _begin(
        state, module, loss_fn, optimizer, generator, source, callbacks, batch_size=batch_size, max_steps=max_steps,
        autocast_dtype=autocast_dtype, desc=desc, start_epoch=start_epoch, cuda_graph=cuda_graph,
    )
    bar = _progress_bar(desc, epochs, start_epoch) if progress and run.rank == 0 else None
    _train_epochs(run, state, start_epoch, epochs, bar)
    for cb in run.callbacks:
        cb.on_train_end(state)
    module.eval()
    return state


_flush_depth = 0

#: Every this many optimiser steps on the CPU the loop sets the optimiser's denormal moments to
#: zero (:func:`zero_denormal_state`): ``flush_denormals`` reaches only the calling thread, and
#: torch's worker threads go on producing them. Measured (NOTES_n2d.md session 7): after 1,500
#: steps on MNIST-test 22% of Adam's first moments were denormal and the fused update took
#: 19.7 ms instead of 3.4 ms once they were zeroed.
DENORMAL_SWEEP_STEPS = 50


@torch.no_grad()
def zero_denormal_state(optimizer: torch.optim.Optimizer) -> None:
    """Set the optimiser's floating-point state entries below the smallest normal number to 0.

    Such values (under 1.2e-38 in float32) change no update float32 can represent (Adam divides
    by at least ``eps``), but every operation on them is many times slower on x86 CPUs; a moment
    set to 0 stays 0 while its weight's gradient is exactly 0 (dead units, always-zero pixels),
    where they come from.
    """
    for st in optimizer.state.values():
        for t in st.values():
            if isinstance(t, torch.Tensor) and t.is_floating_point() and t.device.type == "cpu" and t.dim() > 0:
                t.masked_fill_(t.abs() < torch.finfo(t.dtype).tiny, 0.0)


@contextmanager
def flush_denormals():
    """Flush denormal floats to zero on the CPU while training (``torch.set_flush_denormal``).

    Why: late in training, Adam's moment estimates of weights whose gradients have died out
    decay below 1e-38, into float32's denormal range, where x86 CPUs compute many times more
    slowly. Measured on MNIST-70k N2D (bf16, 2-core Xeon with AMX, NOTES_n2d.md session 7): the
    fused Adam update grew to half of every step and epochs went from 5 s to 9 s after the
    first two. Values that small are far below Adam's ``eps`` (1e-8) and any weight's float32
    resolution, so flushing them changes no update that float32 can represent. Nested calls
    are counted; the setting goes back to off (PyTorch's default) when the outermost ends.
    """
    global _flush_depth
    if _flush_depth == 0:
        torch.set_flush_denormal(True)
    _flush_depth += 1
    try:
        yield
    finally:
        _flush_depth -= 1
        if _flush_depth == 0:
            torch.set_flush_denormal(False)


@dataclass
class _Run:
    """What every epoch of one :func:`fit_module` call uses."""

    module: nn.Module
    compute: Callable
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    source: BatchSource
    callbacks: list
    batch_size: int
    max_steps: int | None
    autocast_dtype: torch.dtype | None
    rank: int
    world: int
    graph_step: "_GraphStep | None" = None


def _source_and_state(module, optimizer, tensors, state, *, epochs: int, batch_size: int) -> tuple[BatchSource, TrainState]:
    """The batch source over ``tensors`` and the state to train from, checked for an empty source and the batch size."""
    source = tensors if isinstance(tensors, BatchSource) else TensorBatches(tensors)
    if source.n_samples == 0:
        raise ValueError("cannot train on zero samples")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if state is None:
        state = TrainState(module=module, optimizer=optimizer, epochs=epochs)
    state.epochs = epochs
    state.stop, state.stop_reason = False, None
    return source, state


def _begin(state, module, loss_fn, optimizer, generator, source, callbacks, *, batch_size, max_steps, autocast_dtype, desc, start_epoch, cuda_graph=False):
    """Open the checkpoint phase (inside a checkpointing() block), start the callbacks, resume
    or replay the shuffles of earlier epochs, and wrap ``loss_fn`` for data parallelism;
    return (the run's settings, the first epoch to run)."""
    from deepclust.train.checkpoint import open_phase  # here: that module builds on this one

    rank, world = distributed.rank(), distributed.world_size()
    checkpoint = open_phase(module, optimizer, generator, source, epochs=state.epochs, batch_size=batch_size, max_steps=max_steps, desc=desc, callbacks=callbacks)
    if checkpoint is not None and world > 1:
        raise ValueError("checkpoints are not supported under torchrun (several processes would write one folder); run without checkpointing")
    if checkpoint is not None:
        callbacks = [*callbacks, checkpoint]  # last, so it saves the other callbacks' epoch-end state
    for cb in callbacks:
        cb.on_train_begin(state)
    resumed_at = checkpoint.restore(state) if checkpoint is not None else None
    if resumed_at is not None:
        start_epoch = resumed_at  # the generator's state was restored with the rest
    else:
        for _ in range(start_epoch):  # replay the shuffles of the epochs already done
            source.skip_epoch(generator)
    compute = distributed.data_parallel(module, loss_fn, optimizer, source.device) if world > 1 else loss_fn
    run = _Run(module, compute, optimizer, generator, source, list(callbacks), batch_size, max_steps, autocast_dtype, rank, world)
    if cuda_graph and _can_capture(run):
        run.graph_step = _GraphStep(run)
    return run, start_epoch


def _can_capture(run: _Run) -> bool:
    """Whether ``fit_module(cuda_graph=True)`` can replay a captured step (else the eager step
    runs): in-memory tensors on a CUDA device, one process, an optimiser built with
    ``capturable=True``, and no callback acting before each batch (it could change what the loss
    reads, which a replayed graph would not see)."""
    if run.world > 1 or not isinstance(run.source, TensorBatches) or run.source.device.type != "cuda":
        return False
    if not all(group.get("capturable", False) for group in run.optimizer.param_groups):
        return False
    return all(type(cb).on_batch_begin is Callback.on_batch_begin for cb in run.callbacks)


class _GraphStep:
    """The optimiser step of a full minibatch, captured once in a CUDA graph and then replayed.

    Why: on a small network ~85% of an eager GPU step is Python launching kernels (3.0 ms eager
    against 0.49 ms replayed, N2D's network at batch 256 on an H100, benchmarks/PERFORMANCE.md).
    For a ``loss_fn`` that reads nothing but the batch (not ``state``; no host synchronisation,
    no draws from an explicit generator) and a fixed learning rate.

    The graph gathers its rows from a fixed index buffer, which each step fills with the
    minibatch's row indices before the replay, so it trains on the same batches in the same
    order as the eager loop. As ``torch.cuda.graph`` requires, the first :attr:`WARMUP` steps run
    eagerly on a side stream (they create the optimiser's state and the library workspaces);
    the next step is captured (capture records without running) and replayed, and every later
    full step is a replay. A last, smaller minibatch runs the same step eagerly. Gradients are
    zeroed in place, never set to None: the graph keeps the addresses of the gradient buffers
    it was captured with, and memory freed under it would be reused by other tensors.
    Autocast runs without its weight-cast cache, which a graph cannot hold across replays.
    """

    WARMUP = 3

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.tensors = run.source.tensors
        self.index = torch.zeros(run.batch_size, dtype=torch.long, device=run.source.device)
        self.warmed = 0
        self.replay: Callable[[], dict[str, torch.Tensor]] | None = None
        self.stream = torch.cuda.Stream() if run.source.device.type == "cuda" else None

    def body(self, state: TrainState, rows: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One eager optimiser step on ``rows`` (default: the index buffer); returns the loss terms."""
        batch = tuple(t[self.index if rows is None else rows] for t in self.tensors)
        return _optimizer_step(self.run, batch, state, for_graph=True)

    def __call__(self, rows: torch.Tensor, state: TrainState) -> dict[str, torch.Tensor]:
        if rows.shape[0] != self.index.shape[0]:
            return self.body(state, rows)
        self.index.copy_(rows)
        if self.replay is None:
            if self.warmed < self.WARMUP:
                self.warmed += 1
                return self._side_stream(state)
            self.replay = self._record(state)
        return self.replay()

    def _side_stream(self, state: TrainState) -> dict[str, torch.Tensor]:
        if self.stream is None:
            return self.body(state)
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            parts = self.body(state)
        torch.cuda.current_stream().wait_stream(self.stream)
        return parts

    def _record(self, state: TrainState) -> Callable[[], dict[str, torch.Tensor]]:
        """Capture one step; the returned callable replays it and returns its (static) loss terms."""
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            parts = self.body(state)

        def replay() -> dict[str, torch.Tensor]:
            graph.replay()
            return parts

        return replay


def _optimizer_step(run: _Run, batch: tuple[torch.Tensor, ...], state: TrainState, *, for_graph: bool = False) -> dict[str, torch.Tensor]:
    """Loss terms of ``batch`` under the run's autocast, then one optimiser step on their total.

    ``for_graph`` (:class:`_GraphStep`): gradients zeroed in place rather than set to None, and
    autocast without its weight-cast cache, so the step can be captured in a CUDA graph.
    """
    with torch.autocast(device_type=run.source.device.type, dtype=run.autocast_dtype or torch.bfloat16,
                        enabled=run.autocast_dtype is not None, cache_enabled=False if for_graph else None):
        out = run.compute(run.module, batch, state)
    parts = out if isinstance(out, dict) else {"loss": out}
    run.optimizer.zero_grad(set_to_none=not for_graph)
    parts["loss"].backward()
    run.optimizer.step()
    return parts


def _progress_bar(desc: str, epochs: int, start_epoch: int):
    from tqdm.auto import tqdm

    return tqdm(total=epochs, initial=min(start_epoch, epochs), desc=desc, unit="epoch", leave=False)


def _train_epochs(run: _Run, state: TrainState, start_epoch: int, epochs: int, bar) -> None:
    """Epochs ``start_epoch`` to ``epochs - 1``, until one ends training; denormals flushed
    throughout; the progress bar closed and ``state.batch_index`` cleared however it ends."""
    try:
        with flush_denormals():
            for epoch in range(start_epoch, epochs):
                if not _train_epoch(run, state, epoch, bar):
                    break
    finally:
        if bar is not None:
            bar.close()
        state.batch_index = None


def _train_epoch(run: _Run, state: TrainState, epoch: int, bar) -> bool:
    """One epoch: its batches, then the epoch-end logs and callbacks. False when training ends."""
    state.epoch = epoch
    run.module.train()
    for cb in run.callbacks:
        cb.on_epoch_begin(state)
    if state.stop:
        return False
    t0 = time.perf_counter()
    sums, seen = _run_batches(run, state)
    sums, seen = distributed.reduce_epoch_sums(sums, seen)
    if seen == 0:  # stopped before the first batch of this epoch
        return False
    state.logs = {k: float(v) / seen for k, v in sums.items()}
    state.logs["seconds"] = time.perf_counter() - t0
    for cb in run.callbacks:
        cb.on_epoch_end(state)
    state.history.setdefault("epoch", []).append(epoch)
    for k, v in state.logs.items():
        state.history.setdefault(k, []).append(v)
    if bar is not None:
        bar.update(1)
        bar.set_postfix(loss=f"{state.logs['loss']:.4g}")
    if not torch.isfinite(torch.tensor(state.logs["loss"])):
        raise FloatingPointError(f"training diverged at epoch {epoch}: loss is {state.logs['loss']}; try a smaller learning rate")
    return not state.stop


def _run_batches(run: _Run, state: TrainState) -> tuple[dict[str, torch.Tensor], int]:
    """The optimiser steps of one epoch; returns the row-weighted sums of the logged losses and
    the number of rows they cover (this rank's)."""
    sums: dict[str, torch.Tensor] = {}
    seen = 0
    device_type = run.source.device.type
    if run.graph_step is not None:  # the captured step gathers its rows itself
        batches = ((idx, None) for idx in run.source.epoch_rows(run.generator, run.batch_size))
    else:
        batches = run.source.epoch(run.generator, run.batch_size, rank=run.rank, world_size=run.world)
    for idx, batch in batches:
        if run.max_steps is not None and state.step >= run.max_steps:
            state.stop, state.stop_reason = True, f"reached max_steps={run.max_steps}"
            break
        state.batch_index = idx
        for cb in run.callbacks:
            cb.on_batch_begin(state)
        if state.stop:
            break
        parts = run.graph_step(idx, state) if run.graph_step is not None else _optimizer_step(run, batch, state)
        state.step += 1
        if device_type == "cpu" and state.step % DENORMAL_SWEEP_STEPS == 0:
            zero_denormal_state(run.optimizer)
        w = float(idx.shape[0])
        seen += idx.shape[0]
        for k, v in parts.items():
            v = v.detach().float() * w
            sums[k] = sums[k] + v if k in sums else v
    if run.max_steps is not None and state.step >= run.max_steps and state.stop_reason is None:
        state.stop_reason = f"reached max_steps={run.max_steps}"  # spent at the epoch's end: said here in case no epoch follows
    return sums, seen
