"""deepclust: deep clustering, from data to labels, metrics, plots and a saved model."""

from deepclust._version import __version__

__all__ = ["__version__"]
