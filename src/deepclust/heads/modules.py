"""The clustering phase of DEC/IDEC, DCN and VaDE as modules: a network, a head, named loss terms.

Each module owns its forward pass and returns its loss as a dict of scalar tensors (``"loss"``
is the total that is minimised; every other entry is logged per epoch by
:func:`deepclust.train.fit_module`). Estimators in :mod:`deepclust.methods` only build them,
hand them to the loop and read the result; no loss is written inside an estimator.

The attribute names (``autoencoder``/``head``, ``vae``/``prior``) are the keys the
``nn.ModuleDict`` of earlier versions used, so the parameter order and the state-dict keys
(checkpoints) are unchanged.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from deepclust.heads.gmm_prior import GMMPrior, vade_loss
from deepclust.heads.kmeans import KMeansHead
from deepclust.heads.student_t import StudentTHead
from deepclust.losses import reconstruction_mse


class DECModule(nn.Module):
    """DEC (``gamma=None``) or IDEC: an autoencoder and a :class:`StudentTHead`.

    ``forward(x, p)`` returns ``{"loss", "clustering"}`` for DEC, where ``clustering`` is
    ``KL(P || Q)`` for the batch's targets ``p`` (B, K); IDEC adds ``reconstruction`` (the
    mean squared error per entry) and minimises ``reconstruction + gamma * clustering``
    (Guo et al., IJCAI 2017, eq. 4).

    Parameters
    ----------
    autoencoder : nn.Module with ``encode`` and ``decode``
    head : StudentTHead
    gamma : float or None, default=None
        None: DEC (no reconstruction term, the decoder is not trained).
    """

    def __init__(self, autoencoder: nn.Module, head: StudentTHead, gamma: float | None = None) -> None:
        super().__init__()
        self.autoencoder, self.head = autoencoder, head
        self.gamma = None if gamma is None else float(gamma)

    def forward(self, x: torch.Tensor, p: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.autoencoder.encode(x)  # (B, d)
        kl = self.head.loss(z, p)
        if self.gamma is None:
            return {"loss": kl, "clustering": kl}
        rec = reconstruction_mse(self.autoencoder.decode(z), x)
        return {"loss": rec + self.gamma * kl, "reconstruction": rec, "clustering": kl}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The codes (B, d): callbacks that watch the embedding ask the module for it."""
        return self.autoencoder.encode(x)

    def trainable_parameters(self) -> list[nn.Parameter]:
        """DEC trains the encoder and the centres (the decoder is dropped); IDEC trains everything."""
        if self.gamma is not None:
            return list(self.parameters())
        encoder = getattr(self.autoencoder, "encoder", self.autoencoder)
        return [*encoder.parameters(), *self.head.parameters()]


class DCNModule(nn.Module):
    """DCN: an autoencoder and a :class:`KMeansHead`, alternating per batch (Yang et al. 2017, Alg. 1).

    ``forward(x)`` assigns the batch's codes to their nearest centroids and moves the
    centroids (closed form, no gradient; only while training), then returns
    ``{"loss": reconstruction + lambd / 2 * clustering, "reconstruction", "clustering"}``.
    The assignments are kept in :attr:`last_assignments` for callbacks that watch cluster
    sizes.

    Parameters
    ----------
    autoencoder : nn.Module with ``encode`` and ``decode``
    head : KMeansHead
    lambd : float, default=1.0
    normalize : bool, default=True
        ``clustering`` is the batch's mean squared distance to the assigned centroids divided by
        the batch codes' spread (their mean squared distance to the batch mean, with gradient):
        the within-cluster share of the codes' scatter, which shrinking the codes does not
        lower. False is the paper's term, the plain mean squared distance. A batch of one
        sample has no spread, so its k-means term is 0.
    reduce : callable or None, default=None
        Adds up the centroid updates over processes under data parallelism (the caller's
        ``all_reduce_sum``), so every rank holds the same centroids.
    """

    def __init__(self, autoencoder: nn.Module, head: KMeansHead, lambd: float = 1.0, reduce: Callable | None = None, normalize: bool = True) -> None:
        super().__init__()
        self.autoencoder, self.head = autoencoder, head
        self.weight = 0.5 * float(lambd)
        self.normalize = bool(normalize)
        self.reduce = reduce
        self.last_assignments: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.autoencoder.encode(x)  # (B, d)
        with torch.no_grad():  # the clustering half of the alternation, in closed form
            s = self.head.predict(z.detach())
            if self.training:
                self.head.update_centers(z.detach(), s, reduce=self.reduce)
        self.last_assignments = s
        rec = reconstruction_mse(self.autoencoder.decode(z), x)
        clu = self.head.loss(z, s)
        if self.normalize:  # a one-sample batch (an epoch's remainder) has no spread: its k-means term is 0
            zf = z.float()
            spread = ((zf - zf.mean(dim=0)) ** 2).sum(dim=1).mean()
            clu = clu / spread.clamp_min(1e-12) if len(zf) > 1 else clu * 0.0
        return {"loss": rec + self.weight * clu, "reconstruction": rec, "clustering": clu}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The codes (B, d)."""
        return self.autoencoder.encode(x)

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The autoencoder's; the centroids move in closed form."""
        return list(self.autoencoder.parameters())


class VaDEModule(nn.Module):
    """VaDE: a VAE and a :class:`GMMPrior`; ``forward(x)`` is the negative ELBO's terms.

    Returns ``{"loss", "reconstruction", "kl"}`` from :func:`deepclust.heads.vade_loss`
    (Jiang et al., IJCAI 2017, eq. 14 negated), with ``gamma`` computed from the
    reparameterised sample as in the reference code.

    Parameters
    ----------
    vae : deepclust.nn.VAE
    prior : GMMPrior
    recon : {"bce", "mse"}, default="bce"
    """

    def __init__(self, vae: nn.Module, prior: GMMPrior, recon: str = "bce") -> None:
        super().__init__()
        self.vae, self.prior, self.recon = vae, prior, recon

    def encode(self, x: torch.Tensor):
        """The VAE's posterior ``(mu, logvar)``, each (B, d)."""
        return self.vae.encode(x)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_hat, mu, logvar, z = self.vae(x)
        return vade_loss(x, x_hat, mu, logvar, self.prior, z=z, recon=self.recon)
