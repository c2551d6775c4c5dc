"""Autoencoder: an encoder and a decoder, and its reconstruction loss (no fit, no state beyond weights)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from deepclust.nn.mlp import MLP


class Autoencoder(nn.Module):
    """``decode(encode(x))``: tensor in, tensor out.

    Parameters
    ----------
    encoder : nn.Module
        Maps a batch ``(B, ...)`` to codes ``(B, latent_dim)``.
    decoder : nn.Module
        Maps codes back to the input shape.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def loss(self, x: torch.Tensor, target: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms of one batch: ``{"loss": mean squared error}`` of ``self(x)`` against
        ``target`` (default ``x``; a denoising or mixup run passes the clean rows).

        ``x``, ``target`` : (B, n_features).
        """
        return {"loss": reconstruction_mse(self(x), x if target is None else target)}


def reconstruction_mse(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared reconstruction error over all entries, as in DEC/N2D pretraining.

    Computed in float32 even under bfloat16 autocast, so the loss value is comparable.
    """
    return torch.mean((x_hat.float() - x.float()) ** 2)


def mlp_autoencoder(
    n_features: int,
    hidden_dims: Sequence[int] = (500, 500, 2000),
    latent_dim: int = 10,
    *,
    activation: str = "relu",
    batch_norm: bool = False,
) -> Autoencoder:
    """The symmetric MLP autoencoder of DEC and N2D: ``d-500-500-2000-k`` and its mirror.

    Embedding and reconstruction layers are linear (Xie et al. 2016; McConville et al. 2020).

    Examples
    --------
    >>> ae = mlp_autoencoder(64, (32,), 4)
    >>> ae(torch.zeros(3, 64)).shape
    torch.Size([3, 64])
    """
    dims = [int(n_features), *[int(h) for h in hidden_dims], int(latent_dim)]
    enc = MLP(dims, activation=activation, batch_norm=batch_norm)
    dec = MLP(dims[::-1], activation=activation, batch_norm=batch_norm)
    return Autoencoder(enc, dec)
