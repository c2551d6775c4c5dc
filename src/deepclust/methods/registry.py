"""Method names for the CLI and benchmarks, each mapped to an estimator built by composition."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable

from deepclust.methods.clustering import AutoencoderClustering
from deepclust.methods.embedding import AutoencoderEmbedding
from deepclust.methods.n2d import N2D
from deepclust.methods.raw import RawClustering


@dataclass(frozen=True)
class MethodSpec:
    name: str
    description: str
    build: Callable[..., object]
    deep: bool  # trains a network (accepts the autoencoder options)


def _embedding(latent_dim, **ae):
    return AutoencoderEmbedding(latent_dim=latent_dim, **ae)


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in [
        MethodSpec("kmeans", "k-means (k-means++, 10 inits) on the features", lambda k, seed, **ae: RawClustering(k, "kmeans", random_state=seed), False),
        MethodSpec("gmm", "full-covariance Gaussian mixture on the features", lambda k, seed, **ae: RawClustering(k, "gmm", random_state=seed), False),
        MethodSpec("agglomerative", "Ward agglomerative clustering on the features", lambda k, seed, **ae: RawClustering(k, "agglomerative", random_state=seed), False),
        MethodSpec("ae-kmeans", "autoencoder, then k-means on its codes", lambda k, seed, latent_dim=10, **ae: AutoencoderClustering(k, "kmeans", _embedding(latent_dim, **ae), random_state=seed), True),
        MethodSpec("ae-gmm", "autoencoder, then a Gaussian mixture on its codes", lambda k, seed, latent_dim=10, **ae: AutoencoderClustering(k, "gmm", _embedding(latent_dim, **ae), random_state=seed), True),
        MethodSpec("ae-agglomerative", "autoencoder, then Ward agglomerative clustering", lambda k, seed, latent_dim=10, **ae: AutoencoderClustering(k, "agglomerative", _embedding(latent_dim, **ae), random_state=seed), True),
        MethodSpec("n2d", "N2D: autoencoder, UMAP (n_neighbors=20, min_dist=0, k dims), full GMM", lambda k, seed, latent_dim=None, **ae: N2D(k, embedding=_embedding(latent_dim or k, **ae), random_state=seed), True),
    ]
}


def build_method(name: str, n_clusters: int, seed, **autoencoder_options):
    """Build the estimator called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`METHODS`.
    n_clusters : int
    seed : int or None
    **autoencoder_options
        ``latent_dim``, ``epochs``, ``batch_size``, ``lr``, ``device``, ``precision``,
        ``verbose`` for methods that train an autoencoder; ignored by the others.
    """
    spec = METHODS.get(name)
    if spec is None:
        hint = difflib.get_close_matches(name, METHODS, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"unknown method {name!r}{extra}; known methods: {', '.join(METHODS)}")
    opts = {k: v for k, v in autoencoder_options.items() if v is not None} if spec.deep else {}
    return spec.build(n_clusters, seed, **opts)
