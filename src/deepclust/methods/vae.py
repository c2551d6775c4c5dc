"""VAEEmbedding (a variational autoencoder as a scikit-learn transformer) and VAEClustering
(its latent means, then any clusterer)."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from typing import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from deepclust.methods._base import (
    Float32OutputMixin,
    apply_in_chunks,
    check_array_2d,
    draw_seed,
    resolve_device,
    resolve_precision,
    seed_stream,
    to_tensor,
    torch_seeded,
)

from deepclust.methods._persist import load_model, prefixed, register_model, save_model, unprefixed
from deepclust.methods.clustering import AutoencoderClustering
from deepclust.datasets import load_network_spec as load_spec
from deepclust.nn import Autoencoder, build_autoencoder, glorot_uniform_
from deepclust.nn.cohort_augment import TabularAugmenter
from deepclust.preprocess.augment_text import check_augment
from deepclust.nn.vae import RECONS, VAE, elbo_loss, mlp_vae, vae_from_autoencoder
from deepclust.train import EarlyStopping, fit_module
from deepclust.train.optim import adam

logger = logging.getLogger(__name__)


def check_recon(recon: str, X: np.ndarray | None = None) -> str:
    """Validate ``recon``; for "bce" also that ``X`` lies in [0, 1]."""
    if recon not in RECONS:
        raise ValueError(f"recon must be one of {RECONS}, got {recon!r}")
    if recon == "bce" and X is not None and (X.min() < 0.0 or X.max() > 1.0):
        raise ValueError(
            f"recon='bce' (Bernoulli likelihood) needs data in [0, 1], but X ranges over [{X.min():.4g}, {X.max():.4g}]; "
            "scale it to [0, 1] or use recon='mse'"
        )
    return recon


@register_model
class VAEEmbedding(Float32OutputMixin, TransformerMixin, BaseEstimator):
    """Learn a low-dimensional embedding with a fully connected variational autoencoder.

    The network is the ``d-500-500-2000-latent_dim`` MLP of DEC/VaDE with linear mean and
    log-variance layers, trained on the negative ELBO (reconstruction summed over features +
    ``beta`` times the KL divergence to ``N(0, I)``) with Adam (Kingma & Welling, ICLR 2014;
    Higgins et al., ICLR 2017 for ``beta``). ``transform`` returns the posterior means.

    Parameters
    ----------
    latent_dim : int, default=10
    hidden_dims : sequence of int, default=(500, 500, 2000)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    network : dict, str, os.PathLike, Autoencoder, (nn.Module, nn.Module) or None, default=None
        The network, when not the MLP (``latent_dim`` and ``hidden_dims`` are then ignored), as
        for :class:`~deepclust.methods.AutoencoderEmbedding`: a spec (dict or ``.json`` /
        ``.yaml`` path; e.g. a convolutional encoder, the decoder mirrored), or your own
        modules. The encoder's last layer (a ``Dense`` layer, ``nn.Linear``) becomes the
        posterior mean and a new layer of the same shape the log-variance. A spec network is
        saved with the model; your own modules cannot be (no pickle).
    epochs : int, default=100
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

    def __init__(
        self,
        latent_dim: int = 10,
        hidden_dims: Sequence[int] = (500, 500, 2000),
        network=None,
        epochs: int = 100,
        batch_size: int = 256,
        lr: float = 1e-3,
        beta: float = 1.0,
        recon: str = "mse",
        patience: int | None = None,
        precision: str = "auto",
        device: str = "auto",
        random_state=None,
        verbose: bool = False,
        augment=None,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.network = network
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.augment = augment
        self.recon = recon
        self.patience = patience
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        for name in ("latent_dim", "epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not (isinstance(self.beta, (int, float)) and not isinstance(self.beta, bool) and self.beta >= 0):
            raise ValueError(f"beta must be a non-negative number, got {self.beta!r}")
        if any(not isinstance(h, (int, np.integer)) or h < 1 for h in self.hidden_dims):
            raise ValueError(f"hidden_dims must be positive integers, got {self.hidden_dims!r}")
        check_recon(self.recon)

    def _architecture(self, n_features: int) -> tuple[dict, VAE | None]:
        """What to save about the network, and the VAE made from the user's own modules if any."""
        output = "bernoulli" if self.recon == "bce" else "linear"
        net, n_features = self.network, int(n_features)
        if net is None:
            arch = {"type": "mlp-vae", "n_features": n_features, "hidden_dims": [int(h) for h in self.hidden_dims], "latent_dim": int(self.latent_dim)}
            return {**arch, "output": output}, None
        if isinstance(net, (Mapping, str, os.PathLike)):
            return {"type": "spec-vae", "n_features": n_features, "spec": load_spec(net), "output": output}, None
        if isinstance(net, Autoencoder):
            return {"type": "module-vae", "n_features": n_features, "output": output}, vae_from_autoencoder(net, output=output)
        if isinstance(net, (tuple, list)) and len(net) == 2 and all(isinstance(m, torch.nn.Module) for m in net):
            encoder, decoder = copy.deepcopy(tuple(net))
            return {"type": "module-vae", "n_features": n_features, "output": output}, vae_from_autoencoder(Autoencoder(encoder, decoder), output=output)
        raise ValueError(
            "network must be None (the MLP), a spec dict, the path of a .json/.yaml spec, a deepclust.nn.Autoencoder "
            f"or an (encoder, decoder) pair of torch modules; got {type(net).__name__}"
        )

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

    def fit(self, X, y=None):
        """Train the VAE on ``X`` of shape (n_samples, n_features); ``y`` is ignored."""
        self._check_params()
        X = check_array_2d(X, min_samples=2)
        check_recon(self.recon, X)
        device = resolve_device(self.device)
        autocast = resolve_precision(self.precision, device)
        augment = check_augment(self.augment)
        rng = seed_stream(self.random_state)
        seed = draw_seed(rng)
        arch, user_vae = self._architecture(X.shape[1])
        recon, beta = self.recon, float(self.beta)
        with torch_seeded(seed, device) as gen:  # also seeds the reparameterisation noise
            vae = (glorot_uniform_(self._build(arch), generator=gen) if user_vae is None else user_vae).to(device)
            arch["latent_dim"] = _check_vae(vae, X.shape[1], device)
            optimizer = adam(vae.parameters(), lr=float(self.lr))
            callbacks = [EarlyStopping(self.patience)] if self.patience else []
            Xt = to_tensor(X, device)
            augmenter = TabularAugmenter(augment, Xt, draw_seed(rng)) if augment else None

            def loss_fn(m, batch, st):
                x_in, target = augmenter(batch[0]) if augmenter is not None else (batch[0], batch[0])
                return elbo_loss(target, *m(x_in)[:3], recon=recon, beta=beta)

            state = fit_module(
                vae,
                loss_fn,
                (Xt,),
                epochs=int(self.epochs),
                batch_size=int(self.batch_size),
                optimizer=optimizer,
                generator=gen,
                callbacks=callbacks,
                autocast_dtype=autocast,
                progress=bool(self.verbose),
                desc="VAE",
            )
        if state.stop_reason:
            logger.info(state.stop_reason)
        self._set_network(vae, arch, state.history)
        return self

    def _set_network(self, vae: VAE, arch: dict, history: dict) -> None:
        """Install a trained network (used by :meth:`fit` and by VaDE, which trains its own)."""
        self._arch = dict(arch)
        self.autoencoder_ = vae.eval()
        self.n_features_in_ = int(arch["n_features"])
        self.history_ = history

    def _device_of_model(self) -> torch.device:
        return next(self.autoencoder_.parameters()).device

    def transform(self, X) -> np.ndarray:
        """Posterior means of shape (n_samples, latent_dim), float32."""
        check_is_fitted(self, "autoencoder_")
        X = check_array_2d(X, n_features=self.n_features_in_, owner=type(self).__name__)
        self.autoencoder_.eval()
        return apply_in_chunks(lambda x: self.autoencoder_.encode(x)[0], X, self._device_of_model())

    def inverse_transform(self, Z) -> np.ndarray:
        """Decode latent points (n_samples, latent_dim) to the data-space mean (n_samples, n_features)."""
        check_is_fitted(self, "autoencoder_")
        Z = check_array_2d(Z, name="Z", n_features=int(self._arch["latent_dim"]))
        self.autoencoder_.eval()
        return apply_in_chunks(self.autoencoder_.mean, Z, self._device_of_model())

    def reconstruct(self, X) -> np.ndarray:
        """``decode(mu(X))`` as a data-space mean, shape (n_samples, n_features)."""
        return self.inverse_transform(self.transform(X))

    def sample(self, n_samples: int = 1, random_state=None) -> np.ndarray:
        """Draw ``z ~ N(0, I)`` and decode: (n_samples, n_features) data-space means."""
        check_is_fitted(self, "autoencoder_")
        if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        z = seed_stream(random_state).standard_normal((int(n_samples), int(self._arch["latent_dim"]))).astype(np.float32)
        return self.inverse_transform(z)

    # -- persistence --------------------------------------------------------------------------
    def save(self, path, *, overwrite: bool = False):
        """Save to folder ``path`` as JSON + safetensors (no pickle). Returns the path."""
        check_is_fitted(self, "autoencoder_")
        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        """Load a model saved with :meth:`save`."""
        return load_model(path, expected=cls)

    def _save_state(self):
        if self._arch.get("type") == "module-vae":
            raise ValueError(
                "cannot save a VAE built from user-supplied torch modules: deepclust saves without pickle and cannot rebuild "
                "arbitrary code from a file; describe the network as a spec (network=dict or a .json path) to save the model"
            )
        sd = {k: v.detach().cpu().numpy() for k, v in self.autoencoder_.state_dict().items()}
        meta = {"architecture": self._arch, "n_features_in": int(self.n_features_in_), "history": self.history_}
        return meta, prefixed("vae", sd)

    def _load_state(self, meta, arrays):
        arch = meta["architecture"]
        vae = self._build(arch)
        sd = {k: torch.from_numpy(v.copy()) for k, v in unprefixed("vae", arrays).items()}
        try:
            vae.load_state_dict(sd)
        except RuntimeError as exc:
            raise ValueError(f"saved weights do not match the saved architecture: {exc}") from None
        self._set_network(vae.to(resolve_device(self.device)), arch, meta.get("history", {}))


def _check_vae(vae: VAE, n_features: int, device: torch.device) -> int:
    """Run two zero rows through ``vae`` and return the code size; explain a misfit network."""
    was_training = vae.training
    vae.eval()
    try:
        with torch.no_grad():
            mu, _ = vae.encode(torch.zeros(2, n_features, device=device))
            x = vae.decode(mu)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"the VAE network fails on input of shape (2, {n_features}): {exc}") from None
    finally:
        vae.train(was_training)
    if mu.ndim != 2 or tuple(x.shape) != (2, n_features):
        raise ValueError(f"the VAE network maps (2, {n_features}) to codes {tuple(mu.shape)} and back to {tuple(x.shape)}; expected (2, latent_dim) and (2, {n_features})")
    return int(mu.shape[1])


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
