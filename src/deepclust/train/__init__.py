"""One training loop with callbacks, shared by every method, and its checkpoints."""

from deepclust.train.checkpoint import checkpointing
from deepclust.train.loop import Callback, EarlyStopping, TrainState, fit_module
from deepclust.train.observers import active_observers, observe_training
from deepclust.train.optim import adam

__all__ = ["Callback", "EarlyStopping", "TrainState", "active_observers", "adam", "checkpointing", "fit_module", "observe_training"]
