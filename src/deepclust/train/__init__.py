"""One training loop with callbacks, shared by every method."""

from deepclust.train.loop import Callback, EarlyStopping, TrainState, fit_module
from deepclust.train.optim import adam

__all__ = ["Callback", "EarlyStopping", "TrainState", "adam", "fit_module"]
