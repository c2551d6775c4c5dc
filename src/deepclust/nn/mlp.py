"""Multi-layer perceptrons: the encoder and decoder of DEC, IDEC, DCN and N2D."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def activation_layer(name: str) -> nn.Module:
    """Return a fresh activation module by name (``"relu"``, ``"gelu"``, ...)."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}") from None


class MLP(nn.Sequential):
    """Fully connected layers ``dims[0] -> dims[1] -> ... -> dims[-1]``.

    Every layer but the last is followed by the activation (and batch norm / dropout when
    asked); the last layer is linear unless ``last_activation`` names one, as in DEC, where the
    embedding and the reconstruction are linear.

    Parameters
    ----------
    dims : sequence of int, length >= 2
        Layer widths including input and output, e.g. ``(784, 500, 500, 2000, 10)``.
    activation : str, default="relu"
    last_activation : str or None, default=None
    batch_norm : bool, default=False
    dropout : float, default=0.0

    Examples
    --------
    >>> MLP((784, 500, 10))(torch.zeros(2, 784)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        dims: Sequence[int],
        *,
        activation: str = "relu",
        last_activation: str | None = None,
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        dims = [int(d) for d in dims]
        if len(dims) < 2 or min(dims) < 1:
            raise ValueError(f"MLP needs at least two positive layer widths, got {dims}")
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(dims) - 2:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(d_out))
                layers.append(activation_layer(activation))
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
            elif last_activation is not None:
                layers.append(activation_layer(last_activation))
        super().__init__(*layers)
        self.dims = tuple(dims)


def glorot_uniform_(module: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """DEC's initialisation: variance-scaling uniform (scale 1/3, fan-in) weights, zero biases.

    This is the ``VarianceScaling(1/3, 'fan_in', 'uniform')`` used by the DEC and IDEC reference
    code; with it the d-500-500-2000-10 autoencoder trains faster than with PyTorch's default.
    ``generator`` makes the draw reproducible without touching the global RNG.
    """
    for m in module.modules():
        if isinstance(m, nn.Linear):
            bound = (1.0 / m.in_features) ** 0.5  # sqrt(3 * scale / fan_in), scale = 1/3
            with torch.no_grad():
                m.weight.uniform_(-bound, bound, generator=generator)
                m.bias.zero_()
    return module
