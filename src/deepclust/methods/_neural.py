"""One base for the neural embedding estimators: the steps every one of them takes, written once.

:class:`NeuralEmbedding` validates the declared parameters, chooses device and precision,
seeds, builds the network (the MLP, a spec, or the user's own modules), trains it with the one
loop (:func:`deepclust.train.fit_module`, which also writes and resumes checkpoints inside
:func:`deepclust.train.checkpointing`), sets the fitted attributes, transforms (streaming data
on disk where the method can), and saves and loads (JSON architecture + safetensors weights,
:mod:`deepclust.methods._persist`). A subclass names its module and its defaults:

- ``_build(arch)``: the network of a savable architecture (the MLP or a spec);
- ``_architecture(n_features, n_samples)``: what to save about the network, and the user's own module;
- ``_loss(module, x, ctx)``: the named loss terms of one batch, from the module's ``loss``;
- ``_codes(module, x)``: what ``transform`` returns.

The loss maths lives in the module layer (:mod:`deepclust.nn`): an estimator only prepares a
batch (augmented views, masks) and calls its module's ``loss``.

:func:`network_architecture` and :func:`probe_network` are public in the package: the
clustering estimators resolve and check networks with them too.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from deepclust.methods._base import Float32OutputMixin, apply_in_chunks, check_array_2d, draw_seed, resolve_device, resolve_precision, seed_stream, to_tensor, torch_seeded
from deepclust.methods._params import POSITIVE_INT, POSITIVE_REAL, Integral, Interval, StrOptions
from deepclust.methods._persist import SavableMixin, prefixed, unprefixed
from deepclust.datasets import DiskArray
from deepclust.methods.streaming import check_array_or_disk
from deepclust.train.batches import BlockBatches
from deepclust.datasets import load_network_spec as load_spec
from deepclust.nn import Autoencoder, glorot_uniform_
from deepclust.nn.cohort_augment import TabularAugmenter
from deepclust.preprocess.augment_text import check_augment
from deepclust.nn.sizing import default_hidden_dims
from deepclust.train import EarlyStopping, fit_module
from deepclust.train.budget import training_budget
from deepclust.train.optim import adam

logger = logging.getLogger(__name__)

#: Constraints of the parameters every neural embedding has (scikit-learn's declared style;
#: a subclass adds its own with ``{**NeuralEmbedding._parameter_constraints, ...}``).
COMMON_CONSTRAINTS: dict[str, Any] = {
    "latent_dim": POSITIVE_INT,
    "hidden_dims": ["array-like", StrOptions({"auto"})],  # "auto": nn.sizing's rule; widths checked in _check_params
    "network": [None, Mapping, str, os.PathLike, nn.Module, tuple, list],
    "epochs": [*POSITIVE_INT, None],  # None (with steps None): the step budget of train.budget
    "steps": [*POSITIVE_INT, None],
    "batch_size": POSITIVE_INT,
    "lr": POSITIVE_REAL,
    "patience": [Interval(Integral, 0, None, closed="left"), None],  # 0 or None: no early stopping
    "precision": [StrOptions({"auto", "float32", "bf16"})],
    "device": [str, torch.device],  # resolve_device names the valid strings
    "random_state": "no_validation",  # seed_stream checks it; it also takes a numpy Generator
    "verbose": ["boolean"],
}

_HINT = (
    "the encoder must map (batch, n_features) rows to (batch, latent_dim) codes and the decoder map them back "
    "to (batch, n_features); image networks start with nn.Unflatten(1, (C, H, W)) and end with nn.Flatten()"
)


# -- networks: resolve, probe -----------------------------------------------------------------
def network_architecture(network, n_features: int, *, hidden_dims=(), latent_dim: int = 10, encoder_only: bool = False) -> tuple[dict, nn.Module | None]:
    """What to save about a network, and a copy of the user's own module if it is one.

    Parameters
    ----------
    network : None, dict, str, os.PathLike, Autoencoder, (nn.Module, nn.Module) or nn.Module
        None: the MLP ``n_features-hidden_dims-latent_dim``; a spec or the path of one; the
        user's :class:`~deepclust.nn.Autoencoder` or ``(encoder, decoder)`` pair; with
        ``encoder_only``, the user's encoder module.
    n_features : int
    hidden_dims : sequence of int
    latent_dim : int
    encoder_only : bool, default=False
        The estimator needs an encoder only (contrastive learning).

    Returns
    -------
    arch : dict
        ``{"type": "mlp" | "spec" | "module", "n_features": ..., ...}``, JSON-serialisable.
    module : nn.Module or None
        A deep copy of the user's module (an Autoencoder, or the encoder), None otherwise.
    """
    n_features = int(n_features)
    if network is None:
        return {"type": "mlp", "n_features": n_features, "hidden_dims": [int(h) for h in hidden_dims], "latent_dim": int(latent_dim)}, None
    if isinstance(network, (Mapping, str, os.PathLike)):
        return {"type": "spec", "n_features": n_features, "spec": load_spec(network)}, None
    module = None
    if encoder_only and isinstance(network, nn.Module):
        module = copy.deepcopy(network)
    elif not encoder_only and isinstance(network, Autoencoder):
        module = copy.deepcopy(network)
    elif not encoder_only and isinstance(network, (tuple, list)) and len(network) == 2 and all(isinstance(m, nn.Module) for m in network):
        module = Autoencoder(*copy.deepcopy(tuple(network)))  # one deepcopy keeps weights the two share
    if module is None:
        mine = "a torch encoder module" if encoder_only else "a deepclust.nn.Autoencoder or an (encoder, decoder) pair of torch modules"
        raise ValueError(f"network must be None (the MLP), a spec dict, the path of a .json/.yaml spec or {mine}; got {type(network).__name__}")
    return {"type": "module", "n_features": n_features}, module


def probe_network(module: nn.Module, n_features: int, device: torch.device, encode: Callable[[torch.Tensor], torch.Tensor]) -> int:
    """Run two zero rows through ``encode`` (and ``module.decode`` if it has one); return the code size.

    Raises
    ------
    ValueError
        Explaining how the network misfits rows of ``n_features`` values.
    """
    decode = getattr(module, "decode", None)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            z = encode(torch.zeros(2, n_features, device=device))
            x = decode(z) if decode is not None and z.ndim == 2 else None
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"the network fails on input of shape (2, {n_features}): {exc}; {_HINT}") from None
    finally:
        module.train(was_training)
    if z.ndim != 2 or z.shape[0] != 2:
        raise ValueError(f"the encoder maps input (2, {n_features}) to shape {tuple(z.shape)}; {_HINT}")
    if x is not None and tuple(x.shape) != (2, n_features):
        raise ValueError(f"the decoder maps codes {tuple(z.shape)} to shape {tuple(x.shape)}, not (2, {n_features}); {_HINT}")
    return int(z.shape[1])


@dataclass
class TrainingContext:
    """What a subclass's ``_loss`` may use besides the batch."""

    generator: torch.Generator  # the shuffling generator; SimCLR's views and MAE's masks draw from it too
    reference: torch.Tensor | None  # the training data on the device; None when streamed from disk
    augmenter: Any = None  # TabularAugmenter (autoencoders), view maker (SimCLR) or None


class NeuralEmbedding(SavableMixin, Float32OutputMixin, TransformerMixin, BaseEstimator):
    """Base of the estimators that learn an embedding with a network (not for direct use).

    Subclasses: :class:`~deepclust.methods.AutoencoderEmbedding`,
    :class:`~deepclust.methods.VAEEmbedding`, :class:`~deepclust.methods.ContrastiveEmbedding`,
    :class:`~deepclust.methods.MaskedEmbedding`. Their ``__init__`` stores parameters only;
    validation happens in :meth:`fit` against ``_parameter_constraints``.
    """

    _parameter_constraints: dict = COMMON_CONSTRAINTS
    _width_params: tuple[str, ...] = ("hidden_dims",)  # sequences of positive layer widths
    _streams_input = True  # fit and transform read data on disk block by block
    # Whether ``_loss`` reads nothing but the batch (no generator draws, no host sync), so that
    # ``cuda_graph=True`` may capture the training step (train.loop._GraphStep)
    _capture_safe = False
    _fitted_attribute = "autoencoder_"  # where the trained network lives
    _weights_prefix = "autoencoder"  # key prefix of the saved weights (format 1 keeps it per class)
    _desc = "autoencoder"  # names the training phase in progress bars and checkpoints
    _glorot_init = True  # DEC's initialisation of the networks built here

    # -- hooks ----------------------------------------------------------------------------------
    def _architecture(self, n_features: int, n_samples: int | None = None) -> tuple[dict, nn.Module | None]:
        return network_architecture(self.network, n_features, hidden_dims=self._hidden_dims(n_features, n_samples), latent_dim=self.latent_dim)

    def _hidden_dims(self, n_features: int, n_samples: int | None = None):
        """The MLP's widths: as given, or the rule of :func:`deepclust.nn.sizing.default_hidden_dims`
        for data of ``n_samples`` rows (None: the rule for any number of rows)."""
        return default_hidden_dims(n_features, n_samples) if _is_auto(self.hidden_dims) else self.hidden_dims

    @staticmethod
    def _build(arch: dict) -> nn.Module:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _adopt(self, module: nn.Module, arch: dict) -> nn.Module:
        """The network made from the user's own module (already a copy)."""
        return module

    def _codes(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return module.encode(x)

    def _loss(self, module: nn.Module, x: torch.Tensor, ctx: TrainingContext) -> dict[str, torch.Tensor]:
        """Reconstruction of (augmented) rows: the module's ``loss`` with ``_loss_options()``."""
        x_in, target = ctx.augmenter(x) if ctx.augmenter is not None else (x, None)
        return module.loss(x_in, target, **self._loss_options())

    def _loss_options(self) -> dict:
        return {}

    def _check_extra_params(self) -> None:
        """Checks the declared constraints cannot express."""

    def _check_data(self, X) -> None:
        """Checks of the training data beyond its shape (e.g. a value range)."""

    def _batch_size(self, n_samples: int) -> int:
        return int(self.batch_size)

    def _augmenter(self, reference: torch.Tensor | None, rng: np.random.Generator):
        """The tabular augmentation of ``augment``, seeded from ``rng``; None when off."""
        spec = check_augment(getattr(self, "augment", None))
        if spec is None:
            return None
        if reference is None:
            raise ValueError("augment needs the data in memory (it resamples each feature's values); it is not available for data streamed from disk")
        return TabularAugmenter(spec, reference, draw_seed(rng))

    # -- fit ------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        self._validate_params()
        for name in self._width_params:
            widths = getattr(self, name)
            if _is_auto(widths):
                continue
            if any(not isinstance(h, (int, np.integer)) or isinstance(h, bool) or h < 1 for h in widths):
                raise ValueError(f"{name} must be positive integers, got {widths!r}")
        self._check_extra_params()

    def _check_input(self, X, **kwargs):
        return check_array_or_disk(X, **kwargs) if self._streams_input else check_array_2d(X, **kwargs)

    def _network(self, arch: dict, user_module: nn.Module | None, gen: torch.Generator, device: torch.device) -> nn.Module:
        """Build (and initialise from ``gen``) or adopt the network; record its code size in ``arch``."""
        if user_module is None:
            net = self._build(arch)
            net = glorot_uniform_(net, generator=gen) if self._glorot_init else net
        else:
            net = self._adopt(user_module, arch)
        net = net.to(device)
        arch["latent_dim"] = probe_network(net, int(arch["n_features"]), device, functools.partial(self._codes, net))
        return net

    def fit(self, X, y=None):
        """Train the network on ``X`` of shape (n_samples, n_features); ``y`` is ignored.

        Estimators that stream (``_streams_input``) also take data on disk, read in blocks
        without loading it: the path of a ``.npy`` or ``.parquet`` file, an ``np.memmap``, an
        h5py dataset or zarr array (see :mod:`deepclust.methods.streaming`).
        """
        self._check_params()
        X = self._check_input(X, min_samples=2)
        self._check_data(X)
        device = resolve_device(self.device)
        autocast = resolve_precision(self.precision, device)
        rng = seed_stream(self.random_state)
        seed = draw_seed(rng)
        arch, user_module = self._architecture(X.shape[1], X.shape[0])
        with torch_seeded(seed, device) as gen:  # also seeds layer construction and the VAE's noise
            net = self._network(arch, user_module, gen, device)
            Xt = None if isinstance(X, DiskArray) else to_tensor(X, device)
            ctx = TrainingContext(gen, Xt, self._augmenter(Xt, rng))
            batch_size = self._batch_size(X.shape[0])
            budget = training_budget(X.shape[0], batch_size, epochs=self.epochs, steps=getattr(self, "steps", None))
            graph = bool(getattr(self, "cuda_graph", False)) and self._capture_safe and device.type == "cuda" and ctx.augmenter is None and Xt is not None
            state = fit_module(
                net,
                functools.partial(self._batch_loss, ctx=ctx),
                (Xt,) if Xt is not None else BlockBatches(X, device),
                epochs=budget.epochs,
                max_steps=budget.max_steps,
                batch_size=batch_size,
                optimizer=adam(net.parameters(), lr=float(self.lr), **({"capturable": True} if graph else {})),
                generator=gen,
                callbacks=[EarlyStopping(self.patience)] if self.patience else [],
                autocast_dtype=autocast,
                progress=bool(self.verbose),
                desc=self._desc,
                cuda_graph=graph,
            )
        self._set_network(net, arch, state.history)
        self.training_ = training_summary(state, budget)
        logger.info("%s: %s", type(self).__name__, self.training_["stop_reason"])
        return self

    def _batch_loss(self, module: nn.Module, batch: tuple[torch.Tensor, ...], state, *, ctx: TrainingContext) -> dict[str, torch.Tensor]:
        return self._loss(module, batch[0], ctx)

    def _set_network(self, net: nn.Module, arch: dict, history: dict) -> None:
        """Install a trained network (used by :meth:`fit`, by loading, and by VaDE, which trains its own)."""
        self._arch = dict(arch)
        setattr(self, self._fitted_attribute, net.eval())
        self.n_features_in_ = int(arch["n_features"])
        self.history_ = history

    # -- inference ------------------------------------------------------------------------------
    @property
    def _net(self) -> nn.Module:
        check_is_fitted(self, self._fitted_attribute)
        return getattr(self, self._fitted_attribute)

    def _device_of_model(self) -> torch.device:
        return next(self._net.parameters()).device

    def transform(self, X) -> np.ndarray:
        """Codes of shape (n_samples, latent_dim), float32.

        For estimators that stream, ``X`` on disk (as in :meth:`fit`) is read block by block;
        to write the codes to disk chunk by chunk as well, use
        :func:`deepclust.methods.streaming.transform_to_npy`.
        """
        net = self._net.eval()
        X = self._check_input(X, n_features=self.n_features_in_, owner=type(self).__name__)
        encode = functools.partial(self._codes, net)
        if isinstance(X, DiskArray):  # blocks of whole 4096-row chunks: the same codes as in memory
            return np.concatenate([apply_in_chunks(encode, b, self._device_of_model()) for _, b in X.blocks(16 * 4096)])
        return apply_in_chunks(encode, X, self._device_of_model())

    def _save_state(self):
        if str(self._arch.get("type", "")).startswith("module"):
            raise ValueError(
                f"cannot save a {type(self).__name__} whose network is made of user-supplied torch modules: deepclust saves "
                "without pickle and cannot rebuild arbitrary code from a file. Describe the network as a spec "
                "(network=dict or the path of a .json file) to save the model, or save the weights yourself "
                f"with torch.save(model.{self._fitted_attribute}.state_dict(), path)"
            )
        sd = {k: v.detach().cpu().numpy() for k, v in self._net.state_dict().items()}
        meta = {"architecture": self._arch, "n_features_in": int(self.n_features_in_), "history": self.history_}
        if getattr(self, "training_", None) is not None:
            meta["training"] = self.training_
        return meta, prefixed(self._weights_prefix, sd)

    def _load_state(self, meta, arrays):
        arch = dict(meta["architecture"])
        net = self._build(dict(arch))
        sd = {k: torch.from_numpy(v.copy()) for k, v in unprefixed(self._weights_prefix, arrays).items()}
        try:
            net.load_state_dict(sd)
        except RuntimeError as exc:
            raise ValueError(f"saved weights do not match the saved architecture: {exc}") from None
        self._set_network(net.to(resolve_device(self.device)), arch, meta.get("history", {}))
        if "training" in meta:  # models saved before the step budget have no summary
            self.training_ = meta["training"]


def _is_auto(value) -> bool:
    return isinstance(value, str) and value == "auto"


def training_summary(state, budget) -> dict:
    """How long training ran and why it stopped (``training_``; ``metrics.json`` ``"training"``)."""
    epochs_run = len(state.history.get("loss", []))
    return {"steps": int(state.step), "epochs": int(epochs_run), "stop_reason": state.why_stopped(), "budget": budget.rule}


class ReconstructionMixin:
    """``inverse_transform`` and ``reconstruct`` for estimators whose network has a decoder."""

    def _decode(self, module: nn.Module, z: torch.Tensor) -> torch.Tensor:
        return module.decode(z)

    def inverse_transform(self, Z) -> np.ndarray:
        """Decode codes (n_samples, latent_dim) back to data space (n_samples, n_features)."""
        net = self._net.eval()
        Z = check_array_2d(Z, name="Z", n_features=int(self._arch["latent_dim"]))
        return apply_in_chunks(functools.partial(self._decode, net), Z, self._device_of_model())

    def reconstruct(self, X) -> np.ndarray:
        """``inverse_transform(transform(X))``, shape (n_samples, n_features)."""
        return self.inverse_transform(self.transform(X))
