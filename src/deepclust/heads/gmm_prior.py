"""VaDE's clustering head: a learnable Gaussian-mixture prior ``p(c) p(z|c)`` on the latent space."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from deepclust.heads._base import ClusteringHead, check_sizes, partition_means
from deepclust.nn.vae import reconstruction_nll

_LOG_2PI = math.log(2.0 * math.pi)


class GMMPrior(ClusteringHead):
    """Mixture of diagonal Gaussians ``p(c) = pi_c``, ``p(z|c) = N(mu_c, diag(sigma_c^2))`` (VaDE).

    ``pi`` is kept on the simplex as the softmax of free logits; variances are positive as
    the exponential of free log-variances. ``soft_assign`` is the posterior
    ``gamma_c = p(c|z)``, computed in log space (Jiang et al., "Variational Deep Embedding",
    IJCAI 2017, eq. 16).

    Parameters
    ----------
    n_clusters : int
    latent_dim : int

    Attributes
    ----------
    pi_logits : nn.Parameter of shape (n_clusters,)
    means : nn.Parameter of shape (n_clusters, latent_dim)
    log_vars : nn.Parameter of shape (n_clusters, latent_dim)

    Examples
    --------
    >>> prior = GMMPrior(2, 1)
    >>> with torch.no_grad():
    ...     _ = prior.means.copy_(torch.tensor([[-1.0], [1.0]]))
    >>> prior.soft_assign(torch.tensor([[0.0]])).detach()
    tensor([[0.5000, 0.5000]])
    """

    def __init__(self, n_clusters: int, latent_dim: int) -> None:
        super().__init__()
        self.n_clusters, self.latent_dim = check_sizes(n_clusters, latent_dim)
        self.pi_logits = nn.Parameter(torch.zeros(self.n_clusters))
        self.means = nn.Parameter(torch.zeros(self.n_clusters, self.latent_dim))
        self.log_vars = nn.Parameter(torch.zeros(self.n_clusters, self.latent_dim))

    def extra_repr(self) -> str:
        return f"n_clusters={self.n_clusters}, latent_dim={self.latent_dim}"

    @property
    def centers(self) -> torch.Tensor:
        """The component means (K, d): what other heads call centres."""
        return self.means

    @property
    def weights(self) -> torch.Tensor:
        """Mixing proportions ``pi`` (K,), summing to one."""
        return torch.softmax(self.pi_logits.float(), dim=0)

    @torch.no_grad()
    def init_from_embedding(self, z: torch.Tensor, rng: np.random.Generator, n_init: int = 1) -> torch.Tensor:
        """Fit a diagonal Gaussian mixture to ``z`` (n, d) and copy its parameters; return its labels (n,).

        scikit-learn's ``GaussianMixture(covariance_type="diag")`` seeded by one draw from
        ``rng`` (the global numpy RNG is never read), as VaDE initialises its prior from a GMM
        on the pretrained autoencoder's codes.
        """
        from sklearn.mixture import GaussianMixture

        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
        data = z.detach().float().cpu().numpy().astype(np.float64)
        gm = GaussianMixture(self.n_clusters, covariance_type="diag", n_init=n_init, random_state=int(rng.integers(0, 2**31 - 1)))
        labels = gm.fit(data).predict(data)
        dev = self.means.device
        self.pi_logits.copy_(torch.as_tensor(np.log(np.maximum(gm.weights_, 1e-12)), dtype=torch.float32, device=dev))
        self.means.copy_(torch.as_tensor(gm.means_, dtype=torch.float32, device=dev))
        self.log_vars.copy_(torch.as_tensor(np.log(gm.covariances_), dtype=torch.float32, device=dev))
        return torch.as_tensor(labels, dtype=torch.int64).to(z.device)

    @torch.no_grad()
    def init_from_labels(self, z: torch.Tensor, labels, min_var: float = 1e-6) -> torch.Tensor:
        """Set each component to the moments of the points ``labels`` gives it; return the labels.

        Weights are the cluster shares, means and diagonal variances the per-cluster moments of
        ``z`` (n, d) (``min_var`` keeps a one-point or constant cluster's variance positive).
        Used by VaDE's ``init="manifold"``: a partition found elsewhere (N2D's manifold step on
        the same codes) becomes the mixture the prior starts from.
        """
        data, lab, counts, means = partition_means(z, labels, self.n_clusters)
        sq = np.zeros_like(means)
        np.add.at(sq, lab, (data - means[lab]) ** 2)
        var = np.maximum(sq / counts[:, None], min_var)
        dev = self.means.device
        self.pi_logits.copy_(torch.as_tensor(np.log(counts / counts.sum()), dtype=torch.float32, device=dev))
        self.means.copy_(torch.as_tensor(means, dtype=torch.float32, device=dev))
        self.log_vars.copy_(torch.as_tensor(np.log(var), dtype=torch.float32, device=dev))
        return torch.as_tensor(lab, dtype=torch.int64).to(z.device)

    def log_joint(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(c) + log p(z|c)`` of shape (B, K), in float32."""
        z = z.float()
        diff = z[:, None, :] - self.means.float()[None, :, :]  # (B, K, d)
        log_vars = self.log_vars.float()
        log_pz_c = -0.5 * (_LOG_2PI + log_vars[None] + diff * diff * torch.exp(-log_vars)[None]).sum(dim=-1)  # (B, K)
        return torch.log_softmax(self.pi_logits.float(), dim=0)[None, :] + log_pz_c

    def log_soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(c|z)`` (B, K), normalised by logsumexp so distant points do not underflow."""
        return torch.log_softmax(self.log_joint(z), dim=1)

    def soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        """``gamma = p(c|z)`` (B, K): rows sum to one."""
        return self.log_soft_assign(z).exp()

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """Most probable component (B,) int64."""
        return self.log_joint(z).argmax(dim=1)

    def loss(self, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """The KL part of VaDE's negative ELBO, per sample, shape (B,).

        With ``q(z|x) = N(mu, diag(exp(logvar)))`` and ``q(c|x) = gamma = p(c|z)`` (Jiang et
        al. 2017, eq. 12 and 16)::

            1/2 sum_c gamma_c sum_j [log s2_cj + exp(logvar_j)/s2_cj + (mu_j - mu_cj)^2/s2_cj]
            - sum_c gamma_c log(pi_c / gamma_c)
            - 1/2 sum_j (1 + logvar_j)

        i.e. ``E_q[log q(z, c|x) - log p(z, c)]`` (the ``log 2 pi`` terms cancel).

        Parameters
        ----------
        mu, logvar : Tensor (B, d)
            The encoder's posterior parameters.
        z : Tensor (B, d), optional
            The reparameterised sample ``gamma`` is computed from, as in the paper and its
            reference code; None uses ``mu`` (deterministic).
        """
        mu, logvar = mu.float(), logvar.float()
        log_gamma = self.log_soft_assign(mu if z is None else z)  # (B, K)
        gamma = log_gamma.exp()
        log_vars = self.log_vars.float()[None]  # (1, K, d)
        diff = mu[:, None, :] - self.means.float()[None]  # (B, K, d)
        inv_var = torch.exp(-log_vars)
        cross = (log_vars + torch.exp(logvar)[:, None, :] * inv_var + diff * diff * inv_var).sum(dim=-1)  # (B, K)
        log_pi = torch.log_softmax(self.pi_logits.float(), dim=0)[None]  # (1, K)
        term_z = 0.5 * (gamma * cross).sum(dim=1)
        term_c = -(gamma * (log_pi - log_gamma)).sum(dim=1)
        entropy = -0.5 * (1.0 + logvar).sum(dim=1)
        return term_z + term_c + entropy


def vade_loss(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    prior: GMMPrior,
    *,
    z: torch.Tensor | None = None,
    recon: str = "bce",
) -> dict[str, torch.Tensor]:
    """VaDE's negative ELBO (Jiang et al. 2017, eq. 14 negated), averaged over the batch.

    ``loss = mean_i [ rec_i + KL_i ]``: ``rec`` the reconstruction negative log-likelihood
    of one sample ``z`` (:func:`deepclust.nn.vae.reconstruction_nll`, ``x_hat`` = logits for
    "bce") and ``KL`` from :meth:`GMMPrior.loss`.

    Parameters
    ----------
    x, x_hat : Tensor (B, n_features)
    mu, logvar : Tensor (B, latent_dim)
    prior : GMMPrior
    z : Tensor (B, latent_dim), optional
        The sample ``x_hat`` was decoded from; ``gamma`` is computed from it.
    recon : {"bce", "mse"}, default="bce"

    Returns
    -------
    dict with scalar tensors ``loss``, ``reconstruction``, ``kl``.
    """
    rec = reconstruction_nll(x, x_hat, recon).mean()
    kl = prior.loss(mu, logvar, z).mean()
    return {"loss": rec + kl, "reconstruction": rec, "kl": kl}
