"""VAEEmbedding (a variational autoencoder as a scikit-learn transformer) and VAEClustering
(its latent means, then any clusterer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Sequence

import numpy as np
from sklearn.utils.validation import check_is_fitted

from deepclust.methods._base import check_recon, seed_stream
from deepclust.methods._neural import NeuralEmbedding, ReconstructionMixin
from deepclust.methods._params import Interval, Real, StrOptions
from deepclust.methods._persist import register_model
from deepclust.methods.clustering import AutoencoderClustering
from deepclust.nn import build_autoencoder
from deepclust.preprocess.augment_text import check_augment
from deepclust.nn.vae import RECONS, VAE, mlp_vae, vae_from_autoencoder


@register_model
class VAEEmbedding(ReconstructionMixin, NeuralEmbedding):
    """Learn a low-dimensional embedding with a fully connected variational autoencoder.

    The network is the ``d-500-500-2000-latent_dim`` MLP of DEC/VaDE with linear mean and
    log-variance layers, trained on the negative ELBO (reconstruction summed over features +
    ``beta`` times the KL divergence to ``N(0, I)``) with Adam (Kingma & Welling, ICLR 2014;
    Higgins et al., ICLR 2017 for ``beta``). ``transform`` returns the posterior means.

    Parameters
    ----------
    latent_dim : int, default=10
    hidden_dims : sequence of int or "auto", default="auto"
        The MLP's hidden widths, as in :class:`~deepclust.methods.AutoencoderEmbedding`.
    network : dict, str, os.PathLike, Autoencoder, (nn.Module, nn.Module) or None, default=None
        The network, when not the MLP (``latent_dim`` and ``hidden_dims`` are then ignored), as
        for :class:`~deepclust.methods.AutoencoderEmbedding`: a spec (dict or ``.json`` /
        ``.yaml`` path; e.g. a convolutional encoder, the decoder mirrored), or your own
        modules. The encoder's last layer (a ``Dense`` layer, ``nn.Linear``) becomes the
        posterior mean and a new layer of the same shape the log-variance. A spec network is
        saved with the model; your own modules cannot be (no pickle).
    epochs, steps : int or None, default=None
        The training budget, as in :class:`~deepclust.methods.AutoencoderEmbedding`.
    batch_size : int, default=256
    lr : float, default=1e-3
        Adam learning rate.
    beta : float, default=1.0
        Weight of the KL term (1 is the ELBO).
    recon : {"mse", "bce"}, default="mse"
        Reconstruction likelihood: "mse" (Gaussian; any real data), or "bce" (Bernoulli on
        data in [0, 1] such as MNIST pixels; the decoder then outputs logits).
    patience : int or None, default=None
        Stop when the loss has not improved by 0.01% for this many epochs.
    precision : {"auto", "float32", "bf16"}, default="auto"
    device : str, default="auto"
    random_state : int, numpy Generator or None, default=None
        Seeds weights, shuffling and the reparameterisation noise; global RNGs are untouched.
    verbose : bool, default=False
    augment : dict or None, default=None
        Training-time augmentation of every minibatch, as for
        :class:`~deepclust.methods.AutoencoderEmbedding` (:mod:`deepclust.nn.augment`).

    Attributes
    ----------
    autoencoder_ : deepclust.nn.vae.VAE
        The trained network (named as in :class:`AutoencoderEmbedding`, so warm starts and
        composite estimators find it).
    n_features_in_ : int
    training_ : dict
        ``steps``, ``epochs``, ``stop_reason`` and the ``budget`` rule of the last fit.
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``reconstruction``, ``kl``, ``seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((100, 8)).astype("float32")
    >>> vae = VAEEmbedding(latent_dim=2, hidden_dims=(16,), epochs=2, random_state=0)
    >>> vae.fit_transform(X).shape, vae.sample(5, random_state=0).shape
    ((100, 2), (5, 8))
    """

    _parameter_constraints = {
        **NeuralEmbedding._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "recon": [StrOptions(set(RECONS))],
        "augment": [None, Mapping, str],
    }
    _streams_input = False  # recon="bce" checks the value range of the whole data first
    _weights_prefix = "vae"
    _desc = "VAE"

    def __init__(
        self, latent_dim: int = 10, hidden_dims: Sequence[int] | str = "auto", network=None, epochs: int | None = None, steps: int | None = None, batch_size: int = 256,
        lr: float = 1e-3, beta: float = 1.0, recon: str = "mse", patience: int | None = None, precision: str = "auto", device: str = "auto",
        random_state=None, verbose: bool = False, augment=None,
    ) -> None:
        self.latent_dim, self.hidden_dims, self.network = latent_dim, hidden_dims, network
        self.epochs, self.batch_size, self.lr, self.beta, self.recon = epochs, batch_size, lr, beta, recon
        self.steps = steps
        self.patience, self.precision, self.device, self.random_state = patience, precision, device, random_state
        self.verbose, self.augment = verbose, augment

    def _check_extra_params(self) -> None:
        check_augment(self.augment)

    def _check_data(self, X) -> None:
        check_recon(self.recon, X)

    def _architecture(self, n_features: int, n_samples: int | None = None) -> tuple[dict, VAE | None]:
        """What to save about the network (types ``mlp-vae``, ``spec-vae``, ``module-vae``), and
        the VAE made from the user's own modules if any."""
        arch, module = super()._architecture(n_features, n_samples)
        output = "bernoulli" if self.recon == "bce" else "linear"
        arch = {**arch, "type": f"{arch['type']}-vae", "output": output}
        return arch, None if module is None else vae_from_autoencoder(module, output=output)

    @staticmethod
    def _build(arch: dict) -> VAE:
        kind = arch.get("type")
        if kind == "mlp-vae":
            return mlp_vae(arch["n_features"], arch["hidden_dims"], arch["latent_dim"], output=arch["output"])
        if kind == "spec-vae":
            # The spec's autoencoder, its embedding layer read as the posterior mean (Jiang et al. 2017).
            return vae_from_autoencoder(build_autoencoder(arch["spec"], arch["n_features"]), output=arch["output"])
        if kind == "module-vae":
            raise ValueError("this model was trained with a user-supplied torch module, which deepclust cannot rebuild from a file")
        raise ValueError(f"unknown network type {kind!r} in saved model")

    def _loss_options(self) -> dict:
        return {"beta": float(self.beta)}

    def _codes(self, module: VAE, x):
        return module.encode(x)[0]  # the posterior mean

    def _decode(self, module: VAE, z):
        return module.mean(z)  # the data-space mean (probabilities for recon="bce")

    def sample(self, n_samples: int = 1, random_state=None) -> np.ndarray:
        """Draw ``z ~ N(0, I)`` and decode: (n_samples, n_features) data-space means."""
        check_is_fitted(self, self._fitted_attribute)
        if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        z = seed_stream(random_state).standard_normal((int(n_samples), int(self._arch["latent_dim"]))).astype(np.float32)
        return self.inverse_transform(z)


@register_model
class VAEClustering(AutoencoderClustering):
    """Cluster the posterior means of a VAE: the "VAE + k-means / GMM" baseline.

    :class:`AutoencoderClustering` with a :class:`VAEEmbedding` as its default embedding.

    Parameters
    ----------
    n_clusters : int, default=10
    clusterer : {"kmeans", "gmm", "gmm-diag", "agglomerative"} or clusterer, default="kmeans"
    embedding : VAEEmbedding, transformer or path, default=None
        None uses ``VAEEmbedding()``; a path warm-starts from a saved embedding.
    random_state : int, numpy Generator or None, default=None

    Attributes
    ----------
    As :class:`AutoencoderClustering`.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(200, n_features=6, centers=3, random_state=0)
    >>> emb = VAEEmbedding(latent_dim=2, hidden_dims=(16,), epochs=5)
    >>> VAEClustering(3, embedding=emb, random_state=0).fit(X).labels_.shape
    (200,)
    """

    def _default_embedding(self):
        return VAEEmbedding()
