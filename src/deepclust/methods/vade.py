"""VaDE: a VAE whose prior is a Gaussian mixture, trained end to end by the shared loop."""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted
from torch import nn

from deepclust.heads.gmm_prior import GMMPrior
from deepclust.heads.modules import VaDEModule
from deepclust.methods._base import seed_stream
from deepclust.methods._clusterers import GMM_N_INIT
from deepclust.methods._composite import CHUNK, plain_history, store_params
from deepclust.methods._deep import ClusteringPhase, ClusterSizeMonitor, DeepClusteringModel
from deepclust.methods._params import POSITIVE_INT, POSITIVE_REAL, Interval, Real, StrOptions
from deepclust.methods._persist import register_model
from deepclust.methods.embedding import AutoencoderEmbedding
from deepclust.methods.n2d import manifold_partition
from deepclust.methods.vae import VAEEmbedding, check_recon
from deepclust.nn.vae import VAE, vae_from_autoencoder
from deepclust.train import Callback, TrainState
from deepclust.train.optim import adam

logger = logging.getLogger(__name__)

#: The posterior log-variance starts this far below the prior's mean log-variance.
LOGVAR_OFFSET = 4.0
_RECON_OF_OUTPUT = {"linear": "mse", "bernoulli": "bce"}  # an Autoencoder's output -> its recon
_LIKELIHOOD = {"bce": "Bernoulli logits", "mse": "a Gaussian mean (squared error)"}


class StepDecay(Callback):
    """Step decay with a floor: ``lr_epoch = max(lr * gamma ** (epoch // step_size), min_lr)``.

    Sets the optimiser's rate at the start of every epoch and logs it as ``lr``. The rate is a
    function of the epoch alone, so a resumed run gets the same schedule with no state. A
    floor above ``lr`` is read as ``lr`` (the floor never raises the rate).

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    lr : float
        The rate of the first ``step_size`` epochs.
    step_size : int
    gamma : float
    min_lr : float, default=0.0
    """

    def __init__(self, optimizer: torch.optim.Optimizer, lr: float, step_size: int, gamma: float, min_lr: float = 0.0) -> None:
        self.optimizer, self.lr, self.step_size, self.gamma = optimizer, float(lr), int(step_size), float(gamma)
        self.min_lr = min(float(min_lr), self.lr)

    def rate(self, epoch: int) -> float:
        """The learning rate of 0-based ``epoch``."""
        return max(self.lr * self.gamma ** (epoch // self.step_size), self.min_lr)

    def on_epoch_begin(self, state: TrainState) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.rate(state.epoch)

    def on_epoch_end(self, state: TrainState) -> None:
        state.logs["lr"] = self.rate(state.epoch)


class VaDEDiagnostics(Callback):
    """After each epoch, with the network in eval mode, label every sample by the prior on its
    posterior mean and log what tells a healthy run from a collapsing one without labels.

    Per epoch, next to the ELBO terms the loop logs (``loss``, ``reconstruction``, ``kl``):
    ``posterior_logvar`` (mean encoder log-variance over samples and dimensions),
    ``prior_logvar`` (mean log-variance of the mixture components), ``pi_min`` (the smallest
    mixture weight: a dying component), ``label_change`` (fraction of labels that differ
    from the previous epoch's; from the GMM initialisation's for the first epoch), and
    through :class:`ClusterSizeMonitor` ``cluster_sizes``, ``min_cluster_size`` and
    ``n_empty_clusters`` (warning once when a component has lost all its points).
    """

    def __init__(self, X: torch.Tensor, model: VaDEModule, monitor: ClusterSizeMonitor, init_labels: torch.Tensor) -> None:
        self.X, self.model, self.monitor = X, model, monitor
        self.previous = init_labels.detach().clone()

    @torch.no_grad()
    def _labels_and_logvar(self) -> tuple[torch.Tensor, float]:
        """Labels (n,) at the posterior means and the mean posterior log-variance."""
        vae, prior = self.model.vae, self.model.prior
        was_training = vae.training
        vae.eval()
        labels, logvar_sum = [], 0.0
        try:
            for i in range(0, self.X.shape[0], CHUNK):
                mu, logvar = vae.encode(self.X[i : i + CHUNK])
                labels.append(prior.predict(mu.float()))
                logvar_sum += float(logvar.float().sum())
        finally:
            vae.train(was_training)
        return torch.cat(labels), logvar_sum / (self.X.shape[0] * self.model.prior.latent_dim)

    @torch.no_grad()
    def on_epoch_end(self, state: TrainState) -> None:
        labels, posterior_logvar = self._labels_and_logvar()
        prior = self.model.prior
        state.logs["posterior_logvar"] = posterior_logvar
        state.logs["prior_logvar"] = float(prior.log_vars.float().mean())
        state.logs["pi_min"] = float(prior.weights.min())
        state.logs["label_change"] = float((labels != self.previous.to(labels.device)).float().mean())
        self.previous = labels
        self.monitor.record(labels, f"epoch {state.epoch}")  # records the sizes too

    def state_dict(self) -> dict:
        return {"monitor": self.monitor.state_dict(), "previous": self.previous.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.monitor.load_state_dict(state["monitor"])
        if "previous" in state:  # checkpoints written before label_change existed lack it
            self.previous = torch.as_tensor(state["previous"]).to(self.previous.device)


@register_model
class VaDE(DeepClusteringModel):
    """Variational Deep Embedding (Jiang, Zheng, Tan, Tang, Zhou, IJCAI 2017).

    A VAE whose prior is a learnable mixture of diagonal Gaussians ``p(c) p(z|c)``. As in the
    paper, the network starts from a pretrained autoencoder (encoder, embedding layer and
    decoder are copied; the log-variance layer is new); the prior starts from a partition of
    the pretrained codes (``init``); then VAE and prior are trained together on the negative
    ELBO (eq. 14) by the shared loop. Clusters are ``argmax_c p(c|z)`` at the posterior mean.

    The paper fits the starting prior as a diagonal GMM on the codes (``init="gmm"``). By
    default it is fitted to the partition N2D's manifold step finds on the same codes
    (``init="manifold"``), a departure chosen by measurement: VaDE keeps most of the
    partition it starts from, and on held-out data the manifold start ended higher
    (Fashion-MNIST train, first 10,000 images, seeds 0-2: ACC 0.611 vs 0.584, NMI 0.637 vs
    0.588; the serum metabolome: equal; ``benchmarks/NOTES_vade_dec.md`` section 10).

    As in the reference code (github.com/slim1017/VaDE), the pretraining uses VaDE's own
    likelihood: with ``recon="bce"`` (the default, for MNIST-like data in [0, 1]) the
    autoencoder is trained with a Bernoulli decoder (logits, binary cross-entropy summed over
    features), so the VaDE decoder starts from a network that was trained to be read that
    way. The optimiser is Adam (``eps=1e-4``) with a step decay of 0.9 every 10 epochs and a
    floor of ``min_lr`` (the reference's 2e-4). Two settings differ from the reference, by
    measurement (``benchmarks/NOTES_vade_dec.md``): the learning rate is 2e-4, not 2e-3 (at
    2e-3 a quarter of the labels move and a component empties in the first epoch), and the
    posterior log-variance starts narrow (its layer's bias at the prior's mean log-variance
    minus 4, weights zero), which halves the first reconstruction cost.

    The paper's long schedule (500 epochs of MNIST-70k at batch 100, lr 2e-3 decaying to the
    floor) is available as a setting, not the default::

        VaDE(lr=2e-3, min_lr=2e-4, epochs=300, batch_size=100)

    Parameters
    ----------
    n_clusters : int, default=10
    embedding : AutoencoderEmbedding, str or path, default=None
        The pretraining: None uses ``AutoencoderEmbedding(recon=recon)``
        (``d-500-500-2000-10``); an unfitted one is cloned, given VaDE's ``recon`` and fitted
        (VaDE's likelihood governs its pretraining); a path to a saved, fitted one
        warm-starts from it, and must have been trained with the same ``recon`` (else a
        ValueError). Its ``latent_dim``, ``hidden_dims``, device and precision carry over.
    epochs : int, default=100
        Epochs of the VaDE phase.
    batch_size : int, default=256
    lr : float, default=2e-4
        Adam learning rate of the first ``decay_every`` epochs.
    lr_decay : float, default=0.9
        Factor applied to the learning rate every ``decay_every`` epochs.
    decay_every : int, default=10
    min_lr : float, default=2e-4
        Floor of the decayed rate: ``lr_epoch = max(lr * lr_decay ** (epoch // decay_every),
        min_lr)`` (epochs counted from 0); a floor above ``lr`` is read as ``lr``. With the
        defaults (``lr = min_lr = 2e-4``) the rate is constant; the decay acts in the long
        schedule (``lr=2e-3``: 2e-3 down to the floor at epoch 220).
    recon : {"auto", "bce", "mse"}, default="auto"
        Likelihood ``p(x|z)``: "bce" (Bernoulli; data in [0, 1], e.g. MNIST pixels) or "mse"
        (Gaussian; any real data). "auto" follows the data, as the paper does per dataset:
        Bernoulli when every value lies in [0, 1] (images, min-max scaled tables), Gaussian
        otherwise (standardised tables, embeddings). The pretraining uses the same likelihood;
        the one used is ``recon_``.
    init : {"manifold", "gmm"}, default="manifold"
        Where the prior starts. "gmm": a diagonal GMM on the pretrained codes, the best
        likelihood of 10 starts (the paper's initialisation). "manifold": the partition
        N2D's manifold step finds on the same codes (UMAP ``n_neighbors=20, min_dist=0`` to
        ``n_clusters`` dimensions, then a full GMM, as in :class:`N2D`), turned into the
        prior's weights, means and diagonal variances by each cluster's moments in the code
        space. Neither uses labels. VaDE mostly keeps the partition it starts from
        (``benchmarks/NOTES_vade_dec.md`` sections 7 and 9), so the start decides much of its
        result; the measurements behind the default are in section 10 there. If the manifold
        step's mixture leaves a component empty, the prior starts from "gmm" (with a warning).
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
        ``pretrain_*``: the autoencoder's history. Per VaDE epoch, none of which needs
        labels: the negative ELBO ``loss`` and its terms ``reconstruction`` and ``kl``,
        ``lr``, ``seconds``, ``posterior_logvar`` and ``prior_logvar`` (mean log-variances of
        the encoder and of the mixture), ``pi_min`` (smallest mixture weight),
        ``label_change`` (fraction of labels changed since the previous epoch, or since the
        GMM initialisation), ``cluster_sizes``, ``min_cluster_size``, ``n_empty_clusters``.
    n_iter_ : int
        Optimiser steps of the VaDE phase.
    init_labels_ : ndarray of shape (n_samples,)
        The labels of the partition the prior started from (``init``; VaDE mostly keeps
        them: ``benchmarks/NOTES_vade_dec.md`` sections 7 and 10).
    n_features_in_ : int

    Raises
    ------
    ValueError
        When a saved embedding (``embedding`` a path) was trained with another likelihood
        than ``recon``: reading a squared-error decoder as Bernoulli logits costs ~5x the
        reconstruction of a Bernoulli-trained one at the start and wrecks the initialisation.
        A refusal rather than a warning: the fix (pretrain with the same ``recon``, or change
        ``recon``) is cheap, and the mismatched run is not worth its compute.

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
        "min_lr": [Interval(Real, 0, None, closed="left")],
        "recon": [StrOptions({"auto", "bce", "mse"})],
        "init": [StrOptions({"gmm", "manifold"})],
    }

    def __init__(
        self, n_clusters: int = 10, embedding=None, epochs: int = 100, batch_size: int = 256, lr: float = 2e-4, lr_decay: float = 0.9, decay_every: int = 10,
        min_lr: float = 2e-4, recon: str = "auto", init: str = "manifold", random_state=None, verbose: bool = False,
    ) -> None:
        store_params(self, locals())

    def _make_head(self, n_clusters: int, latent_dim: int) -> GMMPrior:
        return GMMPrior(n_clusters, latent_dim)

    def _start_fit(self, X, *, n_clusters=None):
        X, k = super()._start_fit(X, n_clusters=n_clusters)
        self.recon_ = likelihood_for(self.recon, X)
        check_recon(self.recon_, X)  # "bce" needs data in [0, 1]
        if not isinstance(self.embedding, (type(None), AutoencoderEmbedding, str, os.PathLike)):
            raise ValueError(f"VaDE starts from a pretrained autoencoder: pass an AutoencoderEmbedding or the path of a saved one, got {type(self.embedding).__name__}")
        return X, k

    def _default_embedding(self) -> AutoencoderEmbedding:
        return AutoencoderEmbedding(recon=self.recon_)

    def _embedding_to_fit(self, default=None):
        """An unfitted autoencoder is pretrained under VaDE's likelihood (``recon``)."""
        emb = super()._embedding_to_fit(default)
        if isinstance(emb, AutoencoderEmbedding) and "recon" in emb.get_params(deep=False):
            emb = clone(emb).set_params(recon=self.recon_)
        return emb

    def _pretrained(self, emb) -> None:
        if not isinstance(emb, AutoencoderEmbedding):
            raise ValueError(f"VaDE starts from a pretrained autoencoder, but the saved embedding is a {type(emb).__name__}")
        trained = _RECON_OF_OUTPUT[emb.autoencoder_.output]
        if trained != self.recon_:
            raise ValueError(
                f"VaDE(recon={self.recon_!r}) reads the decoder output as {_LIKELIHOOD[self.recon_]}, but the pretrained "
                f"{type(emb).__name__} was trained with recon={trained!r} ({_LIKELIHOOD[trained]}); pretrain with "
                f"AutoencoderEmbedding(recon={self.recon_!r}) (or pass an unfitted one), or use VaDE(recon={trained!r})"
            )

    def _build_module(self, emb, Z: np.ndarray, k: int, head_seed: int, device: torch.device) -> tuple[VaDEModule, torch.Tensor]:
        """The pretrained autoencoder's weights in a VAE (new log-variance layer), and a prior
        fitted to a partition of the pretrained codes ``Z`` (``init``; the paper's is a
        diagonal GMM, Jiang et al. 2017, Sec. 4)."""
        vemb = _vae_embedding_like(emb, self.recon_)
        arch = vemb._architecture(emb.n_features_in_)[0]
        arch["latent_dim"] = int(Z.shape[1])
        self._pending_embedding = (vemb, arch)  # filled with the trained VAE by _fitted_embedding
        vae = _vae_from(emb.autoencoder_, arch)
        prior = self._make_head(k, Z.shape[1])
        labels = self._init_prior(prior, Z, k, head_seed)
        with torch.no_grad():
            # Start each posterior narrow: std ~1/7 of the typical component's (log-variance
            # 4 below it; weights stay 0). A posterior as wide as its cluster doubles the first
            # reconstruction cost and blurs gamma(z) (benchmarks/NOTES_vade_dec.md, 1.3 e -> f).
            vae.logvar_layer.bias.copy_(prior.log_vars.mean(dim=0).to(device) - LOGVAR_OFFSET)
        return VaDEModule(vae, prior.to(device), recon=self.recon_), labels.to(device)

    def _init_prior(self, prior: GMMPrior, Z: np.ndarray, k: int, seed: int) -> torch.Tensor:
        """Set the prior's starting mixture from the codes ``Z``; return its labels."""
        if self.init == "manifold":
            labels = manifold_partition(Z, k, seed)
            if np.bincount(labels, minlength=k).min() > 0:
                return prior.init_from_labels(torch.from_numpy(Z), labels)
            warnings.warn(
                "VaDE(init='manifold'): the manifold step's mixture left a component empty; the prior starts from a diagonal GMM on the codes instead",
                RuntimeWarning,
                stacklevel=4,
            )
        # The best likelihood of GMM_N_INIT starts, as N2D's mixture: one start can settle in a
        # poor optimum that VaDE then keeps (the suite's exposures, seed 1: ACC 0.79 where the
        # best of 10 gives 0.98; NOTES_vade_dec.md section 7).
        return prior.init_from_embedding(torch.from_numpy(Z), np.random.default_rng(seed), n_init=GMM_N_INIT)

    def _clustering_phase(self, module: VaDEModule, X: torch.Tensor, init_labels: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> ClusteringPhase:
        history: dict[str, list] = {}
        monitor = ClusterSizeMonitor(module.prior.n_clusters, type(self).__name__, history)
        optimizer = adam(module.parameters(), lr=float(self.lr), eps=1e-4)
        decay = StepDecay(optimizer, float(self.lr), int(self.decay_every), float(self.lr_decay), float(self.min_lr))
        return ClusteringPhase(
            loss_fn=lambda m, batch, state: m(batch[0]),
            optimizer=optimizer,
            epochs=int(self.epochs),
            callbacks=[decay, VaDEDiagnostics(X, module, monitor, init_labels)],
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
def likelihood_for(recon: str, X) -> str:
    """``recon`` with "auto" resolved: Bernoulli ("bce") for data in [0, 1], Gaussian ("mse") otherwise."""
    if recon != "auto":
        return recon
    return "bce" if float(np.min(X)) >= 0.0 and float(np.max(X)) <= 1.0 else "mse"


def _vae_embedding_like(emb: AutoencoderEmbedding, recon: str) -> VAEEmbedding:
    """An unfitted VAEEmbedding with the pretrained autoencoder's public settings."""
    # The autoencoder's network: the MLP, a spec (saved with the model), or the user's own
    # modules (trained in memory; not savable, as for the autoencoder).
    network = emb.network if not _is_user_module(emb) else emb.autoencoder_
    # The widths the autoencoder was built with (hidden_dims="auto" resolved by the width rule),
    # so that the VAE's layers are the pretrained ones whatever the rule says later.
    widths = getattr(emb, "_arch", {}).get("hidden_dims", emb.hidden_dims)
    widths = widths if isinstance(widths, str) else tuple(int(w) for w in widths)
    return VAEEmbedding(latent_dim=emb.latent_dim, hidden_dims=widths, network=network, recon=recon, precision=emb.precision, device=emb.device)


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
