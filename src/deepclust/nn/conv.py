"""Convolutional autoencoders from a canonical layer list, the decoder mirrored.

:func:`mirrored_autoencoder` turns the encoder layers of a spec (already validated by
:func:`deepclust.nn.load_spec`) into an encoder and its mirror-image decoder, following the
shapes layer by layer so that sizes round-trip exactly for any input size. The encoder takes
flat rows ``(B, n_features)`` and the decoder gives them back, so the estimators keep working
with 2-D arrays; :class:`Reshape` and :class:`Crop2d` move between flat rows and maps and trim
the decoder's maps to the encoder's exact sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from deepclust.nn.autoencoder import Autoencoder
from deepclust.nn.mlp import activation_layer


class Reshape(nn.Module):
    """``(B, ...) -> (B, *shape)``: the batch axis is kept, the rest is reshaped.

    Examples
    --------
    >>> Reshape((1, 28, 28))(torch.zeros(2, 784)).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Crop1d(nn.Module):
    """Keep the first ``length`` positions of ``(B, C, L)`` sequences (the 1-D :class:`Crop2d`)."""

    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = int(length)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : self.length]

    def extra_repr(self) -> str:
        return f"length={self.length}"


class Crop2d(nn.Module):
    """Keep the first ``height`` rows and ``width`` columns of ``(B, C, H, W)`` maps.

    A transposed convolution that mirrors an asymmetrically padded ("same" with an even
    total padding deficit) convolution comes out one row or column too large at the end;
    this trims it back so that sizes round-trip exactly.
    """

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height, self.width = int(height), int(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : self.height, : self.width]

    def extra_repr(self) -> str:
        return f"height={self.height}, width={self.width}"


# -- shapes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Step:
    """One encoder operation with its input and output shapes (without the batch axis)."""

    kind: str  # "reshape", "conv", "pool", "conv1d", "pool1d" or "dense"
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    layer: dict | None = None
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, bottom, left, right
    extra: tuple[int, int] = (0, 0)  # rows / columns at the end the convolution never reached


def _input_shape(spec: dict, n_features: int | None) -> tuple[int, ...]:
    if spec["encoder"][0]["type"] == "Input":
        return tuple(spec["encoder"][0]["shape"])
    if spec["input_shape"] is not None:
        return tuple(spec["input_shape"])
    if n_features is None:
        raise ValueError("the spec has no input_shape; give one (e.g. [1, 28, 28]) or the number of features")
    return (int(n_features),)


def _conv_dim(size: int, k: int, s: int, padding, axis: int, what: str, where: str) -> tuple[int, int, int, int]:
    """Output size, padding before, padding after, and unreached rows of one spatial axis."""
    if padding == "same":  # TensorFlow's rule: ceil(size / s) outputs, the extra pad at the end
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        before, after = total // 2, total - total // 2
    else:
        before = after = 0 if padding == "valid" else padding[axis]
        if size + before + after < k:
            raise ValueError(
                f"{where}: a kernel of {k} does not fit the input {what} of {size} with padding {padding!r}; "
                "use padding 'same' or a smaller kernel"
            )
        out = (size + before + after - k) // s + 1
    extra = size + before + after - ((out - 1) * s + k)
    return out, before, after, extra


def trace_layers(spec: dict, n_features: int | None, source: str = "spec") -> list[_Step]:
    """Follow the shapes through the encoder, checking that every layer fits its input."""
    shape = _input_shape(spec, n_features)
    n_in = math.prod(shape)
    if n_features is not None and n_in != n_features:
        raise ValueError(
            f"{source}: input_shape {list(shape)} holds {n_in} values per sample, but the data has {n_features} "
            "features; each row must be one flattened sample of that shape (channels first)"
        )
    steps = [_Step("reshape", (n_in,), shape)] if len(shape) > 1 else []
    for i, layer in enumerate(spec["encoder"]):
        kind = layer["type"]
        where = f"{source}: encoder[{i}] ({kind})"
        if kind == "Input":
            continue
        if kind in ("Conv2D", "MaxPool2D") and len(shape) != 3:
            raise ValueError(
                f"{where} needs a (channels, height, width) input but gets shape {list(shape)}; "
                "give input_shape as [C, H, W] or add a Reshape layer before it"
            )
        if kind in ("Conv1D", "MaxPool1D") and len(shape) != 2:
            raise ValueError(
                f"{where} needs a (channels, length) input but gets shape {list(shape)}; "
                "give input_shape as [C, L] or [L], or add a Reshape layer before it"
            )
        if kind == "Conv1D":
            c, length = shape
            lo, before, after, extra = _conv_dim(length, layer["kernel"], layer["stride"], layer["padding"], 0, "length", where)
            out = (layer["filters"], lo)
            steps.append(_Step("conv1d", shape, out, layer, (before, after, 0, 0), (extra, 0)))
        elif kind == "MaxPool1D":
            c, length = shape
            if length % layer["pool"]:
                raise ValueError(
                    f"{where}: cannot pool a sequence of length {length} by {layer['pool']}; change the pool size, "
                    "the input length, or the strides or padding before it"
                )
            out = (c, length // layer["pool"])
            steps.append(_Step("pool1d", shape, out, layer))
        elif kind == "Conv2D":
            c, h, w = shape
            (kh, kw), (sh, sw) = layer["kernel"], layer["stride"]
            ho, top, bottom, eh = _conv_dim(h, kh, sh, layer["padding"], 0, "height", where)
            wo, left, right, ew = _conv_dim(w, kw, sw, layer["padding"], 1, "width", where)
            out = (layer["filters"], ho, wo)
            steps.append(_Step("conv", shape, out, layer, (top, bottom, left, right), (eh, ew)))
        elif kind == "MaxPool2D":
            c, h, w = shape
            ph, pw = layer["pool"]
            if h % ph or w % pw:
                raise ValueError(
                    f"{where}: cannot pool a {h}x{w} map by {ph}x{pw}: {h if h % ph else w} is not divisible by "
                    f"{ph if h % ph else pw}; change the pool size, the input size, or the strides or padding before it"
                )
            out = (c, h // ph, w // pw)
            steps.append(_Step("pool", shape, out, layer))
        elif kind in ("Flatten", "Reshape"):
            out = (math.prod(shape),) if kind == "Flatten" else tuple(layer["shape"])
            if math.prod(out) != math.prod(shape):
                raise ValueError(f"{where}: cannot reshape {list(shape)} ({math.prod(shape)} values) to {list(out)} ({math.prod(out)} values)")
            steps.append(_Step("reshape", shape, out, layer))
        else:  # Dense
            if len(shape) != 1:  # implicit flatten, as Lasagne's DenseLayer does
                steps.append(_Step("reshape", shape, (math.prod(shape),)))
                shape = (math.prod(shape),)
            out = (layer["units"],)
            steps.append(_Step("dense", shape, out, layer))
        shape = out
    if len(shape) != 1:  # the embedding is a flat code
        steps.append(_Step("reshape", shape, (math.prod(shape),)))
    return steps


# -- building -------------------------------------------------------------------------------
def _post(layer: dict | None, shape: tuple[int, ...]) -> list[nn.Module]:
    """Batch norm and activation that ``layer`` asks for, on an output of ``shape``."""
    if layer is None:
        return []
    mods: list[nn.Module] = []
    if layer["batch_norm"]:
        mods.append(nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0]))
    if layer["activation"] is not None:
        mods.append(activation_layer(layer["activation"]))
    return mods


def _reshape_to(shape: tuple[int, ...]) -> nn.Module:
    return nn.Flatten() if len(shape) == 1 else Reshape(shape)


def _encoder_modules(step: _Step) -> list[nn.Module]:
    if step.kind == "reshape":
        return [_reshape_to(step.out_shape)]
    if step.kind == "pool":
        return [nn.MaxPool2d(tuple(step.layer["pool"]))]
    if step.kind == "pool1d":
        return [nn.MaxPool1d(step.layer["pool"])]
    if step.kind == "dense":
        return [nn.Linear(step.in_shape[0], step.out_shape[0]), *_post(step.layer, step.out_shape)]
    if step.kind == "conv1d":
        before, after = step.pad[:2]
        mods = [nn.ConstantPad1d((before, after), 0.0)] if before != after else []
        mods.append(nn.Conv1d(step.in_shape[0], step.out_shape[0], step.layer["kernel"], step.layer["stride"], padding=0 if before != after else before))
        return mods + _post(step.layer, step.out_shape)
    top, bottom, left, right = step.pad
    mods: list[nn.Module] = []
    if (top, left) != (bottom, right):  # asymmetric "same" padding: pad explicitly
        mods.append(nn.ZeroPad2d((left, right, top, bottom)))
        padding = (0, 0)
    else:
        padding = (top, left)
    mods.append(
        nn.Conv2d(step.in_shape[0], step.out_shape[0], tuple(step.layer["kernel"]), tuple(step.layer["stride"]), padding=padding)
    )
    return mods + _post(step.layer, step.out_shape)


def _decoder_modules(step: _Step, before: dict | None) -> list[nn.Module]:
    """The mirror of ``step``: maps its output shape back to its input shape.

    ``before`` is the Conv2D / Dense layer right ahead of ``step`` in the encoder, if any; its
    batch norm and activation follow the mirror, where its output shape is restored. The
    first layer has none ahead of it, so the reconstruction is linear.
    """
    if step.kind in ("pool", "pool1d"):  # same result before the nearest upsampling, on 1/pool^2 the pixels
        return _post(before, step.out_shape) + _mirror(step)
    return _mirror(step) + _post(before, step.in_shape)


def _mirror(step: _Step) -> list[nn.Module]:
    if step.kind == "reshape":
        return [_reshape_to(step.in_shape)]
    if step.kind == "pool":
        return [nn.Upsample(scale_factor=tuple(float(p) for p in step.layer["pool"]), mode="nearest")]
    if step.kind == "pool1d":
        return [nn.Upsample(scale_factor=float(step.layer["pool"]), mode="nearest")]
    if step.kind == "dense":
        return [nn.Linear(step.out_shape[0], step.in_shape[0])]
    if step.kind == "conv1d":
        before, after = step.pad[:2]
        mods = [
            nn.ConvTranspose1d(
                step.out_shape[0], step.in_shape[0], step.layer["kernel"], step.layer["stride"], padding=before, output_padding=step.extra[0]
            )
        ]
        return mods + ([Crop1d(step.in_shape[1])] if before != after else [])
    top, bottom, left, right = step.pad
    _, h, w = step.in_shape
    # (out - 1) * s - 2 * pad + k + extra = size + (after - before): exact when symmetric,
    # one too many at the end otherwise, which Crop2d trims.
    mods: list[nn.Module] = [
        nn.ConvTranspose2d(
            step.out_shape[0],
            step.in_shape[0],
            tuple(step.layer["kernel"]),
            tuple(step.layer["stride"]),
            padding=(top, left),
            output_padding=step.extra,
        )
    ]
    if (top, left) != (bottom, right):
        mods.append(Crop2d(h, w))
    return mods


def mirrored_autoencoder(spec: dict, n_features: int, source: str = "spec") -> Autoencoder:
    """The encoder of a canonical layer spec and its mirror-image decoder.

    ``spec`` is what :func:`deepclust.nn.load_spec` returns (``type`` "layers"); use
    :func:`deepclust.nn.build_autoencoder`, which validates, rather than this directly.
    """
    steps = trace_layers(spec, n_features, source)
    encoder = [m for step in steps for m in _encoder_modules(step)]
    decoder: list[nn.Module] = []
    for i in reversed(range(len(steps))):
        before = steps[i - 1].layer if i > 0 and steps[i - 1].kind in ("conv", "conv1d", "dense") else None
        decoder += _decoder_modules(steps[i], before)
    ae = Autoencoder(nn.Sequential(*encoder), nn.Sequential(*decoder))
    _check_round_trip(ae, n_features, steps[-1].out_shape[0])
    return ae


def _check_round_trip(ae: Autoencoder, n_features: int, latent: int) -> None:
    # A dry run on a zero row: the shape bookkeeping above must agree with torch's.
    ae.eval()
    with torch.no_grad():
        z = ae.encode(torch.zeros(1, n_features))
        x = ae.decode(z)
    ae.train()
    if tuple(z.shape) != (1, latent) or tuple(x.shape) != (1, n_features):
        raise RuntimeError(
            f"internal error: the built autoencoder maps (1, {n_features}) to {tuple(z.shape)} and back to "
            f"{tuple(x.shape)}; expected (1, {latent}) and (1, {n_features})"
        )
