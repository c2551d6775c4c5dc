"""Autoencoders from a declarative spec: a dict (read a JSON or YAML file with
:func:`deepclust.datasets.load_network_spec`).

A spec describes the *encoder* as a list of layers in the style of the Aljalbout et al. (2018)
repository; the decoder is its mirror image, built automatically, so that sizes round-trip
exactly for any input size (28x28 MNIST, 16x16 USPS, 128x128 photos). Example (JSON)::

    {
      "input_shape": [1, 28, 28],
      "batch_norm": false,
      "encoder": [
        {"type": "Conv2D", "filters": 32, "kernel": 5, "stride": 2},
        {"type": "Conv2D", "filters": 64, "kernel": 5, "stride": 2},
        {"type": "Conv2D", "filters": 128, "kernel": 3, "stride": 2},
        {"type": "Flatten"},
        {"type": "Dense", "units": 10}
      ]
    }

Top-level keys: ``input_shape`` ([C, H, W], [H, W] or [n]; or an ``Input`` layer with ``shape``
as the first encoder entry), ``activation`` (default "relu"), ``batch_norm`` (default false),
``padding`` (default "same"), ``encoder``, and the free-text ``name`` and ``description``.

Layers (keys in brackets are optional):

- ``Input``: shape
- ``Conv2D``: filters, kernel (int or [kh, kw]), [stride=1], [padding: "same", "valid", int],
  [activation], [batch_norm]
- ``MaxPool2D``: pool (int or [ph, pw]); the map must divide by it
- ``Conv1D``: filters, kernel (int), [stride=1], [padding], [activation], [batch_norm]: a
  convolution along ordered feature vectors (spectra, ordered m/z bins); the input shape is
  then ``[channels, length]`` (or ``[length]``, one channel)
- ``MaxPool1D``: pool (int); the length must divide by it
- ``Flatten``
- ``Dense``: units, [activation], [batch_norm]; flattens a map implicitly, as in Lasagne
- ``Reshape``: shape

The Aljalbout key names (``num_filters``, ``filter_size``, ``non_linearity`` with "rectify" and
"linear", ``conv_mode``, ``num_units``, ``output_shape``, ``use_batch_norm``, ``layers``) are
accepted too. Their Lasagne layers default to "valid" padding; write ``"padding": "valid"``
at the top level when porting one of their files.

The last Conv2D / Dense layer gives the embedding and is linear (and without batch norm)
unless it names an activation. The decoder mirrors every layer (Dense -> Dense, Conv2D ->
ConvTranspose2d with the output padding that restores the size, MaxPool2D -> nearest
upsampling, Flatten / Reshape -> the inverse reshape), and the batch norm and activation of
each encoder layer follow the decoder layer that restores its output shape; nothing follows
the last decoder layer, so the reconstruction is linear.

Both networks work on flat rows: the encoder maps ``(B, n_features)`` to ``(B, latent_dim)``
and the decoder maps back to ``(B, n_features)``, so the estimators keep their 2-D arrays.

``{"type": "mlp", "hidden_dims": [500, 500, 2000], "latent_dim": 10}`` describes DEC's fully
connected autoencoder in the same format.

References
----------
Aljalbout, Golkov, Siddiqui, Strobel & Cremers (2018). Clustering with deep learning:
taxonomy and new methods. arXiv:1801.07648.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
import warnings
from typing import Any, Mapping

import torch  # noqa: F401  (the doctest examples use it)

from deepclust._io import MAPPING_SUFFIXES, read_mapping_file
from deepclust.nn.autoencoder import Autoencoder, mlp_autoencoder
from deepclust.nn.conv import mirrored_autoencoder, trace_layers
from deepclust.nn.mlp import _ACTIVATIONS

__all__ = ["build_autoencoder", "latent_dim", "load_spec", "normalize_spec"]

_LINEAR = ("linear", "identity", "none")
_ACTIVATION_ALIASES = {"rectify": "relu"}  # Lasagne's name, used in the Aljalbout files
_PADDINGS = ("same", "valid")

# type -> (required keys, optional keys); aliases map other spellings to these keys
_LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Input": (("shape",), ()),
    "Conv2D": (("filters", "kernel"), ("stride", "padding", "activation", "batch_norm")),
    "MaxPool2D": (("pool",), ()),
    "Conv1D": (("filters", "kernel"), ("stride", "padding", "activation", "batch_norm")),
    "MaxPool1D": (("pool",), ()),
    "Flatten": ((), ()),
    "Dense": (("units",), ("activation", "batch_norm")),
    "Reshape": (("shape",), ()),
}
_KEY_ALIASES = {
    "Input": {"output_shape": "shape"},
    "Conv2D": {
        "num_filters": "filters",
        "filter_size": "kernel",
        "kernel_size": "kernel",
        "strides": "stride",
        "non_linearity": "activation",
        "conv_mode": "padding",
    },
    "MaxPool2D": {"filter_size": "pool", "pool_size": "pool"},
    "Conv1D": {"kernel_size": "kernel", "strides": "stride"},
    "MaxPool1D": {"pool_size": "pool"},
    "Dense": {"num_units": "units", "non_linearity": "activation"},
}
_TOP_KEYS = {
    "layers": ("type", "name", "description", "input_shape", "activation", "batch_norm", "padding", "encoder"),
    "mlp": ("type", "name", "description", "hidden_dims", "latent_dim", "activation", "batch_norm"),
}
_TOP_ALIASES = {"layers": "encoder", "use_batch_norm": "batch_norm"}
_SPEC_TYPES = {"layers": "layers", "conv": "layers", "mlp": "mlp"}
_PARAMETRIC = ("Conv2D", "Conv1D", "Dense")
_ONE_D = ("Conv1D", "MaxPool1D")
_TWO_D = ("Conv2D", "MaxPool2D")


# -- reading --------------------------------------------------------------------------------
def load_spec(spec) -> dict:
    """Validate a network spec given as a dict; return it in canonical form.

    Parameters
    ----------
    spec : dict
        The spec. A ``.json``/``.yaml``/``.yml`` path is still accepted here but deprecated:
        reading files belongs to the layers above ``nn``; use
        :func:`deepclust.datasets.load_network_spec`, which takes a dict or a path.

    Returns
    -------
    dict
        A JSON-serialisable copy with aliases resolved and defaults filled in: ``type`` is
        "layers" or "mlp", and every Conv2D / Dense layer names its ``activation`` (None for
        linear) and ``batch_norm``. Loading the result again gives the same dict.

    Raises
    ------
    ValueError
        An unknown layer type or key (with a did-you-mean), a missing required key, or a
        value of the wrong kind; the message names the source and the layer index.

    Examples
    --------
    >>> spec = load_spec({"input_shape": [1, 8, 8], "encoder": [
    ...     {"type": "Conv2D", "filters": 4, "kernel": 3, "stride": 2},
    ...     {"type": "Dense", "units": 2}]})
    >>> spec["encoder"][0]["activation"], spec["encoder"][1]["activation"]
    ('relu', None)
    """
    if isinstance(spec, Mapping):
        return normalize_spec(spec)
    if isinstance(spec, (str, os.PathLike)):
        warnings.warn(
            "passing a file path to deepclust.nn.load_spec / build_autoencoder is deprecated; "
            "read it with deepclust.datasets.load_network_spec(path) and pass the dict",
            DeprecationWarning,
            stacklevel=2,
        )
        return normalize_spec(read_mapping_file(spec, "network spec"), str(spec))
    raise ValueError(
        f"a network spec must be a dict or the path of a {'/'.join(MAPPING_SUFFIXES)} file, got {type(spec).__name__}"
    )


def normalize_spec(spec: Mapping, source: str = "spec") -> dict:
    """Validate the network spec ``spec`` (a mapping) and return its canonical form.

    ``source`` names where it came from (a file name) in error messages.
    """
    return _normalize(spec, source)


# -- validation -----------------------------------------------------------------------------
def _did_you_mean(word: str, known) -> str:
    hint = difflib.get_close_matches(str(word), list(known), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def _unknown_key(key, known, where: str) -> ValueError:
    return ValueError(f"{where}: unknown key {key!r}{_did_you_mean(key, known)}; known keys: {', '.join(sorted(known))}")


def _int(value, what: str, where: str, minimum: int = 1) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value != int(value)
        or value < minimum
    ):
        raise ValueError(f"{where}: {what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _pair(value, what: str, where: str, minimum: int = 1) -> list[int]:
    """An int or a pair of ints -> [a, b]."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{where}: {what} must be an integer or a pair [height, width], got {list(value)!r}")
        return [_int(v, what, where, minimum) for v in value]
    v = _int(value, what, where, minimum)
    return [v, v]


def _bool(value, what: str, where: str) -> bool:
    if isinstance(value, bool) or value in (0, 1):  # the Aljalbout files write 0 / 1
        return bool(value)
    raise ValueError(f"{where}: {what} must be true or false, got {value!r}")


def _activation(value, where: str) -> str | None:
    if value is None or (isinstance(value, str) and value.lower() in _LINEAR):
        return None
    if isinstance(value, str):
        name = _ACTIVATION_ALIASES.get(value.lower(), value.lower())
        if name in _ACTIVATIONS:
            return name
    known = [*sorted(_ACTIVATIONS), "linear"]
    raise ValueError(f"{where}: unknown activation {value!r}{_did_you_mean(value, known)}; known: {', '.join(known)}")


def _padding(value, where: str) -> str | list[int]:
    if isinstance(value, str):
        if value.lower() in _PADDINGS:
            return value.lower()
        raise ValueError(f"{where}: padding must be 'same', 'valid' or an integer, got {value!r}{_did_you_mean(value, _PADDINGS)}")
    return _pair(value, "padding", where, minimum=0)


def _shape(value, what: str, where: str, one_d: bool = False) -> list[int]:
    if one_d:  # sequences: [channels, length], or [length] for one channel
        if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 2:
            raise ValueError(f"{where}: with Conv1D layers, {what} must be a list [channels, length] or [length], got {value!r}")
        shape = [_int(v, what, where) for v in value]
        return [1, *shape] if len(shape) == 1 else shape
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 3:
        raise ValueError(f"{where}: {what} must be a list [channels, height, width], [height, width] or [n], got {value!r}")
    shape = [_int(v, what, where) for v in value]
    return [1, *shape] if len(shape) == 2 else shape  # [H, W] means one channel


def _normalize(raw: Mapping, source: str) -> dict:
    keys = {_TOP_ALIASES.get(str(k), str(k)): v for k, v in raw.items()}
    if len(keys) != len(raw):
        raise ValueError(f"{source}: a key is given twice under two names ({sorted(map(str, raw))})")
    kind = keys.get("type")
    if kind is None:
        kind = "mlp" if "encoder" not in keys and ("hidden_dims" in keys or "latent_dim" in keys) else "layers"
    if not isinstance(kind, str) or kind.lower() not in _SPEC_TYPES:
        raise ValueError(f"{source}: unknown spec type {kind!r}{_did_you_mean(kind, _SPEC_TYPES)}; known: {', '.join(_SPEC_TYPES)}")
    kind = _SPEC_TYPES[kind.lower()]
    for key in keys:
        if key not in _TOP_KEYS[kind]:
            raise _unknown_key(key, _TOP_KEYS[kind], source)
    out: dict[str, Any] = {"type": kind}
    for key in ("name", "description"):
        if key in keys:
            out[key] = str(keys[key])
    activation = _activation(keys.get("activation", "relu"), source)
    batch_norm = _bool(keys.get("batch_norm", False), "batch_norm", source)
    if kind == "mlp":
        if activation is None:
            raise ValueError(f"{source}: an mlp spec needs a non-linear activation")
        hidden = keys.get("hidden_dims", [500, 500, 2000])
        if not isinstance(hidden, (list, tuple)):
            raise ValueError(f"{source}: hidden_dims must be a list of integers, got {hidden!r}")
        out["hidden_dims"] = [_int(h, "hidden_dims", source) for h in hidden]
        out["latent_dim"] = _int(keys.get("latent_dim", 10), "latent_dim", source)
        out.update(activation=activation, batch_norm=batch_norm)
        return out
    padding = _padding(keys.get("padding", "same"), source)
    if "encoder" not in keys:
        raise ValueError(f"{source}: missing the 'encoder' list of layers")
    encoder = keys["encoder"]
    if not isinstance(encoder, (list, tuple)) or not encoder:
        raise ValueError(f"{source}: 'encoder' must be a non-empty list of layers, got {encoder!r}")
    layers = [_normalize_layer(layer, i, source) for i, layer in enumerate(encoder)]
    for i, layer in enumerate(layers[1:], start=1):
        if layer["type"] == "Input":
            raise ValueError(f"{source}: encoder[{i}] (Input) must be the first layer")
    param_idx = [i for i, layer in enumerate(layers) if layer["type"] in _PARAMETRIC]
    if not param_idx:
        raise ValueError(f"{source}: the encoder has no Conv2D or Dense layer (nor Conv1D), so nothing to learn")
    kinds = {layer["type"] for layer in layers}
    one_d = bool(kinds & set(_ONE_D))
    if one_d and kinds & set(_TWO_D):
        raise ValueError(f"{source}: the encoder mixes 1-D (Conv1D, MaxPool1D) and 2-D (Conv2D, MaxPool2D) layers; use one kind")
    for i in param_idx:  # resolve defaults; the embedding layer is linear unless it says otherwise
        last = i == param_idx[-1]
        layer = layers[i]
        if "activation" not in layer:
            layer["activation"] = None if last else activation
        if "batch_norm" not in layer:
            layer["batch_norm"] = False if last else batch_norm
        if layer["type"] == "Conv1D":
            layer.setdefault("stride", 1)
            layer.setdefault("padding", list(padding) if isinstance(padding, list) else padding)
        if layer["type"] == "Conv2D":
            layer.setdefault("stride", [1, 1])
            layer.setdefault("padding", list(padding) if isinstance(padding, list) else padding)
    for i, layer in enumerate(layers):
        if "shape" in layer:
            layer["shape"] = _shape(layer["shape"], "shape", f"{source}: encoder[{i}] ({layer['type']})", one_d)
    top_shape = _shape(keys["input_shape"], "input_shape", source, one_d) if keys.get("input_shape") is not None else None
    if layers[0]["type"] == "Input":  # kept in the list so that error messages count as the user does
        if top_shape is not None and top_shape != layers[0]["shape"]:
            raise ValueError(
                f"{source}: input_shape {top_shape} and the Input layer's shape {layers[0]['shape']} disagree; give one of them"
            )
        top_shape = None
    out.update(input_shape=top_shape, activation=activation, batch_norm=batch_norm, padding=padding, encoder=layers)
    return out


def _normalize_layer(layer, index: int, source: str) -> dict:
    where = f"{source}: encoder[{index}]"
    if not isinstance(layer, Mapping):
        raise ValueError(f"{where} must be a mapping with a 'type', got {layer!r}")
    if "type" not in layer:
        raise ValueError(f"{where} has no 'type'; known types: {', '.join(_LAYERS)}")
    given = layer["type"]
    by_lower = {t.lower(): t for t in _LAYERS}
    if isinstance(given, str) and given.rstrip("*") in _LAYERS and given.endswith("*"):
        raise ValueError(
            f"{where} ({given}): pooling with switches (unpooling at the stored indices) is not supported, "
            "because decode(z) must work without the encoder's pooling indices; use 'MaxPool2D'"
        )
    kind = by_lower.get(given.lower()) if isinstance(given, str) else None
    if kind is None:
        raise ValueError(f"{where}: unknown layer type {given!r}{_did_you_mean(given, _LAYERS)}; known types: {', '.join(_LAYERS)}")
    where = f"{where} ({kind})"
    required, optional = _LAYERS[kind]
    aliases = _KEY_ALIASES.get(kind, {})
    known = {*required, *optional, *aliases}
    values: dict[str, Any] = {}
    for key, value in layer.items():
        if key == "type":
            continue
        if key not in known:
            raise _unknown_key(key, {*required, *optional}, where)
        canonical = aliases.get(key, key)
        if canonical in values:
            raise ValueError(f"{where}: {canonical!r} is given twice (as {key!r} and under another name)")
        values[canonical] = value
    for key in required:
        if key not in values:
            raise ValueError(f"{where}: missing the required key {key!r} (required: {', '.join(required)})")
    out: dict[str, Any] = {"type": kind}
    if kind in ("Input", "Reshape"):  # [H, W] vs [C, L] is settled once the spec's layers are known
        shape = values["shape"]
        if not isinstance(shape, (list, tuple)) or not 1 <= len(shape) <= 3:
            raise ValueError(f"{where}: shape must be a list [channels, height, width], [height, width], [channels, length] or [n], got {shape!r}")
        out["shape"] = [_int(v, "shape", where) for v in shape]
    elif kind == "Conv2D":
        out["filters"] = _int(values["filters"], "filters", where)
        out["kernel"] = _pair(values["kernel"], "kernel", where)
        if "stride" in values:
            out["stride"] = _pair(values["stride"], "stride", where)
        if "padding" in values:
            out["padding"] = _padding(values["padding"], where)
    elif kind == "MaxPool2D":
        out["pool"] = _pair(values["pool"], "pool", where)
    elif kind == "Conv1D":
        out["filters"] = _int(values["filters"], "filters", where)
        out["kernel"] = _int(values["kernel"], "kernel", where)
        if "stride" in values:
            out["stride"] = _int(values["stride"], "stride", where)
        if "padding" in values:
            out["padding"] = _padding(values["padding"], where)
    elif kind == "MaxPool1D":
        out["pool"] = _int(values["pool"], "pool", where)
    elif kind == "Dense":
        out["units"] = _int(values["units"], "units", where)
    if "activation" in values:
        out["activation"] = _activation(values["activation"], where)
    if "batch_norm" in values:
        out["batch_norm"] = _bool(values["batch_norm"], "batch_norm", where)
    return out

def latent_dim(spec, n_features: int | None = None) -> int:
    """Size of the embedding that ``spec`` (anything :func:`load_spec` takes) produces.

    ``n_features`` is needed only when the spec has no input shape (a Dense-only spec).

    Examples
    --------
    >>> latent_dim({"type": "mlp", "hidden_dims": [64], "latent_dim": 5})
    5
    """
    spec = load_spec(spec)
    if spec["type"] == "mlp":
        return spec["latent_dim"]
    return trace_layers(spec, n_features)[-1].out_shape[0]


def build_autoencoder(spec, n_features: int) -> Autoencoder:
    """Build the autoencoder that ``spec`` describes, for rows of ``n_features`` values.

    Parameters
    ----------
    spec : dict, str or os.PathLike
        Anything :func:`load_spec` takes.
    n_features : int
        Values per sample; must equal the product of the spec's input shape.

    Returns
    -------
    Autoencoder
        ``encode``: ``(B, n_features) -> (B, latent_dim)``; ``decode``: ``(B, latent_dim) ->
        (B, n_features)``. Weights have PyTorch's default initialisation.

    Raises
    ------
    ValueError
        An invalid spec (see :func:`load_spec`), an input shape that does not match
        ``n_features``, or a layer that does not fit its input (a kernel larger than the map
        with "valid" padding, a map that does not divide by the pool size).

    Examples
    --------
    >>> ae = build_autoencoder({"input_shape": [1, 16, 16], "encoder": [
    ...     {"type": "Conv2D", "filters": 8, "kernel": 3, "stride": 2},
    ...     {"type": "Flatten"}, {"type": "Dense", "units": 4}]}, n_features=256)
    >>> z = ae.encode(torch.zeros(2, 256)); z.shape, ae.decode(z).shape
    (torch.Size([2, 4]), torch.Size([2, 256]))
    """
    source = str(spec) if isinstance(spec, (str, os.PathLike)) else "spec"
    spec = load_spec(spec)
    n_features = _int(n_features, "n_features", source)
    if spec["type"] == "mlp":
        return mlp_autoencoder(
            n_features, spec["hidden_dims"], spec["latent_dim"], activation=spec["activation"], batch_norm=spec["batch_norm"]
        )
    return mirrored_autoencoder(spec, n_features, source)
