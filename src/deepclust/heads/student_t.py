"""DEC's clustering head: Student-t soft assignment of embedded points to learnable centres."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from deepclust.heads._base import ClusteringHead, check_sizes, partition_means
from deepclust.losses import kl_divergence


def kmeans_init(z: torch.Tensor, n_clusters: int, rng: np.random.Generator, n_init: int = 20):
    """k-means on codes ``z`` (n, d): ``(centres (K, d) float32 tensor, labels (n,) int64 tensor)``.

    scikit-learn's KMeans (k-means++, ``n_init`` restarts) seeded by one draw from ``rng``, so
    the global numpy RNG is never read. DEC, IDEC and DCN all start from it (Xie et al. 2016
    used 20 restarts).
    """
    from sklearn.cluster import KMeans

    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    data = z.detach().float().cpu().numpy()
    km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=int(rng.integers(0, 2**31 - 1))).fit(data)
    centers = torch.as_tensor(km.cluster_centers_, dtype=torch.float32)
    labels = torch.as_tensor(km.labels_, dtype=torch.int64)
    return centers, labels


def squared_distances(z: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """``||z_i - mu_j||^2`` of shape (B, K), in float32.

    Computed from differences rather than the ``|z|^2 - 2 z.mu + |mu|^2`` expansion: exact for
    nearby points (no cancellation) and untouched by bf16 autocast (no matmul). K and d are
    small, so the (B, K, d) intermediate is cheap.
    """
    diff = z.float()[:, None, :] - centers.float()[None, :, :]  # (B, K, d)
    return (diff * diff).sum(dim=-1)


class StudentTHead(ClusteringHead):
    """Soft assignment by a Student's t kernel around learnable cluster centres (DEC, IDEC).

    ``q_ij ∝ (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha + 1) / 2)``, normalised over ``j``
    (Xie et al., "Unsupervised Deep Embedding for Clustering Analysis", ICML 2016, eq. 1).

    Parameters
    ----------
    n_clusters : int
    latent_dim : int
    alpha : float, default=1.0
        Degrees of freedom of the t distribution; DEC fixes it to 1.

    Attributes
    ----------
    centers : nn.Parameter of shape (n_clusters, latent_dim)
        Trained with the encoder by gradient descent on :meth:`loss`.

    Examples
    --------
    >>> head = StudentTHead(2, 1)
    >>> with torch.no_grad():
    ...     _ = head.centers.copy_(torch.tensor([[0.0], [1.0]]))
    >>> head.soft_assign(torch.tensor([[0.0]])).detach()
    tensor([[0.6667, 0.3333]])
    """

    assigns_to_nearest_center = True  # argmax q is the nearest centre: q falls with the distance

    def __init__(self, n_clusters: int, latent_dim: int, alpha: float = 1.0) -> None:
        super().__init__()
        self.n_clusters, self.latent_dim = check_sizes(n_clusters, latent_dim)
        if not alpha > 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        self.alpha = float(alpha)
        self.centers = nn.Parameter(torch.zeros(self.n_clusters, self.latent_dim))

    def extra_repr(self) -> str:
        return f"n_clusters={self.n_clusters}, latent_dim={self.latent_dim}, alpha={self.alpha}"

    @torch.no_grad()
    def init_from_embedding(self, z: torch.Tensor, rng: np.random.Generator, n_init: int = 20) -> torch.Tensor:
        """Set the centres by k-means on ``z`` (n, latent_dim); return its labels (n,) int64."""
        centers, labels = kmeans_init(z, self.n_clusters, rng, n_init)
        self.centers.copy_(centers.to(self.centers.device))
        return labels.to(z.device)

    @torch.no_grad()
    def init_from_labels(self, z: torch.Tensor, labels) -> torch.Tensor:
        """Set each centre to the mean of the codes ``labels`` gives it; return the labels.

        Used by DEC/IDEC's ``init="manifold"``: a partition found elsewhere (N2D's manifold
        step on the same codes) becomes the start, in place of k-means. Every cluster needs a
        point (``ValueError`` otherwise).
        """
        _, lab, _, means = partition_means(z, labels, self.n_clusters)
        self.centers.copy_(torch.as_tensor(means, dtype=torch.float32, device=self.centers.device))
        return torch.as_tensor(lab, dtype=torch.int64).to(z.device)

    def log_soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        """``log q`` of shape (B, K), via a log-softmax so far-away points do not underflow."""
        logits = -(self.alpha + 1.0) / 2.0 * torch.log1p(squared_distances(z, self.centers) / self.alpha)
        return torch.log_softmax(logits, dim=1)

    def soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        """``q`` of shape (B, K): rows sum to one."""
        return self.log_soft_assign(z).exp()

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """Hard labels (B,) int64: ``argmax_j q_ij``, i.e. the nearest centre."""
        return self.log_soft_assign(z).argmax(dim=1)

    def loss(self, z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """``KL(P || Q)`` batchmean for codes ``z`` (B, d) and fixed targets ``p`` (B, K)."""
        return kl_divergence(p, self.soft_assign(z))
