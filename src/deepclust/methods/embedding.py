"""AutoencoderEmbedding: a scikit-learn transformer that learns an autoencoder's codes."""

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
from torch import nn

from deepclust.losses import reconstruction_mse
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
from deepclust.methods.streaming import BlockBatches, DiskArray, check_array_or_disk
from deepclust.datasets import load_network_spec as load_spec
from deepclust.nn import Autoencoder, build_autoencoder, glorot_uniform_, mlp_autoencoder
from deepclust.nn.cohort_augment import TabularAugmenter
from deepclust.preprocess.augment_text import check_augment
from deepclust.train import EarlyStopping, fit_module
from deepclust.train.optim import adam

logger = logging.getLogger(__name__)


@register_model
class AutoencoderEmbedding(Float32OutputMixin, TransformerMixin, BaseEstimator):
    """Learn a low-dimensional embedding with an autoencoder.

    The network is by default DEC's symmetric MLP ``d-500-500-2000-latent_dim`` with linear
    embedding and output layers (Xie et al. 2016; McConville et al. 2020); ``network`` swaps in
    a convolutional autoencoder from a spec (Aljalbout et al. 2018) or your own torch modules.
    It is trained on the mean squared reconstruction error with Adam. ``transform`` returns
    the codes.

    Parameters
    ----------
    latent_dim : int, default=10
        Size of the embedding.
    hidden_dims : sequence of int, default=(500, 500, 2000)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    network : dict, str, os.PathLike, Autoencoder, (nn.Module, nn.Module) or None, default=None
        The network, when not the MLP above (``latent_dim`` and ``hidden_dims`` are then
        ignored):

        - a spec dict, or the path of a ``.json`` / ``.yaml`` file holding one: the encoder as
          a list of layers, the decoder mirrored automatically (see
          :func:`deepclust.nn.load_spec`); rows of ``X`` are flattened samples of the spec's
          ``input_shape``, channels first (e.g. 784 columns for ``[1, 28, 28]``);
        - a :class:`deepclust.nn.Autoencoder`, or an ``(encoder, decoder)`` pair of modules:
          your own network. The encoder takes ``(batch, n_features)`` rows and returns
          ``(batch, latent_dim)`` codes; the decoder returns ``(batch, n_features)`` (end it
          with ``nn.Flatten()`` for image decoders). It is copied, not trained in place, and
          keeps your initialisation. Such a model cannot be saved with :meth:`save`, which
          never pickles code; describe the network as a spec to save it.

        Networks built here (the MLP and spec networks) get DEC's initialisation of the
        fully connected layers (:func:`deepclust.nn.glorot_uniform_`).
    epochs : int, default=100
        Passes over the data.
    batch_size : int, default=256
    lr : float, default=1e-3
        Adam learning rate.
    patience : int or None, default=None
        Stop when the loss has not improved by 0.01% for this many epochs; None trains all epochs.
    precision : {"auto", "float32", "bf16"}, default="auto"
        Training arithmetic. "auto" uses bfloat16 autocast on CUDA and on CPUs with native bf16
        instructions, float32 elsewhere. Inference is always float32.
    device : str, default="auto"
        "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
    random_state : int, numpy Generator or None, default=None
        Seeds weights and shuffling. The same int gives the same embedding on CPU. The global
        numpy and torch random states are left untouched.
    verbose : bool, default=False
        Show a progress bar.
    augment : dict or None, default=None
        Training-time augmentation of every minibatch for small cohorts, e.g.
        ``{"noise": 0.1, "mixup": 0.2, "marginal": 0.1}``: Gaussian noise of 0.1 feature
        standard deviations, mixup of rows within the batch with Beta(0.2, 0.2) weights, and
        each entry replaced with probability 0.1 by a draw from its feature's marginal (see
        :mod:`deepclust.nn.augment`). The network reconstructs the uncorrupted (mixed) rows.
        Seeded by ``random_state``; ``transform`` never augments.

    Attributes
    ----------
    autoencoder_ : deepclust.nn.Autoencoder
    n_features_in_ : int
    history_ : dict of str to list of float
        Per-epoch ``loss`` and ``seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((100, 8)).astype("float32")
    >>> emb = AutoencoderEmbedding(latent_dim=2, hidden_dims=(16,), epochs=2, random_state=0)
    >>> emb.fit_transform(X).shape
    (100, 2)

    A small convolutional autoencoder for 8x8 single-channel images:

    >>> spec = {"input_shape": [1, 8, 8], "encoder": [
    ...     {"type": "Conv2D", "filters": 4, "kernel": 3, "stride": 2},
    ...     {"type": "Flatten"}, {"type": "Dense", "units": 2}]}
    >>> X = np.random.default_rng(0).random((50, 64)).astype("float32")
    >>> AutoencoderEmbedding(network=spec, epochs=2, random_state=0).fit_transform(X).shape
    (50, 2)

    References
    ----------
    Xie, Girshick & Farhadi (2016). Unsupervised deep embedding for clustering analysis. ICML.
    Aljalbout, Golkov, Siddiqui, Strobel & Cremers (2018). Clustering with deep learning:
    taxonomy and new methods. arXiv:1801.07648.
    """

    _streams_input = True  # fit and transform read data on disk block by block

    def __init__(
        self,
        latent_dim: int = 10,
        hidden_dims: Sequence[int] = (500, 500, 2000),
        network=None,
        epochs: int = 100,
        batch_size: int = 256,
        lr: float = 1e-3,
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
        self.patience = patience
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.augment = augment

    def _check_params(self) -> None:
        for name in ("latent_dim", "epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if any(not isinstance(h, (int, np.integer)) or h < 1 for h in self.hidden_dims):
            raise ValueError(f"hidden_dims must be positive integers, got {self.hidden_dims!r}")

    def _architecture(self, n_features: int) -> tuple[dict, Autoencoder | None]:
        """What to save about the network, and the user's own network (a copy) if any."""
        net, n_features = self.network, int(n_features)
        if net is None:
            arch = {"type": "mlp", "n_features": n_features, "hidden_dims": [int(h) for h in self.hidden_dims], "latent_dim": int(self.latent_dim)}
            return arch, None
        if isinstance(net, (Mapping, str, os.PathLike)):
            return {"type": "spec", "n_features": n_features, "spec": load_spec(net)}, None
        if isinstance(net, Autoencoder):
            return {"type": "module", "n_features": n_features}, copy.deepcopy(net)
        if isinstance(net, (tuple, list)) and len(net) == 2 and all(isinstance(m, nn.Module) for m in net):
            encoder, decoder = copy.deepcopy(tuple(net))  # one deepcopy keeps weights the two share
            return {"type": "module", "n_features": n_features}, Autoencoder(encoder, decoder)
        raise ValueError(
            "network must be None (the MLP), a spec dict, the path of a .json/.yaml spec, a deepclust.nn.Autoencoder "
            f"or an (encoder, decoder) pair of torch modules; got {type(net).__name__}"
        )

    @staticmethod
    def _build(arch: dict):
        kind = arch.get("type")
        if kind == "mlp":
            return mlp_autoencoder(arch["n_features"], arch["hidden_dims"], arch["latent_dim"])
        if kind == "spec":
            return build_autoencoder(arch["spec"], arch["n_features"])
        if kind == "module":
            raise ValueError("this model was trained with a user-supplied torch module, which deepclust cannot rebuild from a file")
        raise ValueError(f"unknown network type {kind!r} in saved model")

    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` of shape (n_samples, n_features); ``y`` is ignored.

        ``X`` may also be data on disk, streamed in blocks without loading it: the path of a
        ``.npy`` or ``.parquet`` file, an ``np.memmap``, an h5py dataset or zarr array (see
        :mod:`deepclust.methods.streaming` for the shuffling scheme).
        """
        self._check_params()
        X = check_array_or_disk(X, min_samples=2)
        device = resolve_device(self.device)
        autocast = resolve_precision(self.precision, device)
        augment = check_augment(self.augment)
        rng = seed_stream(self.random_state)
        seed = draw_seed(rng)
        arch, user_ae = self._architecture(X.shape[1])
        with torch_seeded(seed, device) as gen:
            ae = glorot_uniform_(self._build(arch), generator=gen) if user_ae is None else user_ae
            ae = ae.to(device)
            arch["latent_dim"] = _check_network(ae, X.shape[1], device)
            self._arch = arch
            optimizer = adam(ae.parameters(), lr=self.lr)
            callbacks = [EarlyStopping(self.patience)] if self.patience else []
            streaming = isinstance(X, DiskArray)
            if streaming and augment is not None:
                raise ValueError("augment needs the data in memory (it resamples each feature's values); it is not available for data streamed from disk")
            Xt = None if streaming else to_tensor(X, device)
            if augment is None:
                loss_fn = lambda m, batch, st: reconstruction_mse(m(batch[0]), batch[0])  # noqa: E731
            else:
                augmenter = TabularAugmenter(augment, Xt, draw_seed(rng))

                def loss_fn(m, batch, st):
                    x_in, target = augmenter(batch[0])
                    return reconstruction_mse(m(x_in), target)

            state = fit_module(
                ae,
                loss_fn,
                BlockBatches(X, device) if streaming else (Xt,),
                epochs=int(self.epochs),
                batch_size=int(self.batch_size),
                optimizer=optimizer,
                generator=gen,
                callbacks=callbacks,
                autocast_dtype=autocast,
                progress=bool(self.verbose),
                desc="autoencoder",
            )
        if state.stop_reason:
            logger.info(state.stop_reason)
        self.autoencoder_ = ae
        self.history_ = state.history
        self.n_features_in_ = X.shape[1]
        return self

    def _device_of_model(self) -> torch.device:
        return next(self.autoencoder_.parameters()).device

    def transform(self, X) -> np.ndarray:
        """Codes of shape (n_samples, latent_dim), float32.

        ``X`` on disk (as in :meth:`fit`) is read block by block; to write the codes to disk
        chunk by chunk as well, use :func:`deepclust.methods.streaming.transform_to_npy`.
        """
        check_is_fitted(self, "autoencoder_")
        X = check_array_or_disk(X, n_features=self.n_features_in_, owner=type(self).__name__)
        self.autoencoder_.eval()
        if isinstance(X, DiskArray):  # blocks of whole 4096-row chunks: the same codes as in memory
            return np.concatenate([apply_in_chunks(self.autoencoder_.encode, b, self._device_of_model()) for _, b in X.blocks(16 * 4096)])
        return apply_in_chunks(self.autoencoder_.encode, X, self._device_of_model())

    def inverse_transform(self, Z) -> np.ndarray:
        """Decode codes (n_samples, latent_dim) back to data space (n_samples, n_features)."""
        check_is_fitted(self, "autoencoder_")
        Z = check_array_2d(Z, name="Z", n_features=int(self._arch["latent_dim"]))
        self.autoencoder_.eval()
        return apply_in_chunks(self.autoencoder_.decode, Z, self._device_of_model())

    def reconstruct(self, X) -> np.ndarray:
        """``decode(encode(X))``, shape (n_samples, n_features)."""
        check_is_fitted(self, "autoencoder_")
        X = check_array_2d(X, n_features=self.n_features_in_, owner=type(self).__name__)
        self.autoencoder_.eval()
        return apply_in_chunks(self.autoencoder_, X, self._device_of_model())

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
        if self._arch["type"] == "module":
            raise ValueError(
                "cannot save an AutoencoderEmbedding whose network is a user-supplied torch module: deepclust saves "
                "without pickle and cannot rebuild arbitrary code from a file. Describe the network as a spec "
                "(network=dict or the path of a .json file) to save the model, or save the weights yourself "
                "with torch.save(model.autoencoder_.state_dict(), path)"
            )
        sd = {k: v.detach().cpu().numpy() for k, v in self.autoencoder_.state_dict().items()}
        meta = {"architecture": self._arch, "n_features_in": int(self.n_features_in_), "history": self.history_}
        return meta, prefixed("autoencoder", sd)

    def _load_state(self, meta, arrays):
        self._arch = meta["architecture"]
        ae = self._build(self._arch)
        sd = {k: torch.from_numpy(v.copy()) for k, v in unprefixed("autoencoder", arrays).items()}
        try:
            ae.load_state_dict(sd)
        except RuntimeError as exc:
            raise ValueError(f"saved weights do not match the saved architecture: {exc}") from None
        device = resolve_device(self.device)
        self.autoencoder_ = ae.to(device).eval()
        self.n_features_in_ = int(meta["n_features_in"])
        self.history_ = meta.get("history", {})


def _check_network(ae: nn.Module, n_features: int, device: torch.device) -> int:
    """Run two zero rows through ``ae`` and return the code size; explain a misfit network."""
    hint = (
        "the encoder must map (batch, n_features) rows to (batch, latent_dim) codes and the decoder map them back "
        "to (batch, n_features); image networks start with nn.Unflatten(1, (C, H, W)) and end with nn.Flatten()"
    )
    ae.eval()
    try:
        with torch.no_grad():
            z = ae.encode(torch.zeros(2, n_features, device=device))
            x = ae.decode(z)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"the network fails on input of shape (2, {n_features}): {exc}; {hint}") from None
    finally:
        ae.train()
    if z.ndim != 2 or z.shape[0] != 2:
        raise ValueError(f"the encoder maps input (2, {n_features}) to shape {tuple(z.shape)}; {hint}")
    if tuple(x.shape) != (2, n_features):
        raise ValueError(f"the decoder maps codes {tuple(z.shape)} to shape {tuple(x.shape)}, not (2, {n_features}); {hint}")
    return int(z.shape[1])
