"""One training loop with callbacks, shared by every method."""

from deepclust.train.loop import Callback, EarlyStopping, TrainState, fit_module

__all__ = ["Callback", "EarlyStopping", "TrainState", "fit_module"]
