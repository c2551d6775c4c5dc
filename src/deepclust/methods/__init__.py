"""The scikit-learn-compatible estimators users call."""

from deepclust.methods._persist import load_model
from deepclust.methods.clustering import AutoencoderClustering
from deepclust.methods.embedding import AutoencoderEmbedding
from deepclust.methods.n2d import N2D

__all__ = ["AutoencoderClustering", "AutoencoderEmbedding", "N2D", "load_model"]
