"""ContrastiveEmbedding: a scikit-learn transformer trained with SimCLR's contrastive loss."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from deepclust.losses import nt_xent
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
from deepclust.datasets import load_network_spec as load_spec
from deepclust.nn import MLP, ContrastiveNet, ImageAugment, TabularAugment, build_autoencoder
from deepclust.train import EarlyStopping, adam, fit_module

logger = logging.getLogger(__name__)


def make_augment(augment, input_shape):
    """The view generator: an :class:`ImageAugment` when ``input_shape`` is given, else a
    :class:`TabularAugment`; ``augment`` is None (defaults), a dict of their options, or one
    of them."""
    if isinstance(augment, (ImageAugment, TabularAugment)):
        if isinstance(augment, ImageAugment) and input_shape is not None and tuple(augment.input_shape) != tuple(input_shape):
            raise ValueError(f"augment has input_shape {augment.input_shape}, the estimator {tuple(input_shape)}")
        return augment
    if augment is not None and not isinstance(augment, Mapping):
        raise ValueError(f"augment must be None, a dict of options, an ImageAugment or a TabularAugment; got {augment!r}")
    opts = dict(augment or {})
    cls = TabularAugment if input_shape is None else ImageAugment
    try:
        return cls(**opts) if input_shape is None else cls(tuple(input_shape), **opts)
    except TypeError as exc:
        known = [f for f in cls.__dataclass_fields__ if f != "input_shape"]
        raise ValueError(f"bad augment options {opts} for {cls.__name__}: {exc}; its options: {', '.join(known)}") from None


def spec_input_shape(network) -> tuple[int, int, int] | None:
    """The (C, H, W) input shape a conv spec declares, if any."""
    if network is None or not isinstance(network, (Mapping, str, os.PathLike)):
        return None
    spec = load_spec(network)
    shape = spec.get("input_shape")
    if shape is None and spec.get("encoder") and spec["encoder"][0]["type"] == "Input":
        shape = spec["encoder"][0]["shape"]
    return tuple(shape) if shape is not None and len(shape) == 3 else None


@register_model
class ContrastiveEmbedding(Float32OutputMixin, TransformerMixin, BaseEstimator):
    """Learn an embedding in which two augmented views of a sample agree (SimCLR).

    Every batch is augmented twice; the encoder and a projection head are trained with the
    NT-Xent loss, which pulls the two views of each sample together and pushes the other
    samples of the batch away (Chen et al. 2020). ``transform`` returns the encoder output
    (before the projection head). Images get random resized crops, small rotations and
    shifts, blur and noise (``input_shape`` tells the row layout); tabular rows get SCARF's
    corruption by the features' empirical marginals, Gaussian noise and masking (Bahri et al.
    2022). See :mod:`deepclust.nn.augment`.

    Parameters
    ----------
    latent_dim : int, default=64
        Size of the representation.
    hidden_dims : sequence of int, default=(500, 500, 2000)
        Hidden widths of the MLP encoder ``d-500-500-2000-latent_dim``.
    network : dict, str, os.PathLike, nn.Module or None, default=None
        A spec (dict or ``.json``/``.yaml`` path, see :func:`deepclust.nn.load_spec`) whose
        *encoder* is used (e.g. a conv encoder; ``latent_dim`` and ``hidden_dims`` are then
        ignored), or your own encoder module mapping ``(B, n_features)`` to
        ``(B, latent_dim)`` (not savable: deepclust never pickles code).
    input_shape : (C, H, W) or None, default=None
        Rows are flattened images of this shape, channels first: use image augmentations.
        None: tabular data, unless ``network`` is a spec with a (C, H, W) input shape.
    augment : dict, ImageAugment, TabularAugment or None, default=None
        Options of the augmentation (e.g. ``{"crop_scale": [0.3, 1.0]}`` for images,
        ``{"corruption": 0.6}`` for tables); None uses the defaults.
    batch_norm : bool, default=True
        Batch norm in the MLP encoder's hidden layers (as in SimCLR's networks).
    projection_dims : sequence of int, default=(256, 64)
        The projection head after the encoder.
    temperature : float, default=0.5
    normalize : bool, default=True
        L2-normalise the representation returned by ``transform`` (the loss compares
        directions, so lengths carry little meaning; clusterers do better on the sphere).
    epochs : int, default=100
    batch_size : int, default=256
        Every sample has ``2 * batch_size - 2`` negatives.
    lr : float, default=1e-3
        Adam learning rate.
    patience : int or None, default=None
        Early stopping on the training loss.
    precision : {"auto", "float32", "bf16"}, default="auto"
    device : str, default="auto"
    random_state : int, numpy Generator or None, default=None
        Seeds weights, shuffling and augmentations; the global RNGs are left untouched.
    verbose : bool, default=False

    Attributes
    ----------
    net_ : deepclust.nn.ContrastiveNet
    n_features_in_ : int
    history_ : dict of str to list of float

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((64, 6)).astype("float32")
    >>> emb = ContrastiveEmbedding(latent_dim=3, hidden_dims=(16,), projection_dims=(8,), epochs=2, random_state=0)
    >>> emb.fit_transform(X).shape
    (64, 3)

    References
    ----------
    Chen, Kornblith, Norouzi & Hinton (2020). A simple framework for contrastive learning of
    visual representations. ICML.
    Bahri, Jiang, Tay & Metzler (2022). SCARF: self-supervised contrastive learning using
    random feature corruption. ICLR.
    """

    def __init__(
        self,
        latent_dim: int = 64,
        hidden_dims: Sequence[int] = (500, 500, 2000),
        network=None,
        input_shape=None,
        augment=None,
        batch_norm: bool = True,
        projection_dims: Sequence[int] = (256, 64),
        temperature: float = 0.5,
        normalize: bool = True,
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
        self.network = network
        self.input_shape = input_shape
        self.augment = augment
        self.batch_norm = batch_norm
        self.projection_dims = projection_dims
        self.temperature = temperature
        self.normalize = normalize
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        for name in ("latent_dim", "epochs"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.batch_size, (int, np.integer)) or isinstance(self.batch_size, bool) or self.batch_size < 2:
            raise ValueError(f"batch_size must be an integer >= 2 (a contrastive batch needs negatives), got {self.batch_size!r}")
        for name in ("lr", "temperature"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        for name in ("hidden_dims", "projection_dims"):
            if any(not isinstance(h, (int, np.integer)) or h < 1 for h in getattr(self, name)):
                raise ValueError(f"{name} must be positive integers, got {getattr(self, name)!r}")

    def _input_shape(self, n_features: int):
        shape = self.input_shape if self.input_shape is not None else spec_input_shape(self.network)
        if shape is None:
            return None
        shape = tuple(int(s) for s in shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3 or int(np.prod(shape)) != n_features:
            raise ValueError(f"input_shape {tuple(self.input_shape or shape)} does not describe rows of {n_features} values (expected (C, H, W) with C*H*W = n_features)")
        return shape

    def _architecture(self, n_features: int) -> tuple[dict, nn.Module | None]:
        net, n_features = self.network, int(n_features)
        proj = [int(d) for d in self.projection_dims]
        if net is None:
            arch = {"type": "mlp", "hidden_dims": [int(h) for h in self.hidden_dims], "latent_dim": int(self.latent_dim), "batch_norm": bool(self.batch_norm)}
        elif isinstance(net, (Mapping, str, os.PathLike)):
            arch = {"type": "spec", "spec": load_spec(net)}
        elif isinstance(net, nn.Module):
            import copy

            return {"type": "module", "n_features": n_features, "projection_dims": proj}, copy.deepcopy(net)
        else:
            raise ValueError(f"network must be None (the MLP), a spec dict, the path of a .json/.yaml spec or a torch encoder module; got {type(net).__name__}")
        return {**arch, "n_features": n_features, "projection_dims": proj}, None

    @staticmethod
    def _build(arch: dict, encoder: nn.Module | None = None) -> ContrastiveNet:
        kind = arch.get("type")
        if kind == "mlp":
            dims = [arch["n_features"], *arch["hidden_dims"], arch["latent_dim"]]
            encoder, latent = MLP(dims, batch_norm=arch["batch_norm"]), arch["latent_dim"]
        elif kind == "spec":
            encoder = build_autoencoder(arch["spec"], arch["n_features"]).encoder
        elif kind == "module":
            if encoder is None:
                raise ValueError("this model was trained with a user-supplied torch module, which deepclust cannot rebuild from a file")
        else:
            raise ValueError(f"unknown network type {kind!r} in saved model")
        if kind != "mlp":
            with torch.no_grad():
                encoder.eval()
                try:
                    z = encoder(torch.zeros(2, arch["n_features"]))
                except (RuntimeError, ValueError, TypeError) as exc:
                    raise ValueError(f"the encoder fails on input of shape (2, {arch['n_features']}): {exc}") from None
                encoder.train()
            if z.ndim != 2:
                raise ValueError(f"the encoder must map (batch, n_features) to (batch, latent_dim), got shape {tuple(z.shape)}")
            latent = int(z.shape[1])
        arch["latent_dim"] = int(latent)
        return ContrastiveNet(encoder, latent, arch["projection_dims"])

    def fit(self, X, y=None):
        """Train encoder and projection head on ``X`` (n_samples, n_features); ``y`` is ignored."""
        self._check_params()
        X = check_array_2d(X, min_samples=2)
        augment = make_augment(self.augment, self._input_shape(X.shape[1]))
        device = resolve_device(self.device)
        autocast = resolve_precision(self.precision, device)
        seed = draw_seed(seed_stream(self.random_state))
        arch, user_encoder = self._architecture(X.shape[1])
        Xt = to_tensor(X, device)
        batch_size = int(min(self.batch_size, X.shape[0]))
        with torch_seeded(seed, device) as gen:
            net = self._build(arch, user_encoder).to(device)
            optimizer = adam(net.parameters(), lr=self.lr)

            def loss_fn(module, batch, state):
                x = batch[0]  # a trailing batch of one still gives two rows (its views): loss 0
                with torch.autocast(device_type=device.type, enabled=False):
                    kw = {"reference": Xt} if isinstance(augment, TabularAugment) else {}
                    v1, v2 = augment(x, gen, **kw), augment(x, gen, **kw)
                z = module(torch.cat([v1, v2]))  # one pass: batch norm sees both views
                return nt_xent(z[: x.shape[0]], z[x.shape[0] :], self.temperature)

            state = fit_module(
                net,
                loss_fn,
                (Xt,),
                epochs=int(self.epochs),
                batch_size=batch_size,
                optimizer=optimizer,
                generator=gen,
                callbacks=[EarlyStopping(self.patience)] if self.patience else [],
                autocast_dtype=autocast,
                progress=bool(self.verbose),
                desc="contrastive",
            )
        if state.stop_reason:
            logger.info(state.stop_reason)
        self._arch = arch
        self.net_ = net.eval()
        self.history_ = state.history
        self.n_features_in_ = X.shape[1]
        return self

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.net_.encode(x).float()
        return torch.nn.functional.normalize(z, dim=1) if self.normalize else z

    def transform(self, X) -> np.ndarray:
        """Representations of shape (n_samples, latent_dim), float32."""
        check_is_fitted(self, "net_")
        X = check_array_2d(X, n_features=self.n_features_in_, owner=type(self).__name__)
        self.net_.eval()
        return apply_in_chunks(self._encode, X, next(self.net_.parameters()).device)

    def save(self, path, *, overwrite: bool = False):
        """Save to folder ``path`` as JSON + safetensors (no pickle). Returns the path."""
        check_is_fitted(self, "net_")
        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        """Load a model saved with :meth:`save`."""
        return load_model(path, expected=cls)

    def _save_state(self):
        if self._arch["type"] == "module":
            raise ValueError(
                "cannot save a ContrastiveEmbedding whose encoder is a user-supplied torch module: deepclust saves without "
                "pickle; describe the network as a spec to save the model"
            )
        sd = {k: v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}
        meta = {"architecture": self._arch, "n_features_in": int(self.n_features_in_), "history": self.history_}
        return meta, prefixed("net", sd)

    def _load_state(self, meta, arrays):
        self._arch = meta["architecture"]
        net = self._build(dict(self._arch))
        sd = {k: torch.from_numpy(v.copy()) for k, v in unprefixed("net", arrays).items()}
        try:
            net.load_state_dict(sd)
        except RuntimeError as exc:
            raise ValueError(f"saved weights do not match the saved architecture: {exc}") from None
        self.net_ = net.to(resolve_device(self.device)).eval()
        self.n_features_in_ = int(meta["n_features_in"])
        self.history_ = meta.get("history", {})
