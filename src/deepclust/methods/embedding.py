"""AutoencoderEmbedding: a scikit-learn transformer that learns an autoencoder's codes."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

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
from deepclust.nn import glorot_uniform_, mlp_autoencoder
from deepclust.train import EarlyStopping, fit_module

logger = logging.getLogger(__name__)


@register_model
class AutoencoderEmbedding(Float32OutputMixin, TransformerMixin, BaseEstimator):
    """Learn a low-dimensional embedding with a fully connected autoencoder.

    The network is DEC's symmetric MLP ``d-500-500-2000-latent_dim`` with linear embedding and
    output layers, trained on the mean squared reconstruction error with Adam (Xie et al.
    2016; McConville et al. 2020). ``transform`` returns the codes.

    Parameters
    ----------
    latent_dim : int, default=10
        Size of the embedding.
    hidden_dims : sequence of int, default=(500, 500, 2000)
        Widths of the encoder's hidden layers; the decoder mirrors them.
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
    """

    def __init__(
        self,
        latent_dim: int = 10,
        hidden_dims: Sequence[int] = (500, 500, 2000),
        epochs: int = 100,
        batch_size: int = 256,
        lr: float = 1e-3,
        patience: int | None = None,
        precision: str = "auto",
        device: str = "auto",
        random_state=None,
        verbose: bool = False,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
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
        if any(not isinstance(h, (int, np.integer)) or h < 1 for h in self.hidden_dims):
            raise ValueError(f"hidden_dims must be positive integers, got {self.hidden_dims!r}")

    def _architecture(self, n_features: int) -> dict:
        return {"type": "mlp", "n_features": int(n_features), "hidden_dims": [int(h) for h in self.hidden_dims], "latent_dim": int(self.latent_dim)}

    @staticmethod
    def _build(arch: dict):
        if arch.get("type") != "mlp":
            raise ValueError(f"unknown network type {arch.get('type')!r} in saved model")
        return mlp_autoencoder(arch["n_features"], arch["hidden_dims"], arch["latent_dim"])

    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` of shape (n_samples, n_features); ``y`` is ignored."""
        self._check_params()
        X = check_array_2d(X, min_samples=2)
        device = resolve_device(self.device)
        autocast = resolve_precision(self.precision, device)
        seed = draw_seed(seed_stream(self.random_state))
        self._arch = self._architecture(X.shape[1])
        with torch_seeded(seed, device) as gen:
            ae = glorot_uniform_(self._build(self._arch), generator=gen).to(device)
            optimizer = torch.optim.Adam(ae.parameters(), lr=self.lr)
            callbacks = [EarlyStopping(self.patience)] if self.patience else []
            state = fit_module(
                ae,
                lambda m, batch, st: reconstruction_mse(m(batch[0]), batch[0]),
                (to_tensor(X, device),),
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
        """Codes of shape (n_samples, latent_dim), float32."""
        check_is_fitted(self, "autoencoder_")
        X = check_array_2d(X, n_features=self.n_features_in_, owner=type(self).__name__)
        self.autoencoder_.eval()
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
