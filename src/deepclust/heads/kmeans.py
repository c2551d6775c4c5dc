"""DCN's clustering head: a k-means loss around centroids updated in closed form."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from deepclust.heads._base import ClusteringHead, check_sizes
from deepclust.heads.student_t import kmeans_init, squared_distances


class KMeansHead(ClusteringHead):
    """Hard k-means assignments and the k-means loss ``||z_i - M s_i||^2`` (DCN).

    The centroids are a buffer, not a parameter: DCN does not train them by gradient descent
    but moves each one to the running mean of the codes assigned to it (Yang et al.,
    "Towards K-means-friendly Spaces: Simultaneous Deep Learning and Clustering", ICML 2017,
    eq. 8): for each sample, ``count_k += 1`` and ``M_k <- M_k - (M_k - z_i) / count_k``.

    Parameters
    ----------
    n_clusters : int
    latent_dim : int

    Attributes
    ----------
    centers : Tensor of shape (n_clusters, latent_dim)
    counts : Tensor of shape (n_clusters,), float32
        How many samples each centroid has averaged so far (its k-means initial size, then
        every assignment made during training).

    Examples
    --------
    >>> head = KMeansHead(2, 1)
    >>> _ = head.centers.copy_(torch.tensor([[0.0], [10.0]])); _ = head.counts.fill_(1)
    >>> head.update_centers(torch.tensor([[2.0]]), head.predict(torch.tensor([[2.0]])))
    >>> head.centers.squeeze(1)
    tensor([ 1., 10.])
    """

    assigns_to_nearest_center = True

    def __init__(self, n_clusters: int, latent_dim: int) -> None:
        super().__init__()
        self.n_clusters, self.latent_dim = check_sizes(n_clusters, latent_dim)
        self.register_buffer("centers", torch.zeros(self.n_clusters, self.latent_dim))
        self.register_buffer("counts", torch.zeros(self.n_clusters))

    def extra_repr(self) -> str:
        return f"n_clusters={self.n_clusters}, latent_dim={self.latent_dim}"

    @torch.no_grad()
    def init_from_embedding(self, z: torch.Tensor, rng: np.random.Generator, n_init: int = 20) -> torch.Tensor:
        """k-means on ``z`` (n, d): centres, counts = cluster sizes; returns labels (n,) int64."""
        centers, labels = kmeans_init(z, self.n_clusters, rng, n_init)
        self.centers.copy_(centers.to(self.centers.device))
        self.counts.copy_(torch.bincount(labels, minlength=self.n_clusters).to(self.counts))
        return labels.to(z.device)

    def soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        """One-hot nearest-centroid assignments (B, K): k-means has no soft assignment."""
        return nn.functional.one_hot(self.predict(z), self.n_clusters).float()

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """Index of the nearest centroid, (B,) int64 (DCN's assignment step, eq. 7)."""
        return squared_distances(z, self.centers).argmin(dim=1)

    @torch.no_grad()
    def update_centers(self, z: torch.Tensor, s: torch.Tensor, reduce=None) -> None:
        """Running-average update of the centroids with codes ``z`` (B, d) assigned to ``s`` (B,).

        Processing the samples one by one with ``M_k <- M_k - (M_k - z_i) / count_k`` gives
        ``M_k = (c_k M_k + sum of the m_k new codes) / (c_k + m_k)`` whatever their order, so
        the batch is folded in at once. ``reduce`` (a function of a tensor) adds up the counts
        and sums of the batch's shards when several processes each hold a shard, so that all
        of them apply the same update to the same centroids.
        """
        z = z.detach().float()
        m = torch.bincount(s, minlength=self.n_clusters).to(self.counts)  # (K,)
        sums = torch.zeros_like(self.centers).index_add_(0, s, z)  # (K, d)
        if reduce is not None:
            m, sums = reduce(m), reduce(sums)
        new_counts = self.counts + m
        hit = m > 0
        self.centers[hit] = (self.counts[hit, None] * self.centers[hit] + sums[hit]) / new_counts[hit, None]
        self.counts.copy_(new_counts)

    def loss(self, z: torch.Tensor, s: torch.Tensor | None = None) -> torch.Tensor:
        """Mean over the batch of ``||z_i - M_{s_i}||^2`` (DCN's ``lambda / 2`` is the caller's).

        ``s`` (B,) are the assignments to hold fixed; None assigns to the nearest centroid.
        Gradients flow into ``z`` only.
        """
        if s is None:
            s = self.predict(z.detach())
        diff = z.float() - self.centers[s]
        return (diff * diff).sum(dim=1).mean()
