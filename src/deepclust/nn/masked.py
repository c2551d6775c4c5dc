"""Masked autoencoder for rows: hide some features, reconstruct them (MAE / VIME style)."""

from __future__ import annotations

import torch

from deepclust.nn.augment import marginal_draws, random_mask
from deepclust.nn.autoencoder import Autoencoder

FILLS = ("zero", "marginal")


def masked_reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, visible_weight: float) -> dict[str, torch.Tensor]:
    """Mean squared error on the masked entries, plus ``visible_weight`` times that on the rest.

    ``x_hat``, ``x`` : (B, d); ``mask`` : (B, d) bool, True where the encoder saw no value.

    Examples
    --------
    >>> x = torch.zeros(1, 2)
    >>> terms = masked_reconstruction_loss(torch.tensor([[1.0, 2.0]]), x, torch.tensor([[True, False]]), 0.5)
    >>> {k: float(v) for k, v in terms.items()}
    {'loss': 3.0, 'masked': 1.0, 'visible': 4.0}
    """
    err = (x_hat.float() - x.float()) ** 2
    m = mask.float()
    masked = (err * m).sum() / m.sum().clamp_min(1.0)
    visible = (err * (1 - m)).sum() / (1 - m).sum().clamp_min(1.0)
    return {"loss": masked + visible_weight * visible, "masked": masked, "visible": visible}


class MaskedAutoencoder(Autoencoder):
    """An :class:`Autoencoder` trained to fill in hidden features.

    Same layers (and saved weights) as the autoencoder it is made from; only :meth:`loss`
    differs: each row hides a random fraction of its features from the encoder, replaced by
    zero or by draws from each feature's marginal, and the decoder must predict them (He et
    al. 2022; Yoon et al. 2020).

    Examples
    --------
    >>> from deepclust.nn import mlp_autoencoder
    >>> ae = mlp_autoencoder(6, (8,), 2)
    >>> mae = MaskedAutoencoder(ae.encoder, ae.decoder)
    >>> x = torch.zeros(4, 6)
    >>> sorted(mae.loss(x, mask_ratio=0.5, generator=torch.Generator().manual_seed(0)))
    ['loss', 'masked', 'visible']
    """

    def loss(  # type: ignore[override]
        self,
        x: torch.Tensor,
        *,
        mask_ratio: float,
        generator: torch.Generator,
        fill: str = "marginal",
        visible_weight: float = 0.1,
        reference: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Named loss terms of one batch ``x`` (B, d): ``loss``, ``masked``, ``visible``.

        Parameters
        ----------
        x : Tensor (B, d)
        mask_ratio : float
            Probability that an entry is hidden (at least one per row).
        generator : torch.Generator
            CPU generator for the mask and the fill values.
        fill : {"zero", "marginal"}, default="marginal"
        visible_weight : float, default=0.1
        reference : Tensor (N, d) or None
            Rows whose columns give the marginals for ``fill="marginal"``: the training data,
            or None for the batch itself (data streamed from disk).
        """
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {FILLS}, got {fill!r}")
        mask = random_mask(x.shape, mask_ratio, generator, x.device)  # (B, d)
        filler = marginal_draws(x if reference is None else reference, x.shape, generator) if fill == "marginal" else torch.zeros_like(x)
        return masked_reconstruction_loss(self(torch.where(mask, filler, x)), x, mask, visible_weight)
