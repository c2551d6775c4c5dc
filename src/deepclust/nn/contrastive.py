"""An encoder with a projection head, the network of contrastive learning (SimCLR)."""

from __future__ import annotations

import torch
from torch import nn

from deepclust.nn.mlp import MLP


class ContrastiveNet(nn.Module):
    """``encode(x)`` is the representation; ``forward(x)`` its projection for the loss.

    SimCLR computes the contrastive loss on a small MLP projection ``g(h)`` of the
    representation ``h = f(x)`` and keeps ``h`` for downstream use, which works better than
    using ``g(h)`` itself (Chen et al. 2020, section 4.2).

    Parameters
    ----------
    encoder : nn.Module
        ``(B, n_features) -> (B, latent_dim)``.
    latent_dim : int
    projection_dims : sequence of int, default=(256, 64)
        Widths of the projection head after ``latent_dim``: hidden layers with batch norm
        and ReLU, the last one linear.

    Examples
    --------
    >>> net = ContrastiveNet(MLP((8, 16, 4)), 4, (16, 3))
    >>> net.encode(torch.zeros(2, 8)).shape, net(torch.zeros(2, 8)).shape
    (torch.Size([2, 4]), torch.Size([2, 3]))
    """

    def __init__(self, encoder: nn.Module, latent_dim: int, projection_dims=(256, 64)) -> None:
        super().__init__()
        self.encoder = encoder
        dims = [int(latent_dim), *[int(d) for d in projection_dims]]
        self.projector = MLP(dims, batch_norm=True) if len(dims) > 1 else nn.Identity()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.encoder(x))
