"""An encoder with a projection head, the network of contrastive learning (SimCLR), and its NT-Xent loss."""

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

    def loss(self, view1: torch.Tensor, view2: torch.Tensor, temperature: float = 0.5) -> dict[str, torch.Tensor]:
        """Named loss terms of one batch of two views ``(B, n_features)`` each: ``{"loss": NT-Xent}``.

        Both views go through the network in one pass, so batch norm sees them together; a
        batch of one sample still gives two rows (its views) and a loss of 0.
        """
        b = view1.shape[0]
        z = self(torch.cat([view1, view2]))  # (2B, projection_dim)
        return {"loss": nt_xent(z[:b], z[b:], temperature)}


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's normalised temperature-scaled cross-entropy (NT-Xent) of two views.

    Row ``i`` of ``z1`` and row ``i`` of ``z2`` are two views of one sample (a positive pair);
    the other ``2B - 2`` rows of the batch are its negatives. With cosine similarities
    ``s_ab`` and temperature ``t``, the loss of anchor ``a`` with positive ``p`` is
    ``-log(exp(s_ap / t) / sum_{b != a} exp(s_ab / t))``, averaged over all ``2B`` anchors
    (Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations",
    ICML 2020, eq. 1). Computed in float32 even under bf16 autocast: similarities near 1 need
    more than bf16's 8 bits of mantissa once divided by a small temperature.

    Parameters
    ----------
    z1, z2 : Tensor of shape (B, d)
        Projections of the two views; they are L2-normalised here.
    temperature : float, default=0.5

    Returns
    -------
    Scalar tensor (float32).

    Examples
    --------
    Two orthogonal samples, each view identical to the other: every anchor has similarity 1
    with its positive and 0 with both negatives, so the loss is ``log((e + 2) / e)``.

    >>> z = torch.eye(2)
    >>> round(float(nt_xent(z, z, temperature=1.0)), 4)
    0.5514
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"the two views must have the same shape (B, d), got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    b = z1.shape[0]
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z = torch.nn.functional.normalize(torch.cat([z1, z2]).float(), dim=1)  # (2B, d)
        sim = z @ z.T / temperature  # (2B, 2B)
        sim = sim.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
        positives = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
        return torch.nn.functional.cross_entropy(sim, positives)
