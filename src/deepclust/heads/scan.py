"""SCAN's clustering head: a softmax classifier trained so that neighbours agree."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from deepclust.heads._base import ClusteringHead, check_sizes
from deepclust.heads.student_t import kmeans_init, squared_distances
from deepclust.losses import scan_loss, self_label_loss
from deepclust.nn.mlp import MLP


class SCANHead(ClusteringHead):
    """Cluster probabilities ``softmax(f(z))`` from an embedding ``z``.

    ``f`` is a linear layer (``hidden_dims=()``) or a small MLP. It is trained with SCAN's
    objective: each sample and one of its nearest neighbours in the embedding should get the
    same cluster, and the clusters should be used evenly (Van Gansbeke et al., "SCAN:
    Learning to Classify Images without Labels", ECCV 2020).

    Parameters
    ----------
    n_clusters : int, keyword-only
    latent_dim : int, keyword-only
    hidden_dims : sequence of int, default=()

    The sizes are keyword-only: before issue 14 the positional order was
    ``(latent_dim, n_clusters)``, the reverse of the other heads', so a positional call is
    refused rather than silently read in the new order.

    Attributes
    ----------
    centers : None
        A classifier has no centres (the shared head interface).

    Examples
    --------
    >>> head = SCANHead(n_clusters=2, latent_dim=2)
    >>> z = torch.tensor([[0.0, 0.0], [5.0, 5.0], [0.1, 0.0], [5.0, 5.1]])
    >>> head.init_from_embedding(z, np.random.default_rng(0)).tolist() in ([0, 1, 0, 1], [1, 0, 1, 0])
    True
    >>> head.soft_assign(z).sum(dim=1).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, *args, n_clusters: int | None = None, latent_dim: int | None = None, hidden_dims: Sequence[int] = ()) -> None:
        super().__init__()
        if args or n_clusters is None or latent_dim is None:
            raise TypeError(
                "SCANHead takes its sizes by keyword: SCANHead(n_clusters=K, latent_dim=d, hidden_dims=()); "
                f"got positional arguments {args!r} (the old positional order was (latent_dim, n_clusters), "
                "the reverse of the other heads')"
            )
        self.n_clusters, self.latent_dim = check_sizes(n_clusters, latent_dim, min_clusters=2)
        self.centers = None
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.net = MLP([self.latent_dim, *self.hidden_dims, self.n_clusters], batch_norm=bool(self.hidden_dims))

    def extra_repr(self) -> str:
        return f"n_clusters={self.n_clusters}, latent_dim={self.latent_dim}, hidden_dims={self.hidden_dims}"

    @torch.no_grad()
    def init_from_embedding(self, z: torch.Tensor, rng: np.random.Generator, n_init: int = 10) -> torch.Tensor:
        """k-means on ``z`` (n, d); returns its labels (n,) int64.

        A linear head starts as the nearest-centre rule of k-means with soft margins:
        logits ``(z.c_k - |c_k|^2 / 2) / s2`` (= ``-|z - c_k|^2 / (2 s2)`` up to a term common
        to all clusters), with ``s2`` the mean squared distance of a point to its centre. Its
        argmax is the k-means partition, and its probabilities are soft enough that SCAN's
        gradients can still move points between clusters (with the per-dimension variance
        instead, the start is so confident that nothing moves). An MLP head keeps its random
        initialisation.
        """
        centers, labels = kmeans_init(z, self.n_clusters, rng, n_init)
        if not self.hidden_dims:
            zf = z.detach().float().cpu()
            s2 = max(float(squared_distances(zf, centers).gather(1, labels[:, None]).mean()), 1e-6)
            layer = self.net[0]
            layer.weight.copy_((centers / s2).to(layer.weight))
            layer.bias.copy_((-(centers**2).sum(dim=1) / (2 * s2)).to(layer.bias))
        return labels.to(z.device)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Logits (B, K)."""
        return self.net(z)

    def soft_assign(self, z: torch.Tensor) -> torch.Tensor:
        """Cluster probabilities (B, K), rows summing to one."""
        return torch.softmax(self.net(z).float(), dim=1)

    def predict(self, z: torch.Tensor) -> torch.Tensor:
        """Hard labels (B,) int64."""
        return self.net(z).argmax(dim=1)

    def loss(self, z: torch.Tensor, z_neighbor: torch.Tensor, entropy_weight: float = 5.0) -> dict[str, torch.Tensor]:
        """SCAN loss (:func:`deepclust.losses.scan_loss`) for anchors ``z`` and one neighbour each, (B, d)."""
        logits = self.net(torch.cat([z, z_neighbor]))  # one pass: batch norm sees both
        return scan_loss(logits[: z.shape[0]], logits[z.shape[0] :], entropy_weight)

    def self_label_loss(self, z: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """SCAN's self-labelling step: class-weighted cross-entropy on pseudo-labels ``target`` (B,)."""
        return self_label_loss(self.net(z), target, weight)
