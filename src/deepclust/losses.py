"""Loss functions: pure functions of tensors."""

from __future__ import annotations

import torch


def reconstruction_mse(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared reconstruction error over all entries, as in DEC/N2D pretraining.

    Computed in float32 even under bfloat16 autocast, so the loss value is comparable.
    """
    return torch.mean((x_hat.float() - x.float()) ** 2)
