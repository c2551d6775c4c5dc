"""VaDE: a VAE whose prior is a Gaussian mixture, trained end to end by the shared loop."""

from __future__ import annotations

import logging
import os

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from deepclust.heads.gmm_prior import GMMPrior, vade_loss
from deepclust.methods._base import check_array_2d, draw_seed, resolve_precision, seed_stream, to_tensor, torch_seeded
from deepclust.methods._deep import CHUNK, ClusterSizeMonitor, DeepClusteringModel, _check_positive, _check_positive_int, _plain
from deepclust.methods._persist import register_model
from deepclust.methods.clustering import check_n_clusters, fit_embedding
from deepclust.methods.embedding import AutoencoderEmbedding
from deepclust.methods.vae import VAEEmbedding, check_recon
from deepclust.nn.vae import VAE, vae_from_autoencoder
from deepclust.train import Callback, TrainState, fit_module
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

    def __init__(self, X: torch.Tensor, model: nn.ModuleDict, monitor: ClusterSizeMonitor, history: dict) -> None:
        self.X, self.model, self.monitor, self.history = X, model, monitor, history

    @torch.no_grad()
    def on_epoch_end(self, state: TrainState) -> None:
        vae, prior = self.model["vae"], self.model["prior"]
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
    n_features_in_ : int

    Warns
    -----
    RuntimeWarning
        Once, if a cluster loses all its points during training.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from deepclust.methods import AutoencoderEmbedding
    >>> X, _ = make_blobs(300, n_features=10, centers=3, random_state=0)
    >>> emb = AutoencoderEmbedding(latent_dim=3, hidden_dims=(32,), epochs=10)
    >>> model = VaDE(3, embedding=emb, epochs=5, recon="mse", random_state=0).fit(X)
    >>> model.labels_.shape, model.sample(4, cluster=0, random_state=0).shape
    ((300,), (4, 10))

    References
    ----------
    Z. Jiang, Y. Zheng, H. Tan, B. Tang, H. Zhou. Variational Deep Embedding: An Unsupervised
    and Generative Approach to Clustering. IJCAI 2017. https://arxiv.org/abs/1611.05148
    """

    _desc = "VaDE"

    def __init__(
        self,
        n_clusters: int = 10,
        embedding=None,
        epochs: int = 100,
        batch_size: int = 256,
        lr: float = 0.002,
        lr_decay: float = 0.9,
        decay_every: int = 10,
        recon: str = "bce",
        random_state=None,
        verbose: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.embedding = embedding
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.decay_every = decay_every
        self.recon = recon
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        _check_positive_int(self, "epochs", "batch_size", "decay_every")
        _check_positive(self, "lr", "lr_decay")
        if self.lr_decay > 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")
        check_recon(self.recon)

    def _make_head(self, n_clusters: int, latent_dim: int) -> GMMPrior:
        return GMMPrior(n_clusters, latent_dim)

    def fit(self, X, y=None):
        """Pretrain (or load) the autoencoder, initialise the prior by a GMM, train VaDE; ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            In [0, 1] for ``recon="bce"``.
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        X = check_array_2d(X, min_samples=2)
        check_recon(self.recon, X)
        k = check_n_clusters(self.n_clusters, X.shape[0], X=X)
        rng = seed_stream(self.random_state)
        emb_seed, head_seed, train_seed = draw_seed(rng), draw_seed(rng), draw_seed(rng)
        embedding = self._default_embedding() if self.embedding is None else self.embedding
        if not isinstance(embedding, (AutoencoderEmbedding, str, os.PathLike)):
            raise ValueError(f"VaDE starts from a pretrained autoencoder: pass an AutoencoderEmbedding or the path of a saved one, got {type(embedding).__name__}")
        emb, Z = fit_embedding(embedding, emb_seed, X)
        if not isinstance(emb, AutoencoderEmbedding):
            raise ValueError(f"VaDE starts from a pretrained autoencoder, but the saved embedding is a {type(emb).__name__}")
        pretrain_history = {f"pretrain_{key}": list(v) for key, v in getattr(emb, "history_", {}).items()}

        # The VAE has the pretrained autoencoder's network: the MLP, a spec (saved with the model),
        # or the user's own modules (trained in memory; not savable, as for the autoencoder).
        network = emb.network if getattr(emb, "_arch", {}).get("type") != "module" else emb.autoencoder_
        vemb = VAEEmbedding(latent_dim=emb.latent_dim, hidden_dims=tuple(emb.hidden_dims), network=network, recon=self.recon, precision=emb.precision, device=emb.device)
        arch, _ = vemb._architecture(X.shape[1])
        arch["latent_dim"] = int(Z.shape[1])
        recon = self.recon
        history: dict[str, list] = {}
        monitor = ClusterSizeMonitor(k, type(self).__name__, history)

        def loss_fn(module: nn.ModuleDict, batch, state: TrainState):
            x = batch[0]
            x_hat, mu, logvar, z = module["vae"](x)
            return vade_loss(x, x_hat, mu, logvar, module["prior"], z=z, recon=recon)

        device = next(emb.autoencoder_.parameters()).device
        # Inside the seeded block: building layers and the reparameterisation noise draw from
        # a forked copy of the global torch RNG.
        with torch_seeded(train_seed, device) as gen:
            vae = self._vae_from(emb.autoencoder_, arch)
            prior = self._make_head(k, Z.shape[1])
            prior.init_from_embedding(torch.from_numpy(Z), np.random.default_rng(head_seed))
            with torch.no_grad():
                # Start each posterior at the prior's typical component variance, the optimum of
                # the KL term for a point that belongs clearly to one component.
                vae.logvar_layer.bias.copy_(prior.log_vars.mean(dim=0).to(device))
            model = nn.ModuleDict({"vae": vae, "prior": prior.to(device)})
            Xt = to_tensor(X, device)
            optimizer = adam(model.parameters(), lr=float(self.lr), eps=1e-4)
            callbacks = [StepDecay(optimizer, int(self.decay_every), float(self.lr_decay)), ClusterSizes(Xt, model, monitor, history)]
            state = fit_module(
                model,
                loss_fn,
                (Xt,),
                epochs=int(self.epochs),
                batch_size=int(self.batch_size),
                optimizer=optimizer,
                generator=gen,
                callbacks=callbacks,
                autocast_dtype=resolve_precision(emb.precision, device),
                progress=bool(self.verbose),
                desc=self._desc,
            )
        vemb._set_network(vae, arch, _plain(state.history))
        self.embedding_ = vemb
        self.head_ = prior.cpu().eval()
        self.n_features_in_ = X.shape[1]
        self.n_iter_ = int(state.step)
        self.stop_reason_ = state.stop_reason
        self.history_ = {**pretrain_history, **_plain(state.history), **_plain(history)}
        self._set_fitted(self.embedding_.transform(X))
        return self

    @staticmethod
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
