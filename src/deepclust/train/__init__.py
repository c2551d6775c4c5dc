"""One training loop with callbacks, shared by every method, and its checkpoints."""

from deepclust.train.checkpoint import checkpointing
from deepclust.train.loop import Callback, EarlyStopping, TrainState, fit_module

__all__ = ["Callback", "EarlyStopping", "TrainState", "checkpointing", "fit_module"]
