"""Method names for the CLI and benchmarks, each mapped to an estimator built by composition.

A method is an estimator class plus fixed choices (``ae-kmeans`` is
``AutoencoderClustering(clusterer="kmeans")``). Options are routed by name: the estimator's own
constructor parameters go to it; the autoencoder's (``epochs``, ``batch_size``, ``latent_dim``,
``lr``, ...) go to its embedding unless the estimator has a parameter of that name (DEC's
``lr`` is its clustering-phase rate), and an ``embedding`` table sets embedding options
explicitly.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Callable

from deepclust.methods.clustering import AutoencoderClustering
from deepclust.methods.dcn import DCN
from deepclust.methods.dec import DEC, IDEC
from deepclust.methods.embedding import AutoencoderEmbedding
from deepclust.methods.identity import RawFeatures
from deepclust.methods.leiden import LeidenClustering
from deepclust.methods.mae import MaskedEmbedding
from deepclust.methods.pca import PCAEmbedding
from deepclust.methods.n2d import N2D
from deepclust.methods.raw import RawClustering
from deepclust.methods.scan import SCANClustering
from deepclust.methods.simclr import ContrastiveEmbedding
from deepclust.methods.vade import VaDE
from deepclust.methods.vae import VAEClustering, VAEEmbedding


@dataclass(frozen=True)
class MethodSpec:
    name: str
    description: str
    cls: type
    fixed: dict = field(default_factory=dict)  # constructor arguments that define the method
    embedding: Callable[..., object] | None = None  # builds the default embedding from options
    latent_is_k: bool = False  # N2D: latent_dim defaults to the number of clusters

    @property
    def deep(self) -> bool:
        return self.embedding is not None


METHODS: dict[str, MethodSpec] = {}


def register_method(spec: MethodSpec) -> MethodSpec:
    """Add a method name to the CLI and benchmark registry."""
    METHODS[spec.name] = spec
    return spec


for _spec in [
    MethodSpec("kmeans", "k-means (k-means++, 10 inits) on the features", RawClustering, {"clusterer": "kmeans"}),
    MethodSpec("gmm", "full-covariance Gaussian mixture on the features", RawClustering, {"clusterer": "gmm"}),
    MethodSpec("gmm-diag", "diagonal-covariance Gaussian mixture on the features (high-dimensional data)", RawClustering, {"clusterer": "gmm-diag"}),
    MethodSpec("umap-gmm", "UMAP (n_neighbors=20, min_dist=0, k dims) on the features, then a full GMM: N2D without the autoencoder", N2D, {"embedding": RawFeatures()}),
    MethodSpec("agglomerative", "Ward agglomerative clustering on the features", RawClustering, {"clusterer": "agglomerative"}),
    MethodSpec("ae-kmeans", "autoencoder, then k-means on its codes", AutoencoderClustering, {"clusterer": "kmeans"}, AutoencoderEmbedding),
    MethodSpec("ae-gmm", "autoencoder, then a Gaussian mixture on its codes", AutoencoderClustering, {"clusterer": "gmm"}, AutoencoderEmbedding),
    MethodSpec("ae-agglomerative", "autoencoder, then Ward agglomerative clustering", AutoencoderClustering, {"clusterer": "agglomerative"}, AutoencoderEmbedding),
    MethodSpec("n2d", "N2D: autoencoder, UMAP (n_neighbors=20, min_dist=0, k dims), full GMM", N2D, {}, AutoencoderEmbedding, latent_is_k=True),
    MethodSpec("dec", "DEC (Xie et al. 2016): pretrained autoencoder, Student-t soft assignment, KL to a sharpened target", DEC, {}, AutoencoderEmbedding),
    MethodSpec("idec", "IDEC (Guo et al. 2017): DEC plus the reconstruction loss (gamma=0.1)", IDEC, {}, AutoencoderEmbedding),
    MethodSpec("vae-kmeans", "variational autoencoder, then k-means on its latent means", VAEClustering, {"clusterer": "kmeans"}, VAEEmbedding),
    MethodSpec("vae-gmm", "variational autoencoder, then a Gaussian mixture on its latent means", VAEClustering, {"clusterer": "gmm"}, VAEEmbedding),
    MethodSpec("vade", "VaDE (Jiang et al. 2017): VAE with a learned GMM prior, from a pretrained autoencoder", VaDE, {}, AutoencoderEmbedding),
    MethodSpec("dcn", "DCN (Yang et al. 2017): reconstruction plus a k-means loss with running-average centroids", DCN, {}, AutoencoderEmbedding),
    MethodSpec("leiden", "Leiden communities of a kNN graph of the features (resolution searched for k communities)", LeidenClustering),
    MethodSpec("simclr-kmeans", "contrastive (SimCLR) embedding, then k-means", AutoencoderClustering, {"clusterer": "kmeans"}, ContrastiveEmbedding),
    MethodSpec("simclr-gmm", "contrastive (SimCLR) embedding, then a Gaussian mixture", AutoencoderClustering, {"clusterer": "gmm"}, ContrastiveEmbedding),
    MethodSpec("simclr-n2d", "contrastive (SimCLR) embedding, then UMAP (k dims) and a full GMM as in N2D", N2D, {}, ContrastiveEmbedding),
    MethodSpec("simclr-scan", "contrastive (SimCLR) embedding, then a SCAN clustering head on its nearest neighbours", SCANClustering, {}, ContrastiveEmbedding),
    MethodSpec("simclr-leiden", "contrastive (SimCLR) embedding, then Leiden communities of its kNN graph", LeidenClustering, {}, ContrastiveEmbedding),
    MethodSpec("mae-kmeans", "masked-reconstruction autoencoder, then k-means", AutoencoderClustering, {"clusterer": "kmeans"}, MaskedEmbedding),
    MethodSpec("mae-gmm", "masked-reconstruction autoencoder, then a Gaussian mixture", AutoencoderClustering, {"clusterer": "gmm"}, MaskedEmbedding),
    MethodSpec("pca-kmeans", "10 principal components, then k-means: the linear baseline", AutoencoderClustering, {"clusterer": "kmeans", "embedding": PCAEmbedding(10)}),
    MethodSpec("pca-gmm", "10 principal components, then a full Gaussian mixture", AutoencoderClustering, {"clusterer": "gmm", "embedding": PCAEmbedding(10)}),
]:
    register_method(_spec)


def _params_of(cls) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


def build_method(name: str, n_clusters: int, seed, *, embedding: dict | None = None, image_shape=None, **options):
    """Build the estimator called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`METHODS`.
    n_clusters : int
    seed : int or None
    embedding : dict, optional
        Options for the embedding (``epochs``, ``batch_size``, ``lr``, ``latent_dim``, ...).
    **options
        The estimator's own parameters, or embedding options (see the module docstring).
        Options set to None are ignored, so CLI flags left unset keep the defaults.
    image_shape : (C, H, W) or None
        The dataset's image shape: an embedding with an ``input_shape`` parameter (the
        contrastive one, for image augmentations) gets it unless the options set one.

    Raises
    ------
    ValueError
        Unknown method, or an option neither the method nor its embedding has.
    """
    spec = METHODS.get(name)
    if spec is None:
        hint = difflib.get_close_matches(name, METHODS, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"unknown method {name!r}{extra}; known methods: {', '.join(METHODS)}")
    own = _params_of(spec.cls) - {"n_clusters", "random_state", "embedding"} - set(spec.fixed)
    emb_params = _params_of(spec.embedding) - {"random_state"} if spec.deep else set()
    method_opts = {}
    # Embedding options mean nothing to the raw baselines (a CLI --epochs with --method kmeans).
    emb_opts = {k: v for k, v in (embedding or {}).items() if v is not None} if spec.deep else {}
    for key, value in options.items():
        if value is None:
            continue
        if key in own:
            method_opts[key] = value
        elif key in emb_params:
            emb_opts[key] = value
        elif not spec.deep and key in _params_of(AutoencoderEmbedding):
            continue  # autoencoder flags do not apply to the raw baselines
        else:
            known = sorted(own | emb_params)
            hint = difflib.get_close_matches(key, known, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(f"method {name!r} has no option {key!r}{extra}; its options: {', '.join(known)}")
    for key in emb_opts:
        if key not in emb_params:
            hint = difflib.get_close_matches(key, sorted(emb_params), n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(f"method {name!r}: the embedding has no option {key!r}{extra}; its options: {', '.join(sorted(emb_params))}")
    kwargs = {**spec.fixed, **method_opts}
    if spec.deep and image_shape is not None and "input_shape" in emb_params and "network" not in emb_opts:
        emb_opts.setdefault("input_shape", [int(s) for s in image_shape])
    if spec.deep:
        if spec.latent_is_k:
            emb_opts.setdefault("latent_dim", n_clusters)
        kwargs["embedding"] = spec.embedding(**emb_opts)
    return spec.cls(n_clusters=n_clusters, random_state=seed, **kwargs)
