"""ContrastiveEmbedding: a scikit-learn transformer trained with SimCLR's contrastive loss."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Sequence

import numpy as np
import torch
from torch import nn

from deepclust.methods._neural import NeuralEmbedding, TrainingContext, _is_auto, network_architecture, probe_network
from deepclust.methods._params import Interval, Integral, POSITIVE_REAL
from deepclust.methods._persist import register_model
from deepclust.datasets import load_network_spec as load_spec
from deepclust.nn import MLP, ContrastiveNet, ImageAugment, TabularAugment, build_autoencoder
from deepclust.nn.sizing import default_conv_spec


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
class ContrastiveEmbedding(NeuralEmbedding):
    """Learn an embedding in which two augmented views of a sample agree (SimCLR).

    Every batch is augmented twice; the encoder and a projection head are trained with the
    NT-Xent loss, which pulls the two views of each sample together and pushes the other
    samples of the batch away (Chen et al. 2020). ``transform`` returns the encoder output
    (before the projection head). Images get random resized crops, small rotations and
    shifts, brightness/contrast jitter, blur and noise (``input_shape`` tells the row layout) and, by default, a small
    conv encoder; tabular rows get SCARF's corruption by the features' empirical marginals,
    Gaussian noise and masking (Bahri et al. 2022), and an MLP. See :mod:`deepclust.nn.augment`
    and :mod:`deepclust.nn.sizing`.

    Parameters
    ----------
    latent_dim : int, default=64
        Size of the representation.
    hidden_dims : sequence of int or "auto", default="auto"
        "auto": on images (``input_shape`` given) the small conv encoder of
        :func:`deepclust.nn.sizing.default_conv_spec` (stride-2 3x3 convolutions of 32, 64
        and 128 channels with batch norm and ReLU, then a linear layer to ``latent_dim``), on
        tables the MLP with the widths of :class:`~deepclust.methods.AutoencoderEmbedding`.
        A sequence: the MLP with these hidden widths, on images too.
    network : dict, str, os.PathLike, nn.Module or None, default=None
        A spec (dict or ``.json``/``.yaml`` path, see :func:`deepclust.nn.load_spec`) whose
        *encoder* is used (e.g. a conv encoder; ``latent_dim`` and ``hidden_dims`` are then
        ignored), or your own encoder module mapping ``(B, n_features)`` to
        ``(B, latent_dim)`` (not savable: deepclust never pickles code). None: the default
        encoder chosen by ``hidden_dims``.
    input_shape : (C, H, W) or None, default=None
        Rows are flattened images of this shape, channels first: use image augmentations
        (and, with ``hidden_dims="auto"``, the conv encoder). None: tabular data, unless
        ``network`` is a spec with a (C, H, W) input shape.
    augment : dict, ImageAugment, TabularAugment or None, default=None
        Options of the augmentation (e.g. ``{"crop_scale": [0.3, 1.0]}`` for images,
        ``{"corruption": 0.6}`` for tables); None uses the defaults.
    batch_norm : bool, default=True
        Batch norm in the default encoder's hidden layers, MLP or conv (as in SimCLR's networks).
    projection_dims : sequence of int, default=(256, 64)
        The projection head after the encoder.
    temperature : float, default=0.5
    normalize : bool, default=True
        L2-normalise the representation returned by ``transform`` (the loss compares
        directions, so lengths carry little meaning; clusterers do better on the sphere).
    epochs, steps : int or None, default=None
        The training budget, as in :class:`~deepclust.methods.AutoencoderEmbedding`.
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
    training_, history_ : dict
        How training ran and its per-epoch losses, as in :class:`~deepclust.methods.AutoencoderEmbedding`.

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

    _parameter_constraints = {
        **NeuralEmbedding._parameter_constraints,
        "batch_size": [Interval(Integral, 2, None, closed="left")],  # a contrastive batch needs negatives
        "input_shape": ["array-like", None],
        "augment": [None, Mapping, ImageAugment, TabularAugment],
        "batch_norm": ["boolean"],
        "projection_dims": ["array-like"],
        "temperature": POSITIVE_REAL,
        "normalize": ["boolean"],
    }
    _width_params = ("hidden_dims", "projection_dims")
    _streams_input = False  # tabular views draw from every feature's marginal over the whole data
    _fitted_attribute = "net_"
    _weights_prefix = "net"
    _desc = "contrastive"
    _glorot_init = False  # PyTorch's default initialisation, as SimCLR's networks

    def __init__(
        self, latent_dim: int = 64, hidden_dims: Sequence[int] | str = "auto", network=None, input_shape=None, augment=None, batch_norm: bool = True,
        projection_dims: Sequence[int] = (256, 64), temperature: float = 0.5, normalize: bool = True, epochs: int | None = None, steps: int | None = None, batch_size: int = 256,
        lr: float = 1e-3, patience: int | None = None, precision: str = "auto", device: str = "auto", random_state=None, verbose: bool = False,
    ) -> None:
        self.latent_dim, self.hidden_dims, self.network, self.input_shape = latent_dim, hidden_dims, network, input_shape
        self.augment, self.batch_norm, self.projection_dims = augment, batch_norm, projection_dims
        self.temperature, self.normalize, self.epochs, self.batch_size, self.lr = temperature, normalize, epochs, batch_size, lr
        self.steps = steps
        self.patience, self.precision, self.device, self.random_state, self.verbose = patience, precision, device, random_state, verbose

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

    def _check_data(self, X) -> None:
        make_augment(self.augment, self._input_shape(X.shape[1]))  # a bad shape or option fails before training

    def _architecture(self, n_features: int, n_samples: int | None = None) -> tuple[dict, nn.Module | None]:
        network, shape = self.network, self._input_shape(n_features)
        if network is None and shape is not None and _is_auto(self.hidden_dims):  # images: nn.sizing's conv encoder
            network = default_conv_spec(shape, self.latent_dim, batch_norm=self.batch_norm)
        arch, encoder = network_architecture(network, n_features, hidden_dims=self._hidden_dims(n_features, n_samples), latent_dim=self.latent_dim, encoder_only=True)
        if arch["type"] == "mlp":
            arch["batch_norm"] = bool(self.batch_norm)
        return {**arch, "projection_dims": [int(d) for d in self.projection_dims]}, encoder

    @staticmethod
    def _build(arch: dict, encoder: nn.Module | None = None) -> ContrastiveNet:
        """The encoder of ``arch`` (or the user's ``encoder``) with the projection head."""
        kind = arch.get("type")
        if kind == "mlp":
            dims = [arch["n_features"], *arch["hidden_dims"], arch["latent_dim"]]
            encoder = MLP(dims, batch_norm=arch["batch_norm"])
        elif kind == "spec":
            encoder = build_autoencoder(arch["spec"], arch["n_features"]).encoder
        elif kind != "module":
            raise ValueError(f"unknown network type {kind!r} in saved model")
        elif encoder is None:
            raise ValueError("this model was trained with a user-supplied torch module, which deepclust cannot rebuild from a file")
        if kind != "mlp":  # the code size is what the encoder gives
            arch["latent_dim"] = probe_network(encoder, arch["n_features"], torch.device("cpu"), encoder)
        return ContrastiveNet(encoder, int(arch["latent_dim"]), arch["projection_dims"])

    def _adopt(self, module: nn.Module, arch: dict) -> ContrastiveNet:
        return self._build(arch, module)

    def _batch_size(self, n_samples: int) -> int:
        return int(min(self.batch_size, n_samples))

    def _augmenter(self, reference, rng):
        return make_augment(self.augment, self._input_shape(reference.shape[1]))

    def _loss(self, module: ContrastiveNet, x: torch.Tensor, ctx: TrainingContext) -> dict[str, torch.Tensor]:
        augment = ctx.augmenter
        with torch.autocast(device_type=x.device.type, enabled=False):  # views in float32
            kw = {"reference": ctx.reference} if isinstance(augment, TabularAugment) else {}
            v1, v2 = augment(x, ctx.generator, **kw), augment(x, ctx.generator, **kw)
        return module.loss(v1, v2, self.temperature)

    def _codes(self, module: ContrastiveNet, x: torch.Tensor) -> torch.Tensor:
        z = module.encode(x).float()
        return torch.nn.functional.normalize(z, dim=1) if self.normalize else z
