"""Optimisers for the shared loop, built with the fastest kernel the parameters' device has.

PyTorch's fused Adam (one kernel for the whole update) exists for CPU and CUDA tensors since
2.4; on this project's 2-core AVX512 machine it cut an autoencoder epoch (d-500-500-2000-10,
MNIST-70k, batch 256, bf16 autocast) from 5.9 s to 4.3 s against the default multi-tensor
("foreach") Adam (benchmarks/PERFORMANCE.md). The update rule is the same; results differ only
by floating-point summation order, and a fused run is as deterministic as any other.
"""

from __future__ import annotations

from typing import Iterable

import torch

_FUSED_DEVICES = ("cpu", "cuda")


def _fusable(params: list[torch.nn.Parameter]) -> bool:
    devices = {p.device.type for p in params}
    dtypes = {p.dtype for p in params}
    return len(devices) == 1 and devices <= set(_FUSED_DEVICES) and dtypes <= {torch.float32, torch.float16, torch.bfloat16, torch.float64}


def adam(params: Iterable[torch.nn.Parameter], lr: float, **kwargs) -> torch.optim.Adam:
    """``torch.optim.Adam`` with ``fused=True`` where the parameters allow it.

    Parameters
    ----------
    params : iterable of Parameter
        All on one CPU or CUDA device for the fused kernel; otherwise the default kernel.
    lr : float
    **kwargs
        Passed on (``eps``, ``betas``, ``weight_decay``).

    Examples
    --------
    >>> net = torch.nn.Linear(3, 2)
    >>> adam(net.parameters(), lr=1e-3).defaults["fused"]
    True
    """
    params = [p for p in params]
    if not params:
        raise ValueError("the optimiser got no parameters to train")
    fused = _fusable(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=fused, **kwargs)
    except (RuntimeError, TypeError):  # an older torch or an unsupported device: the default kernel
        return torch.optim.Adam(params, lr=lr, **kwargs)
