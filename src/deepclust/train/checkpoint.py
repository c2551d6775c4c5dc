"""Checkpoints of the training loop, so that an interrupted fit resumes where it stopped.

One mechanism serves every estimator: inside a :func:`checkpointing` block, each call of
:func:`~deepclust.train.fit_module` (a *phase*: the pretraining of DEC, then its clustering
phase, ...) writes a checkpoint every ``every`` epochs and a final one when it finishes. With
``resume=True`` each phase starts from its checkpoint: a finished phase is not run again (its
final weights are loaded), an interrupted one continues after its last checkpointed epoch.

A checkpoint holds everything the rest of the run depends on: the module's and the
optimiser's ``state_dict``, the shuffling generator's state, the global torch RNG state (the
estimators run inside a forked, seeded RNG, which VAE noise and dropout draw from), epoch,
step, history, and each callback's own ``state_dict()`` (DEC's targets, a learning-rate
schedule, early-stopping counters). So on CPU, with a fixed seed, a resumed fit gives the same
weights and labels as an uninterrupted one.

File format: one ``phase-<i>.safetensors`` per phase, written atomically (temporary file,
then rename), holding the tensors and, in the safetensors header, the JSON description. One
file per phase means a crash can never leave a description that does not match its tensors.
Nothing is pickled and nothing is unpickled: loading parses JSON and reads raw tensors.

Why a context manager rather than an estimator parameter or a ``fit(X, checkpoint=...)``
argument: a fit runs nested estimators (DEC fits its ``AutoencoderEmbedding``; pipelines and
grid searches fit clones), and a context reaches all of their training loops without adding a
parameter to every ``__init__`` and ``fit`` signature. The context is a
:class:`contextvars.ContextVar`, so threads do not share it; it does not reach worker
processes (``n_jobs`` > 1).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from deepclust._io import atomic_write_bytes
from deepclust._version import __version__
from deepclust.train.loop import Callback, TrainState

logger = logging.getLogger(__name__)

FORMAT = "deepclust-checkpoint"
FORMAT_VERSION = 1
_META_KEY = "deepclust_checkpoint"
_FILE_RE = re.compile(r"^phase-(\d+)\.safetensors$")

__all__ = ["Checkpointing", "PhaseCheckpoint", "checkpointing", "current_checkpointing"]


@dataclass
class Checkpointing:
    """The active checkpoint folder (see :func:`checkpointing`). Not built directly."""

    folder: Path
    every: int
    resume: bool
    phases_started: int = 0
    resumed_phases: list[int] = field(default_factory=list)  # phases restored from a checkpoint

    def path(self, phase: int) -> Path:
        return self.folder / f"phase-{phase}.safetensors"

    def existing(self) -> list[Path]:
        """Checkpoint files already in the folder."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if _FILE_RE.match(p.name))


_ACTIVE: contextvars.ContextVar[Checkpointing | None] = contextvars.ContextVar("deepclust_checkpointing", default=None)


def current_checkpointing() -> Checkpointing | None:
    """The :class:`Checkpointing` of the innermost active :func:`checkpointing` block, or None."""
    return _ACTIVE.get()


@contextlib.contextmanager
def checkpointing(folder: str | os.PathLike, *, every: int = 1, resume: bool = False) -> Iterator[Checkpointing]:
    """Write training checkpoints for every fit inside the block; with ``resume``, continue from them.

    Parameters
    ----------
    folder : path-like
        Where the checkpoints go (created if needed). One file per training phase,
        ``phase-<i>.safetensors``; delete the folder once the fit has succeeded.
    every : int, default=1
        Write a checkpoint after every ``every``-th epoch of each phase (and always at the end
        of a phase).
    resume : bool, default=False
        Start each phase from its checkpoint in ``folder``. The code in the block must be the
        same as in the interrupted run (same estimator, parameters, seed and data); a
        checkpoint that does not fit is refused with a ValueError saying what differs. If
        ``folder`` holds no checkpoint, training starts from the beginning.

    Raises
    ------
    FileExistsError
        If ``folder`` already holds checkpoints and ``resume`` is False (so that an old run's
        checkpoints are neither silently reused nor overwritten).
    ValueError
        If ``every`` is not a positive integer.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import make_blobs
    >>> from deepclust.methods import AutoencoderEmbedding, DEC
    >>> X, _ = make_blobs(200, n_features=5, centers=3, random_state=0)
    >>> model = DEC(3, embedding=AutoencoderEmbedding(latent_dim=2, hidden_dims=(16,), epochs=4),
    ...             max_iter=30, random_state=0)
    >>> folder = tempfile.mkdtemp()
    >>> with checkpointing(folder, every=2):
    ...     labels = model.fit(X).labels_
    >>> with checkpointing(folder, resume=True):  # both phases are finished: nothing is retrained
    ...     again = model.fit(X).labels_
    >>> bool((labels == again).all())
    True
    """
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ValueError(f"checkpoint every must be a positive integer number of epochs, got {every!r}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"checkpoint folder {str(folder)!r} is a file, expected a folder")
    ctx = Checkpointing(folder, int(every), bool(resume))
    found = ctx.existing()
    if found and not resume:
        raise FileExistsError(
            f"checkpoint folder {str(folder)!r} already holds checkpoints of an earlier run ({found[0].name}, ...); "
            "resume it (resume=True, or --resume on the command line) or delete the folder"
        )
    if resume and not found:
        logger.info("no checkpoint in %s: training starts from the beginning", folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermissionError(f"cannot create checkpoint folder {str(folder)!r}: {exc.strerror or exc}") from None
    token = _ACTIVE.set(ctx)
    try:
        yield ctx
    finally:
        _ACTIVE.reset(token)


# -- trees of JSON values and tensors -----------------------------------------------------------
def _flatten(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``obj`` as JSON, with each tensor replaced by a reference into ``tensors``."""
    if isinstance(obj, torch.Tensor):
        if key in tensors:
            raise ValueError(f"two tensors would be stored under {key!r}")
        tensors[key] = obj.detach().cpu().contiguous().clone()  # clone: no shared storage
        return {"__tensor__": key}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "item") and getattr(obj, "shape", None) == ():  # numpy scalars
        return obj.item()
    if isinstance(obj, tuple):
        return {"__tuple__": [_flatten(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_flatten(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        # Keys may be ints (an optimiser's parameter indices), so items are kept as pairs.
        return {"__items__": [[k, _flatten(v, f"{key}/{k}", tensors)] for k, v in obj.items()]}
    raise TypeError(f"cannot checkpoint a value of type {type(obj).__name__} (at {key!r}): only numbers, strings, lists, dicts and tensors")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__tuple__" in obj:
            return tuple(_unflatten(v, tensors) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {k: _unflatten(v, tensors) for k, v in obj["__items__"]}
        raise ValueError(f"unexpected object {sorted(obj)} in checkpoint")
    return obj


def write_checkpoint(path: Path, meta: dict, tree: dict) -> None:
    """Write ``tree`` (JSON values and tensors) and ``meta`` to one safetensors file, atomically."""
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    doc = {**meta, "format": FORMAT, "format_version": FORMAT_VERSION, "deepclust_version": __version__, "tree": _flatten(tree, "t", tensors)}
    atomic_write_bytes(path, save(tensors, metadata={_META_KEY: json.dumps(doc)}))


def read_checkpoint(path: Path) -> tuple[dict, dict]:
    """Inverse of :func:`write_checkpoint`: ``(meta, tree)``. Never unpickles.

    Raises
    ------
    ValueError
        If the file is not a readable deepclust checkpoint of this format version.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            header = (fh.metadata() or {}).get(_META_KEY)
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        doc = json.loads(header) if header is not None else None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ValueError(f"checkpoint {str(path)!r} is corrupt or not a deepclust checkpoint ({exc}); delete the checkpoint folder to start afresh") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a deepclust checkpoint; delete the checkpoint folder to start afresh")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"checkpoint {str(path)!r} was written by deepclust {doc.get('deepclust_version')} in checkpoint format "
            f"{doc.get('format_version')}; this deepclust {__version__} reads format {FORMAT_VERSION}: "
            "resume with the version that wrote it, or delete the folder to start afresh"
        )
    try:
        tree = _unflatten(doc.pop("tree"), tensors)
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"checkpoint {str(path)!r} is corrupt: {exc}") from None
    return doc, tree


# -- one phase: a fit_module call ---------------------------------------------------------------
def _data_fingerprint(source) -> dict:
    """Shapes and a cheap checksum of the training data (in-memory tensors or a batch source)."""
    from deepclust.train.batches import TensorBatches

    tensors = source.tensors if isinstance(source, TensorBatches) else source if isinstance(source, (list, tuple)) else None
    if tensors is None:  # streamed from disk: its shape; summing a file larger than memory costs a full read
        shape = getattr(getattr(source, "data", None), "shape", None)
        return {"data_shapes": [[int(source.n_samples), *(list(shape)[1:] if shape is not None else [])]], "data_sums": []}
    # A cheap data checksum (one pass, no copy): the sum of each tensor in float64.
    return {"data_shapes": [list(t.shape) for t in tensors], "data_sums": [float(t.sum(dtype=torch.float64)) for t in tensors]}


def _fingerprint(module: nn.Module, optimizer, tensors, *, epochs: int, batch_size: int, max_steps, desc: str, callbacks) -> dict:
    """What must be equal for a checkpoint to belong to this phase."""
    layout = ";".join(f"{k}:{tuple(v.shape)}" for k, v in module.state_dict().items())
    return {
        "desc": desc,
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "max_steps": None if max_steps is None else int(max_steps),
        **_data_fingerprint(tensors),
        "module": hashlib.sha256(layout.encode()).hexdigest()[:16],
        "optimizer": type(optimizer).__name__,
        "callbacks": [type(cb).__name__ for cb in callbacks],
    }


def _differences(saved: dict, now: dict) -> list[str]:
    out = []
    for key, value in now.items():
        old = saved.get(key)
        if key == "data_sums":
            same = isinstance(old, list) and len(old) == len(value) and all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(old, value))
            if not same:
                out.append("the data differ")
        elif old != value:
            out.append(f"{key} was {old!r}, now {value!r}")
    return out


def _callback_states(callbacks) -> list:
    return [{"class": type(cb).__name__, "state": cb.state_dict() if hasattr(cb, "state_dict") else {}} for cb in callbacks]


class PhaseCheckpoint(Callback):
    """Checkpoints one :func:`fit_module` call; added to its callbacks by the loop itself.

    Built by :func:`open_phase` only while a :func:`checkpointing` block is active.
    """

    def __init__(self, ctx: Checkpointing, index: int, module, optimizer, generator, callbacks, fingerprint: dict) -> None:
        self.ctx, self.index, self.path = ctx, index, ctx.path(index)
        self.module, self.optimizer, self.generator = module, optimizer, generator
        self.callbacks = list(callbacks)  # the loop's other callbacks, whose state is saved
        self.fingerprint = fingerprint
        self.device = next((p.device for p in module.parameters()), torch.device("cpu"))
        self.restored_finished = False

    # -- writing ---------------------------------------------------------------------------
    def _write(self, state: TrainState, *, finished: bool, history: dict) -> None:
        rng = {"torch": torch.random.get_rng_state(), "generator": self.generator.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        tree = {
            "module": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": rng,
            "history": history,
            "logs": dict(state.logs),
            "callbacks": _callback_states(self.callbacks),
        }
        meta = {
            "phase": self.index,
            "fingerprint": self.fingerprint,
            "finished": bool(finished),
            "next_epoch": int(state.epoch) + 1,
            "step": int(state.step),
            "stop_reason": state.stop_reason,
        }
        write_checkpoint(self.path, meta, tree)

    def on_epoch_end(self, state: TrainState) -> None:
        if state.stop or (state.epoch + 1) % self.ctx.every:
            return  # a stopping phase is written whole by on_train_end
        if not all(math.isfinite(v) for v in state.logs.values()):
            return  # the loop is about to raise: keep the last good checkpoint
        # The loop appends this epoch's logs to the history after the callbacks have run (this
        # one is last), so the saved history includes them as the loop will.
        history = {k: list(v) for k, v in state.history.items()}
        history.setdefault("epoch", []).append(state.epoch)
        for k, v in state.logs.items():
            history.setdefault(k, []).append(v)
        self._write(state, finished=False, history=history)

    def on_train_end(self, state: TrainState) -> None:
        if not self.restored_finished:
            self._write(state, finished=True, history=state.history)

    # -- reading ---------------------------------------------------------------------------
    def restore(self, state: TrainState) -> int | None:
        """Load this phase's checkpoint into the module, optimiser, generator, RNG, callbacks and
        ``state``; return the first epoch still to run, or None when there is nothing to resume."""
        if not (self.ctx.resume and self.path.is_file()):
            return None
        meta, tree = read_checkpoint(self.path)
        diffs = _differences(meta.get("fingerprint", {}), self.fingerprint)
        if diffs:
            raise ValueError(
                f"checkpoint {str(self.path)!r} belongs to a different run ({'; '.join(diffs)}); "
                "resume with the same method, options, seed and data, or delete the checkpoint folder"
            )
        try:
            self.module.load_state_dict(tree["module"])
            self.optimizer.load_state_dict(tree["optimizer"])
            self.generator.set_state(tree["rng"]["generator"])
            torch.random.set_rng_state(tree["rng"]["torch"])
            if "cuda" in tree["rng"] and self.device.type == "cuda":
                torch.cuda.set_rng_state(tree["rng"]["cuda"], self.device)
            saved = tree["callbacks"]
            if [s["class"] for s in saved] != [type(cb).__name__ for cb in self.callbacks]:
                raise ValueError(f"callbacks {[s['class'] for s in saved]} differ from {[type(cb).__name__ for cb in self.callbacks]}")
            for cb, s in zip(self.callbacks, saved):
                if hasattr(cb, "load_state_dict"):
                    cb.load_state_dict(s["state"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise ValueError(f"checkpoint {str(self.path)!r} does not fit this run: {exc}") from None
        state.history = {k: list(v) for k, v in tree["history"].items()}
        state.logs = dict(tree["logs"])
        state.step = int(meta["step"])
        state.epoch = int(meta["next_epoch"]) - 1
        state.stop_reason = meta.get("stop_reason")
        self.ctx.resumed_phases.append(self.index)
        if meta.get("finished"):
            self.restored_finished = True
            logger.info("checkpoint %s: phase %r already finished, not trained again", self.path.name, self.fingerprint["desc"])
            return int(self.fingerprint["epochs"])  # nothing left to run
        logger.info("checkpoint %s: %r resumes at epoch %d", self.path.name, self.fingerprint["desc"], meta["next_epoch"])
        return int(meta["next_epoch"])


def open_phase(module, optimizer, generator, tensors, *, epochs, batch_size, max_steps, desc, callbacks) -> PhaseCheckpoint | None:
    """The checkpoint of the next training phase when a :func:`checkpointing` block is active."""
    ctx = _ACTIVE.get()
    if ctx is None:
        return None
    index = ctx.phases_started
    ctx.phases_started += 1
    fp = _fingerprint(module, optimizer, tensors, epochs=epochs, batch_size=batch_size, max_steps=max_steps, desc=desc, callbacks=callbacks)
    return PhaseCheckpoint(ctx, index, module, optimizer, generator, callbacks, fp)
