"""One training loop with callbacks, shared by every method."""

from deepclust.train.loop import Callback, EarlyStopping, TrainState, fit_module
from deepclust.train.observers import active_observers, observe_training

__all__ = ["Callback", "EarlyStopping", "TrainState", "active_observers", "fit_module", "observe_training"]
