"""Method names for the CLI and benchmarks, each mapped to an estimator built by composition.

A method is an estimator class plus fixed choices (``ae-kmeans`` is
``AutoencoderClustering(clusterer="kmeans")``). Options are routed by name: the estimator's own
constructor parameters go to it; the autoencoder's (``epochs``, ``batch_size``, ``latent_dim``,
``lr``, ...) go to its embedding unless the estimator has a parameter of that name (DEC's
``lr`` is its clustering-phase rate), and an ``embedding`` table sets embedding options
explicitly.

The registry is the only place that knows facts about methods: whether a method trains a
network (:attr:`MethodSpec.deep`), which clusterer its k sweep uses
(:meth:`MethodSpec.clusterer_for_sweep`), whether it labels each point by its nearest centre
(:attr:`MethodSpec.nearest_centre`), whether it reads on-disk data block by block
(:attr:`MethodSpec.streams`). Other modules ask it instead of matching names; the CLI help
and the README's method table (:func:`methods_table`) are generated from it.
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
    """One method name and the facts other modules need about it.

    Parameters
    ----------
    name : str
        The name users give (``--method NAME``).
    description : str
        One line for the CLI help and the README's method table.
    cls : type
        The estimator class.
    fixed : dict
        Constructor arguments that define the method (``clusterer="kmeans"``).
    embedding : callable or None
        Builds the default embedding from options; None for methods that train no network.
    latent_is_k : bool, default=False
        N2D: ``latent_dim`` defaults to the number of clusters.
    sweep_clusterer : {"kmeans", "gmm", "agglomerative", ...} or None, default=None
        The clusterer whose k a sweep (``n_clusters="auto"``, ``deepclust select-k``) chooses:
        the one the method itself ends with. None: the method's fixed ``clusterer``, else k-means
        (the nearest-centre heads of DEC, IDEC, DCN, and the graph and SCAN methods).
    nearest_centre : bool, default=False
        The fitted model labels each point by its nearest centre in the representation
        (k-means, DEC, IDEC, DCN), so the report can draw the centres' regions.
    """

    name: str
    description: str
    cls: type
    fixed: dict = field(default_factory=dict)
    embedding: Callable[..., object] | None = None
    latent_is_k: bool = False
    sweep_clusterer: str | None = None
    nearest_centre: bool = False

    @property
    def deep(self) -> bool:
        """Whether the method trains a network (its embedding)."""
        return self.embedding is not None

    @property
    def streams(self) -> bool:
        """Whether the method's training reads on-disk data block by block (declared by the embedding class)."""
        return self.deep and bool(getattr(self.embedding, "_streams_input", False))

    def clusterer_for_sweep(self) -> str:
        """The clusterer name a k sweep of this method uses (see ``sweep_clusterer``)."""
        if self.sweep_clusterer is not None:
            return self.sweep_clusterer
        fixed = self.fixed.get("clusterer")
        return fixed if isinstance(fixed, str) else "kmeans"


METHODS: dict[str, MethodSpec] = {}


def register_method(spec: MethodSpec) -> MethodSpec:
    """Add a method name to the CLI and benchmark registry."""
    METHODS[spec.name] = spec
    return spec


for _spec in [
    MethodSpec("kmeans", "k-means (k-means++, 10 inits) on the (scaled) features", RawClustering, {"clusterer": "kmeans"}, nearest_centre=True),
    MethodSpec("gmm", "full-covariance Gaussian mixture on the features (best likelihood of 10 starts, as in N2D; above 10,000 rows the starts run on a sample)", RawClustering, {"clusterer": "gmm"}),
    MethodSpec("gmm-diag", "diagonal-covariance Gaussian mixture on the features (high-dimensional data)", RawClustering, {"clusterer": "gmm-diag"}),
    MethodSpec("umap-gmm", "UMAP (`n_neighbors=20, min_dist=0`, k dims) on the features, then a full GMM: N2D without the autoencoder", N2D, {"embedding": RawFeatures()}, sweep_clusterer="gmm"),
    MethodSpec("agglomerative", "Ward agglomerative clustering on the features", RawClustering, {"clusterer": "agglomerative"}),
    MethodSpec("ae-kmeans", "MLP autoencoder (d-500-500-2000-10; narrower below 250 features), then k-means on its codes", AutoencoderClustering, {"clusterer": "kmeans"}, AutoencoderEmbedding, nearest_centre=True),
    MethodSpec("ae-gmm", "MLP autoencoder (d-500-500-2000-10; narrower below 250 features), then a full Gaussian mixture on its codes", AutoencoderClustering, {"clusterer": "gmm"}, AutoencoderEmbedding),
    MethodSpec("ae-agglomerative", "MLP autoencoder (d-500-500-2000-10; narrower below 250 features), then Ward agglomerative clustering on its codes", AutoencoderClustering, {"clusterer": "agglomerative"}, AutoencoderEmbedding),
    MethodSpec("n2d", "N2D (McConville et al. 2020): autoencoder d-500-500-2000-k (narrower below 250 features), UMAP (`n_neighbors=20, min_dist=0`, k dims), full-covariance GMM (best of 10 starts; on a 10,000-row sample above that)", N2D, {}, AutoencoderEmbedding, latent_is_k=True, sweep_clusterer="gmm"),
    MethodSpec("dec", "DEC (Xie et al. 2016): pretrained autoencoder, Student-t soft assignment, KL to the sharpened target, stops when fewer than 0.1% of labels change; the centres start from N2D's partition of the codes (`init=\"manifold\"`; the paper's k-means is `init=\"kmeans\"`)", DEC, {}, AutoencoderEmbedding, nearest_centre=True),
    MethodSpec("idec", "IDEC (Guo et al. 2017): DEC plus the reconstruction loss (gamma=0.1); the same start as `dec`", IDEC, {}, AutoencoderEmbedding, nearest_centre=True),
    MethodSpec("vae-kmeans", "variational autoencoder, then k-means on its latent means", VAEClustering, {"clusterer": "kmeans"}, VAEEmbedding, nearest_centre=True),
    MethodSpec("vae-gmm", "variational autoencoder, then a Gaussian mixture on its latent means", VAEClustering, {"clusterer": "gmm"}, VAEEmbedding),
    MethodSpec("vade", "VaDE (Jiang et al. 2017): VAE with a learned GMM prior, initialised from a pretrained autoencoder; the prior starts from N2D's partition of the codes (`init=\"manifold\"`; the paper's diagonal GMM is `init=\"gmm\"`)", VaDE, {}, AutoencoderEmbedding, sweep_clusterer="gmm"),
    MethodSpec("dcn", "DCN (Yang et al. 2017): reconstruction plus a k-means loss (scale-free by default: divided by the codes' spread; `normalize=False` is the paper's) with running-average centroid updates", DCN, {}, AutoencoderEmbedding, nearest_centre=True),
    MethodSpec("leiden", "Leiden communities of a kNN graph of the features, resolution searched for k communities (needs `pip install \"deepclust[graph]\"`)", LeidenClustering),
    MethodSpec("simclr-kmeans", "contrastive (SimCLR) embedding (a small conv encoder on images, an MLP on tables), then k-means", AutoencoderClustering, {"clusterer": "kmeans"}, ContrastiveEmbedding, nearest_centre=True),
    MethodSpec("simclr-gmm", "contrastive (SimCLR) embedding (a small conv encoder on images, an MLP on tables), then a Gaussian mixture", AutoencoderClustering, {"clusterer": "gmm"}, ContrastiveEmbedding),
    MethodSpec("simclr-n2d", "contrastive (SimCLR) embedding (a small conv encoder on images, an MLP on tables), then UMAP (k dims) and a full GMM as in N2D", N2D, {}, ContrastiveEmbedding),
    MethodSpec("simclr-scan", "contrastive (SimCLR) embedding (a small conv encoder on images, an MLP on tables), then a SCAN clustering head trained on its nearest neighbours (optionally self-labelled)", SCANClustering, {}, ContrastiveEmbedding),
    MethodSpec("simclr-leiden", "contrastive (SimCLR) embedding (a small conv encoder on images, an MLP on tables), then Leiden communities of its kNN graph (needs `pip install \"deepclust[graph]\"`)", LeidenClustering, {}, ContrastiveEmbedding),
    MethodSpec("mae-kmeans", "masked-reconstruction (MAE-style) autoencoder, then k-means", AutoencoderClustering, {"clusterer": "kmeans"}, MaskedEmbedding, nearest_centre=True),
    MethodSpec("mae-gmm", "masked-reconstruction (MAE-style) autoencoder, then a Gaussian mixture", AutoencoderClustering, {"clusterer": "gmm"}, MaskedEmbedding),
    MethodSpec("pca-kmeans", "10 principal components, then k-means: the linear baseline", AutoencoderClustering, {"clusterer": "kmeans", "embedding": PCAEmbedding(10)}, nearest_centre=True),
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


def assigns_to_nearest_centre(estimator) -> bool:
    """Whether a fitted ``estimator`` labels each point by its nearest centre.

    Asks the estimator's clusterer when it has one (the composed methods: its kind is
    ``"centroids"`` for k-means), else the registry's :attr:`MethodSpec.nearest_centre` of the
    methods built on the estimator's class (DEC, IDEC, DCN).
    """
    assigner = getattr(estimator, "_assigner", None)
    if assigner is not None:
        return assigner.kind == "centroids"
    specs = [spec for spec in METHODS.values() if type(estimator) is spec.cls]
    return bool(specs) and all(spec.nearest_centre for spec in specs)


def methods_table() -> str:
    """The README's method table, in markdown, generated from :data:`METHODS`.

    Returns
    -------
    str
        A header and one row per method: name, description, whether it trains a network,
        and the clusterer its k sweep uses; ends with a newline.

    Examples
    --------
    >>> methods_table().splitlines()[0]
    '| name | what | trains a network | k sweep clusters with |'
    """
    rows = ["| name | what | trains a network | k sweep clusters with |", "|---|---|---|---|"]
    for spec in METHODS.values():
        rows.append(f"| `{spec.name}` | {spec.description} | {'yes' if spec.deep else 'no'} | {spec.clusterer_for_sweep()} |")
    return "\n".join(rows) + "\n"
