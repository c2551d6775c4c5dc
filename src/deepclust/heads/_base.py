"""The interface every clustering head shares, so callers ask the head instead of its class name."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class ClusteringHead(nn.Module):
    """Base of the clustering heads: an ``nn.Module`` on codes ``z`` of shape (B, latent_dim).

    Every head is built as ``Head(n_clusters, latent_dim, ...)`` and has:

    - ``n_clusters``, ``latent_dim`` (ints);
    - ``centers``: a tensor (n_clusters, latent_dim), or None for a head without centres
      (SCAN's classifier);
    - ``assigns_to_nearest_center`` (class attribute): True when :meth:`predict` is the
      nearest centre in Euclidean distance, so a caller may draw Voronoi cells or compute
      distances to ``centers`` without knowing which head it holds;
    - :meth:`init_from_embedding`, :meth:`soft_assign`, :meth:`predict` and :meth:`loss`.

    ``centers`` is set by each subclass (a parameter, a buffer, a property or None), not here:
    ``nn.Module`` refuses to register a parameter over an existing class attribute.
    """

    assigns_to_nearest_center: bool = False

    n_clusters: int
    latent_dim: int

    def init_from_embedding(self, z: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:  # pragma: no cover - abstract
        """Initialise from codes ``z`` (n, latent_dim); return initial labels (n,) int64."""
        raise NotImplementedError

    def soft_assign(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Cluster probabilities (B, n_clusters), rows summing to one."""
        raise NotImplementedError

    def predict(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Hard labels (B,) int64."""
        raise NotImplementedError

    def loss(self, z: torch.Tensor, *args, **kwargs):  # pragma: no cover - abstract
        """The head's clustering loss on codes ``z`` (a tensor, or a dict of named terms)."""
        raise NotImplementedError


def check_sizes(n_clusters, latent_dim, *, min_clusters: int = 1) -> tuple[int, int]:
    """Validate a head's two sizes; return them as ints."""
    if n_clusters < min_clusters or latent_dim < 1:
        raise ValueError(f"n_clusters must be >= {min_clusters} and latent_dim positive, got n_clusters={n_clusters} and latent_dim={latent_dim}")
    return int(n_clusters), int(latent_dim)
