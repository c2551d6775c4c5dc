"""Torch modules only: tensor in, tensor out. No numpy, files or devices here."""

from deepclust.nn.augment import ImageAugment, TabularAugment
from deepclust.nn.autoencoder import Autoencoder, mlp_autoencoder
from deepclust.nn.contrastive import ContrastiveNet
from deepclust.nn.conv import Crop2d, Reshape
from deepclust.nn.masked import MaskedAutoencoder
from deepclust.nn.mlp import MLP, activation_layer, glorot_uniform_
from deepclust.nn.spec import build_autoencoder, load_spec
from deepclust.nn.vae import VAE, elbo_loss, gaussian_kl, mlp_vae, vae_from_autoencoder

__all__ = [
    "MLP",
    "VAE",
    "Autoencoder",
    "ContrastiveNet",
    "ImageAugment",
    "MaskedAutoencoder",
    "TabularAugment",
    "Crop2d",
    "Reshape",
    "activation_layer",
    "build_autoencoder",
    "elbo_loss",
    "gaussian_kl",
    "glorot_uniform_",
    "load_spec",
    "mlp_autoencoder",
    "mlp_vae",
    "vae_from_autoencoder",
]
