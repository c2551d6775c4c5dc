"""Variational autoencoder: a Gaussian encoder ``q(z|x)`` and a decoder, plus its ELBO.

Tensor in, tensor out; no numpy, files or devices (the model follows its input). The loss
functions are pure and live here next to the module they belong to.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from deepclust.nn.mlp import MLP

OUTPUTS = ("linear", "bernoulli")
RECONS = ("mse", "bce")


class VAE(nn.Module):
    """``x -> (mu, logvar) -> z = mu + sigma * eps -> x_hat`` (Kingma & Welling, ICLR 2014).

    Parameters
    ----------
    encoder_body : nn.Module
        Maps ``(B, ...)`` to hidden features ``(B, h)`` (may be ``nn.Identity``).
    mu_layer, logvar_layer : nn.Module
        Map hidden features to the posterior mean and log-variance, each ``(B, latent_dim)``.
    decoder : nn.Module
        Maps ``(B, latent_dim)`` to the decoder output: the mean for a Gaussian likelihood,
        the *logits* for a Bernoulli one.
    output : {"linear", "bernoulli"}, default="linear"
        How to read the decoder output: :meth:`mean` applies a sigmoid for "bernoulli".

    Examples
    --------
    >>> vae = mlp_vae(8, (16,), 2)
    >>> x_hat, mu, logvar, z = vae(torch.zeros(3, 8))
    >>> x_hat.shape, mu.shape
    (torch.Size([3, 8]), torch.Size([3, 2]))
    """

    def __init__(self, encoder_body: nn.Module, mu_layer: nn.Module, logvar_layer: nn.Module, decoder: nn.Module, *, output: str = "linear") -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.encoder_body = encoder_body
        self.mu_layer = mu_layer
        self.logvar_layer = logvar_layer
        self.decoder = decoder
        self.output = output

    def extra_repr(self) -> str:
        return f"output={self.output!r}"

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters ``(mu, logvar)``, each (B, latent_dim)."""
        h = self.encoder_body(x)
        return self.mu_layer(h), self.logvar_layer(h)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """One draw ``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``, in float32.

        ``eps`` comes from the global torch RNG; estimators run training inside
        :func:`deepclust.methods._base.torch_seeded`, which seeds a forked copy of it.
        """
        mu, logvar = mu.float(), logvar.float()
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output (B, n_features): the mean ("linear") or the logits ("bernoulli")."""
        return self.decoder(z)

    def mean(self, z: torch.Tensor) -> torch.Tensor:
        """The data-space mean of ``p(x|z)``: the decoder output, through a sigmoid for "bernoulli"."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.output == "bernoulli" else out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x_hat, mu, logvar, z)`` with one reparameterised sample ``z`` (B, latent_dim)."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decoder(z), mu, logvar, z

    def loss(self, x: torch.Tensor, target: torch.Tensor | None = None, *, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Named terms of the negative ELBO of one batch: ``loss``, ``reconstruction``, ``kl``.

        ``x`` (B, n_features) is encoded; ``target`` (default ``x``; the clean rows when ``x``
        is augmented) is what the decoder must explain, under the likelihood that ``output``
        names (Gaussian for "linear", Bernoulli for "bernoulli"). See :func:`elbo_loss`.
        """
        x_hat, mu, logvar, _ = self(x)
        recon = "bce" if self.output == "bernoulli" else "mse"
        return elbo_loss(x if target is None else target, x_hat, mu, logvar, recon=recon, beta=beta)


def mlp_vae(
    n_features: int,
    hidden_dims: Sequence[int] = (500, 500, 2000),
    latent_dim: int = 10,
    *,
    output: str = "linear",
    activation: str = "relu",
) -> VAE:
    """The MLP VAE of VaDE: ``d-500-500-2000`` body, linear mean and log-variance heads, mirrored decoder.

    Layer names match :func:`deepclust.nn.mlp_autoencoder` so that a pretrained autoencoder's
    weights map one to one (see :func:`vae_from_autoencoder`). The decoder's last layer is
    linear; with ``output="bernoulli"`` it gives logits.

    Examples
    --------
    >>> vae = mlp_vae(64, (32,), 4, output="bernoulli")
    >>> vae.mean(torch.zeros(2, 4)).shape
    torch.Size([2, 64])
    """
    dims = [int(n_features), *[int(h) for h in hidden_dims], int(latent_dim)]
    if len(dims) < 2 or min(dims) < 1:
        raise ValueError(f"mlp_vae needs positive widths, got n_features={n_features}, hidden_dims={hidden_dims}, latent_dim={latent_dim}")
    encoder = MLP(dims, activation=activation)
    layers = list(encoder.children())
    body = nn.Sequential(*layers[:-1])  # hidden layers with their activations; empty = identity
    mu_layer = layers[-1]
    logvar_layer = nn.Linear(mu_layer.in_features, mu_layer.out_features)
    decoder = MLP(dims[::-1], activation=activation)
    return VAE(body, mu_layer, logvar_layer, decoder, output=output)


def vae_from_autoencoder(autoencoder: nn.Module, *, output: str = "linear") -> VAE:
    """A VAE initialised from a pretrained autoencoder, as VaDE starts (Jiang et al. 2017, Sec. 4).

    Encoder body and mean layer are copies of the autoencoder's encoder (its last layer must
    be ``nn.Linear``: the embedding layer), the decoder is a copy of its decoder; the
    log-variance layer is new, with zero weights and zero bias (the caller may set the bias).
    The autoencoder itself is not changed.

    Raises
    ------
    ValueError
        If the autoencoder's encoder is not a sequence of layers ending in ``nn.Linear``.
    """
    encoder = getattr(autoencoder, "encoder", None)
    decoder = getattr(autoencoder, "decoder", None)
    if not isinstance(encoder, nn.Sequential) or decoder is None or len(encoder) == 0 or not isinstance(encoder[-1], nn.Linear):
        raise ValueError(
            f"cannot build a VAE from {type(autoencoder).__name__}: its encoder must be a sequence of layers ending in nn.Linear "
            "(the autoencoders of deepclust.nn.mlp_autoencoder are)"
        )
    layers = [copy.deepcopy(m) for m in encoder.children()]
    mu_layer = layers[-1]
    ref = mu_layer.weight
    logvar_layer = nn.Linear(mu_layer.in_features, mu_layer.out_features).to(device=ref.device, dtype=ref.dtype)
    with torch.no_grad():
        logvar_layer.weight.zero_()
        logvar_layer.bias.zero_()
    return VAE(nn.Sequential(*layers[:-1]), mu_layer, logvar_layer, copy.deepcopy(decoder), output=output)


# -- losses ---------------------------------------------------------------------------------
def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, diag(exp(logvar))) || N(0, I))`` per sample, shape (B,).

    ``-1/2 * sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))`` (Kingma & Welling 2014, App. B).

    Examples
    --------
    >>> gaussian_kl(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2))
    tensor([0.5000])
    """
    mu, logvar = mu.float(), logvar.float()
    return -0.5 * torch.sum(1.0 + logvar - mu * mu - torch.exp(logvar), dim=-1)


def reconstruction_nll(x: torch.Tensor, x_hat: torch.Tensor, recon: str = "mse") -> torch.Tensor:
    """Per-sample reconstruction term, summed over features, shape (B,).

    ``"mse"``: ``sum_j (x_j - x_hat_j)^2``, the Gaussian negative log-likelihood up to scale
    and constant, as VaDE's reference code uses for non-binary data (``original_dim * mse``).
    ``"bce"``: Bernoulli negative log-likelihood with ``x_hat`` the decoder's *logits*
    (``x`` in [0, 1]), computed by ``binary_cross_entropy_with_logits`` for stability.
    """
    x, x_hat = x.float(), x_hat.float()
    x, x_hat = x.reshape(x.shape[0], -1), x_hat.reshape(x_hat.shape[0], -1)
    if recon == "mse":
        return torch.sum((x_hat - x) ** 2, dim=1)
    if recon == "bce":
        return nn.functional.binary_cross_entropy_with_logits(x_hat, x, reduction="none").sum(dim=1)
    raise ValueError(f"recon must be one of {RECONS}, got {recon!r}")


def elbo_loss(x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, *, recon: str = "mse", beta: float = 1.0) -> dict[str, torch.Tensor]:
    """Negative ELBO of a VAE with a standard normal prior, averaged over the batch.

    ``loss = mean_i [ rec_i + beta * KL_i ]`` with ``rec`` from :func:`reconstruction_nll`
    and ``KL`` from :func:`gaussian_kl` (``beta=1``: the ELBO; ``beta>1``: beta-VAE).

    Parameters
    ----------
    x : Tensor (B, n_features)
    x_hat : Tensor (B, n_features)
        Decoder output: the mean for "mse", logits for "bce".
    mu, logvar : Tensor (B, latent_dim)
    recon : {"mse", "bce"}
    beta : float

    Returns
    -------
    dict with scalar tensors ``loss``, ``reconstruction``, ``kl`` (the form
    :func:`deepclust.train.fit_module` logs).
    """
    rec = reconstruction_nll(x, x_hat, recon).mean()
    kl = gaussian_kl(mu, logvar).mean()
    return {"loss": rec + float(beta) * kl, "reconstruction": rec, "kl": kl}
