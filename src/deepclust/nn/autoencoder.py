"""Autoencoder: an encoder and a decoder, and its reconstruction loss (no fit, no state beyond weights)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from deepclust.nn.mlp import MLP


OUTPUTS = ("linear", "bernoulli")


class Autoencoder(nn.Module):
    """``decode(encode(x))``: tensor in, tensor out.

    Parameters
    ----------
    encoder : nn.Module
        Maps a batch ``(B, ...)`` to codes ``(B, latent_dim)``.
    decoder : nn.Module
        Maps codes back to the input shape.
    output : {"linear", "bernoulli"}, default="linear"
        How the decoder output is read: the reconstruction itself, trained on the mean
        squared error ("linear"), or the *logits* of a Bernoulli likelihood, trained on the
        binary cross-entropy summed over features (for data in [0, 1], as VaDE's reference
        pretrains). :meth:`mean` gives the reconstruction in data space for both.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, *, output: str = "linear") -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.output = output

    def extra_repr(self) -> str:
        return f"output={self.output!r}"

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def mean(self, z: torch.Tensor) -> torch.Tensor:
        """The reconstruction in data space (B, n_features): the decoder output, through a
        sigmoid for ``output="bernoulli"`` (probabilities)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.output == "bernoulli" else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def loss(self, x: torch.Tensor, target: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms of one batch: ``{"loss": ...}`` of ``self(x)`` against ``target``
        (default ``x``; a denoising or mixup run passes the clean rows).

        The mean squared error over all entries for ``output="linear"``; for "bernoulli", the
        binary cross-entropy of the logits summed over features, averaged over the batch
        (:func:`reconstruction_bce`). ``x``, ``target`` : (B, n_features).
        """
        rec = reconstruction_bce if self.output == "bernoulli" else reconstruction_mse
        return {"loss": rec(self(x), x if target is None else target)}


def reconstruction_mse(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared reconstruction error over all entries, as in DEC/N2D pretraining.

    Computed in float32 even under bfloat16 autocast, so the loss value is comparable.
    """
    return torch.mean((x_hat.float() - x.float()) ** 2)


def reconstruction_bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood: BCE of ``logits`` against ``x`` in [0, 1], summed over
    features and averaged over the batch (VaDE's reference pretraining: ``original_dim *
    binary_crossentropy``), in float32.

    Examples
    --------
    >>> round(float(reconstruction_bce(torch.zeros(2, 3), torch.ones(2, 3))), 4)  # 3 * log 2
    2.0794
    """
    logits, x = logits.float().reshape(logits.shape[0], -1), x.float().reshape(x.shape[0], -1)
    return nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1).mean()


def mlp_autoencoder(
    n_features: int,
    hidden_dims: Sequence[int] = (500, 500, 2000),
    latent_dim: int = 10,
    *,
    activation: str = "relu",
    batch_norm: bool = False,
    output: str = "linear",
) -> Autoencoder:
    """The symmetric MLP autoencoder of DEC and N2D: ``d-500-500-2000-k`` and its mirror.

    Embedding and reconstruction layers are linear (Xie et al. 2016; McConville et al. 2020);
    with ``output="bernoulli"`` the last layer's output is read as logits (see :class:`Autoencoder`).

    Examples
    --------
    >>> ae = mlp_autoencoder(64, (32,), 4)
    >>> ae(torch.zeros(3, 64)).shape
    torch.Size([3, 64])
    """
    dims = [int(n_features), *[int(h) for h in hidden_dims], int(latent_dim)]
    enc = MLP(dims, activation=activation, batch_norm=batch_norm)
    dec = MLP(dims[::-1], activation=activation, batch_norm=batch_norm)
    return Autoencoder(enc, dec, output=output)
