"""Observers: callbacks added to every :func:`~deepclust.train.fit_module` run inside a block.

Estimators build their own callbacks, so a caller that wants to watch training without
changing an estimator (e.g. to record the embedding after every epoch for an animation) adds
an observer for the duration of ``fit``::

    with observe_training(recorder):
        estimator.fit(X)

The set of observers lives in a :class:`contextvars.ContextVar`, so it is local to the thread
(and asyncio task) that opened the block and is restored when the block ends. Observers must
only read the training state; they must not set ``state.stop``.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Iterator

__all__ = ["active_observers", "observe_training"]

_OBSERVERS: ContextVar[tuple] = ContextVar("deepclust_training_observers", default=())


@contextlib.contextmanager
def observe_training(*callbacks) -> Iterator[None]:
    """Add ``callbacks`` (``Callback`` instances) to every training run started inside the block."""
    token = _OBSERVERS.set(_OBSERVERS.get() + tuple(callbacks))
    try:
        yield
    finally:
        _OBSERVERS.reset(token)


def active_observers() -> tuple:
    """The observers of the enclosing :func:`observe_training` blocks (empty outside them)."""
    return _OBSERVERS.get()
