"""MaskedEmbedding: an autoencoder trained to fill in masked features (MAE-style, tabular)."""

from __future__ import annotations

import logging
from typing import Sequence

import torch

from deepclust.methods._base import check_array_2d, draw_seed, resolve_device, resolve_precision, seed_stream, to_tensor, torch_seeded
from deepclust.methods._persist import register_model
from deepclust.methods.embedding import AutoencoderEmbedding, _check_network
from deepclust.nn import glorot_uniform_
from deepclust.nn.augment import marginal_draws, random_mask
from deepclust.train import EarlyStopping, adam, fit_module

logger = logging.getLogger(__name__)

_FILLS = ("zero", "marginal")


def masked_reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, visible_weight: float) -> dict[str, torch.Tensor]:
    """Mean squared error on the masked entries, plus ``visible_weight`` times that on the rest.

    ``x_hat``, ``x`` : (B, d); ``mask`` : (B, d) bool, True where the encoder saw no value.
    """
    err = (x_hat.float() - x.float()) ** 2
    m = mask.float()
    masked = (err * m).sum() / m.sum().clamp_min(1.0)
    visible = (err * (1 - m)).sum() / (1 - m).sum().clamp_min(1.0)
    return {"loss": masked + visible_weight * visible, "masked": masked, "visible": visible}


@register_model
class MaskedEmbedding(AutoencoderEmbedding):
    """Learn an embedding by reconstructing randomly masked features (masked autoencoding).

    Each batch hides a random ``mask_ratio`` of every row's features from the encoder,
    replaced by zero (the mean of standardised features) or by draws from each feature's
    empirical marginal (``mask_fill="marginal"``, VIME / SCARF style, so a hidden entry cannot be
    told from a real one); the decoder must predict the hidden values from the visible ones
    (He et al. 2022 for images; Yoon et al. 2020 and Majmundar et al. 2022 for tables). The
    loss weighs the masked entries and, by ``visible_weight``, the visible ones.
    ``transform`` encodes the complete rows.

    Parameters
    ----------
    latent_dim, hidden_dims, network, epochs, batch_size, lr, patience, precision, device, random_state, verbose
        As in :class:`AutoencoderEmbedding`; ``network`` may be a conv spec (then whole
        pixels are masked).
    mask_ratio : float, default=0.3
        Fraction of features hidden in each row (at least one).
    mask_fill : {"zero", "marginal"}, default="marginal"
    visible_weight : float, default=0.1

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((60, 8)).astype("float32")
    >>> MaskedEmbedding(latent_dim=2, hidden_dims=(16,), epochs=2, random_state=0).fit_transform(X).shape
    (60, 2)

    References
    ----------
    He, Chen, Xie, Li, Dollár & Girshick (2022). Masked autoencoders are scalable vision
    learners. CVPR.
    Yoon, Zhang, Jordon & van der Schaar (2020). VIME: extending the success of self- and
    semi-supervised learning to tabular domain. NeurIPS.
    """

    def __init__(
        self,
        latent_dim: int = 10,
        hidden_dims: Sequence[int] = (500, 500, 2000),
        network=None,
        mask_ratio: float = 0.3,
        mask_fill: str = "marginal",
        visible_weight: float = 0.1,
        epochs: int = 100,
        batch_size: int = 256,
        lr: float = 1e-3,
        patience: int | None = None,
        precision: str = "auto",
        device: str = "auto",
        random_state=None,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            latent_dim=latent_dim, hidden_dims=hidden_dims, network=network, epochs=epochs, batch_size=batch_size, lr=lr,
            patience=patience, precision=precision, device=device, random_state=random_state, verbose=verbose,
        )
        self.mask_ratio = mask_ratio
        self.mask_fill = mask_fill
        self.visible_weight = visible_weight

    def _check_params(self) -> None:
        super()._check_params()
        if not (isinstance(self.mask_ratio, (int, float)) and 0 < self.mask_ratio < 1):
            raise ValueError(f"mask_ratio must be in (0, 1), got {self.mask_ratio!r}")
        if self.mask_fill not in _FILLS:
            raise ValueError(f"mask_fill must be one of {_FILLS}, got {self.mask_fill!r}")
        if not (isinstance(self.visible_weight, (int, float)) and self.visible_weight >= 0):
            raise ValueError(f"visible_weight must be a non-negative number, got {self.visible_weight!r}")

    def fit(self, X, y=None):
        """Train on ``X`` (n_samples, n_features) by masked reconstruction; ``y`` is ignored."""
        self._check_params()
        X = check_array_2d(X, min_samples=2)
        device = resolve_device(self.device)
        autocast = resolve_precision(self.precision, device)
        seed = draw_seed(seed_stream(self.random_state))
        arch, user_ae = self._architecture(X.shape[1])
        Xt = to_tensor(X, device)
        ratio, fill, vw = float(self.mask_ratio), self.mask_fill, float(self.visible_weight)
        with torch_seeded(seed, device) as gen:
            ae = glorot_uniform_(self._build(arch), generator=gen) if user_ae is None else user_ae
            ae = ae.to(device)
            arch["latent_dim"] = _check_network(ae, X.shape[1], device)
            self._arch = arch

            def loss_fn(module, batch, state):
                x = batch[0]
                mask = random_mask(x.shape, ratio, gen, x.device)  # (B, d)
                filler = marginal_draws(Xt, x.shape, gen) if fill == "marginal" else torch.zeros_like(x)
                return masked_reconstruction_loss(module(torch.where(mask, filler, x)), x, mask, vw)

            state = fit_module(
                ae,
                loss_fn,
                (Xt,),
                epochs=int(self.epochs),
                batch_size=int(self.batch_size),
                optimizer=adam(ae.parameters(), lr=self.lr),
                generator=gen,
                callbacks=[EarlyStopping(self.patience)] if self.patience else [],
                autocast_dtype=autocast,
                progress=bool(self.verbose),
                desc="masked autoencoder",
            )
        if state.stop_reason:
            logger.info(state.stop_reason)
        self.autoencoder_ = ae
        self.history_ = state.history
        self.n_features_in_ = X.shape[1]
        return self
