"""Torch modules only: tensor in, tensor out. No numpy, files or devices here."""

from deepclust.nn.autoencoder import Autoencoder, mlp_autoencoder
from deepclust.nn.mlp import MLP, activation_layer, glorot_uniform_

__all__ = ["Autoencoder", "MLP", "activation_layer", "glorot_uniform_", "mlp_autoencoder"]
