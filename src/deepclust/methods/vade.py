"""VaDE: a VAE whose prior is a Gaussian mixture, trained end to end by the shared loop."""

from __future__ import annotations

import logging
import os

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from deepclust.heads.gmm_prior import GMMPrior
from deepclust.heads.modules import VaDEModule
from deepclust.methods._base import seed_stream
from deepclust.methods._composite import CHUNK, plain_history, store_params
from deepclust.methods._deep import ClusteringPhase, ClusterSizeMonitor, DeepClusteringModel
from deepclust.methods._params import POSITIVE_INT, POSITIVE_REAL, Interval, Real, StrOptions
from deepclust.methods._persist import register_model
from deepclust.methods.embedding import AutoencoderEmbedding
from deepclust.methods.vae import VAEEmbedding, check_recon
from deepclust.nn.vae import VAE, vae_from_autoencoder
from deepclust.train import Callback, TrainState
from deepclust.train.optim import adam

logger = logging.getLogger(__name__)


class StepDecay(Callback):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs (``StepLR``), logging it.

    The rate used in an epoch is logged as ``lr`` before the scheduler steps.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, step_size: int, gamma: float) -> None:
        self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)

    def on_epoch_end(self, state: TrainState) -> None:
        state.logs["lr"] = float(self.scheduler.get_last_lr()[0])
        self.scheduler.step()

    def state_dict(self) -> dict:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state)


class ClusterSizes(Callback):
    """After each epoch: label every sample by the prior on its posterior mean and record the sizes.

    :class:`ClusterSizeMonitor` records ``cluster_sizes`` (the K sizes), ``min_cluster_size``
    and ``n_empty_clusters`` per epoch, and warns once when a component has lost all its
    points (a collapsed cluster).
    """

    def __init__(self, X: torch.Tensor, model: VaDEModule, monitor: ClusterSizeMonitor, history: dict) -> None:
        self.X, self.model, self.monitor, self.history = X, model, monitor, history

    @torch.no_grad()
    def on_epoch_end(self, state: TrainState) -> None:
        vae, prior = self.model.vae, self.model.prior
        was_training = vae.training
        vae.eval()
        try:
            labels = torch.cat([prior.predict(vae.encode(self.X[i : i + CHUNK])[0].float()) for i in range(0, self.X.shape[0], CHUNK)])
        finally:
            vae.train(was_training)
        self.monitor.record(labels, f"epoch {state.epoch}")  # records the sizes too

    def state_dict(self) -> dict:
        return {"monitor": self.monitor.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.monitor.load_state_dict(state["monitor"])


@register_model
class VaDE(DeepClusteringModel):
    """Variational Deep Embedding (Jiang, Zheng, Tan, Tang, Zhou, IJCAI 2017).

    A VAE whose prior is a learnable mixture of diagonal Gaussians ``p(c) p(z|c)``. As in the
    paper, the network starts from a pretrained autoencoder (encoder, embedding layer and
    decoder are copied; the log-variance layer is new) and the prior from a diagonal GMM on
    the pretrained codes; then VAE and prior are trained together on the negative ELBO (eq.
    14) by the shared loop. Clusters are ``argmax_c p(c|z)`` at the posterior mean.

    Defaults follow the paper and its reference code (github.com/slim1017/VaDE): Adam with
    learning rate 0.002 (``eps=1e-4``) decayed by 0.9 every 10 epochs, Bernoulli likelihood
    for MNIST-like data in [0, 1]. The paper uses batches of 100; 256 is the library default.

    Parameters
    ----------
    n_clusters : int, default=10
    embedding : AutoencoderEmbedding, str or path, default=None
        The pretraining: None uses ``AutoencoderEmbedding()`` (``d-500-500-2000-10``); an
        unfitted one is cloned and fitted; a path to a saved, fitted one warm-starts from it.
        Its ``latent_dim``, ``hidden_dims``, device and precision carry over to VaDE.
    epochs : int, default=100
        Epochs of the VaDE phase.
    batch_size : int, default=256
    lr : float, default=0.002
    lr_decay : float, default=0.9
        Factor applied to the learning rate every ``decay_every`` epochs.
    decay_every : int, default=10
    recon : {"bce", "mse"}, default="bce"
        Likelihood ``p(x|z)``: "bce" (Bernoulli; data in [0, 1], e.g. MNIST pixels) or "mse"
        (Gaussian; any real data).
    random_state : int, numpy Generator or None, default=None
        Seeds pretraining, the GMM, shuffling and the reparameterisation noise; the global
        numpy and torch RNGs are left untouched.
    verbose : bool, default=False

    Attributes
    ----------
    embedding_ : VAEEmbedding
        The trained VAE: ``transform`` gives the posterior means.
    head_ : GMMPrior
        The trained mixture prior (``weights``, ``means``, ``log_vars``).
    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
        The prior's component means.
    labels_ : ndarray of shape (n_samples,)
    history_ : dict of str to list
        ``pretrain_*``: the autoencoder's history. Per VaDE epoch: ``loss``,
        ``reconstruction``, ``kl``, ``lr``, ``seconds``, ``cluster_sizes``,
        ``min_cluster_size``, ``n_empty_clusters``.
    n_iter_ : int
        Optimiser steps of the VaDE phase.
    n_features_in_ : int

    Warns
    -----
    RuntimeWarning
        Once, if a mixture component is left with no points (checked after every epoch).

    Examples
    --------
    >>> import numpy as np
    >>> from deepclust.methods import AutoencoderEmbedding
    >>> X = np.random.default_rng(0).random((300, 10)).astype("float32")  # in [0, 1]: Bernoulli
    >>> model = VaDE(3, embedding=AutoencoderEmbedding(latent_dim=3, hidden_dims=(32,), epochs=10), epochs=5, random_state=0).fit(X)
    >>> model.labels_.shape, model.sample(4, cluster=0, random_state=0).shape
    ((300,), (4, 10))

    References
    ----------
    Z. Jiang, Y. Zheng, H. Tan, B. Tang, H. Zhou. Variational Deep Embedding: An Unsupervised
    and Generative Approach to Clustering. IJCAI 2017. https://arxiv.org/abs/1611.05148
    """

    _desc = "VaDE"
    _reads_disk_input = False  # the VAE phase trains in memory
    _parameter_constraints = {
        "epochs": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "lr": POSITIVE_REAL,
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "decay_every": POSITIVE_INT,
        "recon": [StrOptions({"bce", "mse"})],
    }

    def __init__(self, n_clusters: int = 10, embedding=None, epochs: int = 100, batch_size: int = 256, lr: float = 0.002, lr_decay: float = 0.9, decay_every: int = 10, recon: str = "bce", random_state=None, verbose: bool = False) -> None:
        store_params(self, locals())

    def _make_head(self, n_clusters: int, latent_dim: int) -> GMMPrior:
        return GMMPrior(n_clusters, latent_dim)

    def _start_fit(self, X, *, n_clusters=None):
        X, k = super()._start_fit(X, n_clusters=n_clusters)
        check_recon(self.recon, X)  # "bce" needs data in [0, 1]
        if not isinstance(self.embedding, (type(None), AutoencoderEmbedding, str, os.PathLike)):
            raise ValueError(f"VaDE starts from a pretrained autoencoder: pass an AutoencoderEmbedding or the path of a saved one, got {type(self.embedding).__name__}")
        return X, k

    def _pretrained(self, emb) -> None:
        if not isinstance(emb, AutoencoderEmbedding):
            raise ValueError(f"VaDE starts from a pretrained autoencoder, but the saved embedding is a {type(emb).__name__}")

    def _build_module(self, emb, Z: np.ndarray, k: int, head_seed: int, device: torch.device) -> tuple[VaDEModule, torch.Tensor]:
        """The pretrained autoencoder's weights in a VAE (new log-variance layer), and a prior
        fitted as a diagonal GMM to the pretrained codes ``Z`` (Jiang et al. 2017, Sec. 4)."""
        vemb = _vae_embedding_like(emb, self.recon)
        arch = vemb._architecture(emb.n_features_in_)[0]
        arch["latent_dim"] = int(Z.shape[1])
        self._pending_embedding = (vemb, arch)  # filled with the trained VAE by _fitted_embedding
        vae = _vae_from(emb.autoencoder_, arch)
        prior = self._make_head(k, Z.shape[1])
        labels = prior.init_from_embedding(torch.from_numpy(Z), np.random.default_rng(head_seed))
        with torch.no_grad():
            # Start each posterior at the prior's typical component variance, the optimum of
            # the KL term for a point that belongs clearly to one component.
            vae.logvar_layer.bias.copy_(prior.log_vars.mean(dim=0).to(device))
        return VaDEModule(vae, prior.to(device), recon=self.recon), labels.to(device)

    def _clustering_phase(self, module: VaDEModule, X: torch.Tensor, init_labels: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> ClusteringPhase:
        history: dict[str, list] = {}
        monitor = ClusterSizeMonitor(module.prior.n_clusters, type(self).__name__, history)
        optimizer = adam(module.parameters(), lr=float(self.lr), eps=1e-4)
        return ClusteringPhase(
            loss_fn=lambda m, batch, state: m(batch[0]),
            optimizer=optimizer,
            epochs=int(self.epochs),
            callbacks=[StepDecay(optimizer, int(self.decay_every), float(self.lr_decay)), ClusterSizes(X, module, monitor, history)],
            history=history,
        )

    def _fitted_embedding(self, emb, module: VaDEModule, n_features: int, state: TrainState) -> VAEEmbedding:
        """A fitted :class:`VAEEmbedding` holding the trained VAE: ``transform`` gives posterior means."""
        vemb, arch = self.__dict__.pop("_pending_embedding")
        vemb._set_network(module.vae, arch, plain_history(state.history))
        return vemb

    @staticmethod
    def _head_of(module: VaDEModule) -> GMMPrior:
        return module.prior

    def sample(self, n_samples: int = 1, cluster: int | None = None, random_state=None) -> np.ndarray:
        """Generate data from the model: ``c ~ pi`` (or ``c = cluster``), ``z ~ N(mu_c, sigma_c^2)``, decode.

        Parameters
        ----------
        n_samples : int, default=1
        cluster : int or None, default=None
            Draw every sample from this component; None draws components from ``pi``.
        random_state : int, numpy Generator or None, default=None

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The decoder's data-space means (probabilities for ``recon="bce"``).
        """
        check_is_fitted(self, "labels_")
        if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        K = self.head_.n_clusters
        if cluster is not None and (not isinstance(cluster, (int, np.integer)) or isinstance(cluster, bool) or not 0 <= cluster < K):
            raise ValueError(f"cluster must be None or an integer in [0, {K}), got {cluster!r}")
        rng = seed_stream(random_state)
        with torch.no_grad():
            pi = self.head_.weights.double().numpy()
            means = self.head_.means.double().numpy()
            stds = np.exp(0.5 * self.head_.log_vars.double().numpy())
        comps = rng.choice(K, size=int(n_samples), p=pi / pi.sum()) if cluster is None else np.full(int(n_samples), int(cluster))
        z = means[comps] + stds[comps] * rng.standard_normal((int(n_samples), means.shape[1]))
        return self.embedding_.inverse_transform(z.astype(np.float32))


# -- the one place VaDE meets VAEEmbedding's internals ----------------------------------------
# VaDE's result is saved as a VAEEmbedding (embedding/*) so that transform, inverse_transform
# and save/load are that class's. Building one around a VAE trained elsewhere needs its
# architecture record (``_architecture``, ``_build``) and ``_set_network``; these three calls
# are kept here so that a public constructor on VAEEmbedding replaces them in one place.
def _vae_embedding_like(emb: AutoencoderEmbedding, recon: str) -> VAEEmbedding:
    """An unfitted VAEEmbedding with the pretrained autoencoder's public settings."""
    # The autoencoder's network: the MLP, a spec (saved with the model), or the user's own
    # modules (trained in memory; not savable, as for the autoencoder).
    network = emb.network if not _is_user_module(emb) else emb.autoencoder_
    return VAEEmbedding(latent_dim=emb.latent_dim, hidden_dims=tuple(emb.hidden_dims), network=network, recon=recon, precision=emb.precision, device=emb.device)


def _is_user_module(emb: AutoencoderEmbedding) -> bool:
    """The network is the user's own torch modules (an Autoencoder or an (encoder, decoder) pair)."""
    return isinstance(emb.network, (nn.Module, tuple, list))


def _vae_from(autoencoder: nn.Module, arch: dict) -> VAE:
    """The pretrained autoencoder's weights in a VAE of the savable architecture ``arch``."""
    source = vae_from_autoencoder(autoencoder, output=arch["output"])
    if arch["type"] == "module-vae":  # the user's own modules: no savable architecture to rebuild
        return source.to(next(autoencoder.parameters()).device)
    vae = VAEEmbedding._build(arch)
    try:
        vae.load_state_dict(source.state_dict())
    except RuntimeError as exc:
        raise ValueError(f"VaDE needs the autoencoder of AutoencoderEmbedding; its weights do not fit the VAE built from it: {exc}") from None
    return vae.to(next(autoencoder.parameters()).device)
