"""MaskedEmbedding: an autoencoder trained to fill in masked features (MAE-style, tabular)."""

from __future__ import annotations

from typing import Sequence

from deepclust.methods._neural import NeuralEmbedding
from deepclust.methods._params import Interval, Real, StrOptions
from deepclust.methods._persist import register_model
from deepclust.methods.embedding import AutoencoderEmbedding
from deepclust.nn.masked import FILLS, MaskedAutoencoder, masked_reconstruction_loss

__all__ = ["MaskedEmbedding", "masked_reconstruction_loss"]  # the loss now lives in deepclust.nn.masked


@register_model
class MaskedEmbedding(AutoencoderEmbedding):
    """Learn an embedding by reconstructing randomly masked features (masked autoencoding).

    Each batch hides a random ``mask_ratio`` of every row's features from the encoder,
    replaced by zero (the mean of standardised features) or by draws from each feature's
    empirical marginal (``mask_fill="marginal"``, VIME / SCARF style, so a hidden entry cannot be
    told from a real one); the decoder must predict the hidden values from the visible ones
    (He et al. 2022 for images; Yoon et al. 2020 and Majmundar et al. 2022 for tables). The
    loss weighs the masked entries and, by ``visible_weight``, the visible ones
    (:class:`deepclust.nn.MaskedAutoencoder`). ``transform`` encodes the complete rows.

    Parameters
    ----------
    latent_dim, hidden_dims, network, epochs, batch_size, lr, patience, precision, device, random_state, verbose
        As in :class:`AutoencoderEmbedding`; ``network`` may be a conv spec (then whole
        pixels are masked).
    mask_ratio : float, default=0.3
        Fraction of features hidden in each row (at least one).
    mask_fill : {"zero", "marginal"}, default="marginal"
        For data streamed from disk, the marginal draws come from the rows of the current
        minibatch (the whole data set is not in memory).
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

    _parameter_constraints = {
        **NeuralEmbedding._parameter_constraints,
        "mask_ratio": [Interval(Real, 0, 1, closed="neither")],
        "mask_fill": [StrOptions(set(FILLS))],
        "visible_weight": [Interval(Real, 0, None, closed="left")],
    }
    _desc = "masked autoencoder"
    _capture_safe = False  # the masks are drawn from the training generator each batch: no CUDA graph

    def __init__(
        self, latent_dim: int = 10, hidden_dims: Sequence[int] | str = "auto", network=None, mask_ratio: float = 0.3, mask_fill: str = "marginal",
        visible_weight: float = 0.1, epochs: int | None = None, steps: int | None = None, batch_size: int = 256, lr: float = 1e-3, patience: int | None = None, precision: str = "auto",
        device: str = "auto", random_state=None, verbose: bool = False,
    ) -> None:
        self.latent_dim, self.hidden_dims, self.network = latent_dim, hidden_dims, network
        self.mask_ratio, self.mask_fill, self.visible_weight = mask_ratio, mask_fill, visible_weight
        self.epochs, self.batch_size, self.lr, self.patience = epochs, batch_size, lr, patience
        self.steps = steps
        self.precision, self.device, self.random_state, self.verbose = precision, device, random_state, verbose

    def _check_extra_params(self) -> None:
        """Nothing beyond the declared constraints (no ``augment``: masking is the augmentation)."""

    def _output(self) -> str:
        return "linear"  # masked reconstruction is a squared error (no ``recon`` option)

    @classmethod
    def _build(cls, arch: dict) -> MaskedAutoencoder:
        ae = AutoencoderEmbedding._build(arch)
        return MaskedAutoencoder(ae.encoder, ae.decoder)  # the same layers: models saved as autoencoders load

    def _adopt(self, module, arch: dict) -> MaskedAutoencoder:
        return MaskedAutoencoder(module.encoder, module.decoder)

    def _loss(self, module, x, ctx):
        return module.loss(
            x, mask_ratio=float(self.mask_ratio), generator=ctx.generator, fill=self.mask_fill, visible_weight=float(self.visible_weight), reference=ctx.reference
        )
