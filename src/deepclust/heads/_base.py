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


def partition_means(z: torch.Tensor, labels, n_clusters: int):
    """The per-cluster means of codes ``z`` (n, d) under a given partition.

    Returns ``(data, labels, counts, means)``: the codes as float64 numpy (n, d), the labels as
    int64 (n,), the cluster sizes (K,) and the means (K, d), both float64. Refuses labels of the
    wrong length, outside ``[0, n_clusters)``, or leaving a cluster empty. The heads' shared
    step for ``init_from_labels`` (a partition found elsewhere becomes the head's start).
    """
    data = z.detach().float().cpu().numpy().astype(np.float64)
    lab = np.asarray(labels, dtype=np.int64).ravel()
    if lab.shape[0] != data.shape[0]:
        raise ValueError(f"labels has {lab.shape[0]} entries for {data.shape[0]} codes")
    if lab.size and (lab.min() < 0 or lab.max() >= n_clusters):
        raise ValueError(f"labels must lie in [0, {n_clusters}), got [{lab.min()}, {lab.max()}]")
    counts = np.bincount(lab, minlength=n_clusters).astype(np.float64)
    if np.any(counts == 0):
        raise ValueError(f"every component needs at least one point; empty: {np.flatnonzero(counts == 0).tolist()}")
    sums = np.zeros((n_clusters, data.shape[1]))
    np.add.at(sums, lab, data)
    return data, lab, counts, sums / counts[:, None]
