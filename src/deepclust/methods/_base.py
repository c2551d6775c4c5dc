"""The estimator edge: input validation, numpy <-> torch, device and precision, seeding.

Only this layer knows about numpy arrays and devices; ``nn/``, ``heads/`` and ``losses.py`` see
tensors only.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
from typing import Iterator

import numpy as np
import scipy.sparse
import torch

from deepclust.nn.vae import RECONS as _RECONS

_PRECISIONS = ("auto", "float32", "bf16")


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; otherwise the named device.

    Under ``torchrun``, "auto" and "cuda" mean this process's own GPU, ``cuda:LOCAL_RANK``.
    """
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if device in ("auto", "cuda") and torch.cuda.is_available():
        from deepclust.train.distributed import launched_by_torchrun, local_rank

        return torch.device("cuda", local_rank()) if launched_by_torchrun() else torch.device("cuda")
    if device == "auto":
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available; use device='auto' or 'cpu'")
    return dev


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU advertises native bfloat16 matrix instructions (AVX512-BF16 or AMX).

    Without them PyTorch emulates bf16 matmuls, which is many times *slower* than float32
    (measured on an AVX2-only EPYC: 20-70x), so "auto" precision must not pick bf16 there.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for training: None (float32) or ``torch.bfloat16``.

    ``"auto"`` uses bf16 on CUDA devices that support it and on CPUs with native bf16
    instructions, float32 elsewhere.
    """
    if precision not in _PRECISIONS:
        raise ValueError(f"precision must be one of {_PRECISIONS}, got {precision!r}")
    if precision == "float32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if cpu_has_fast_bf16() else None


def check_recon(recon: str, X: np.ndarray | None = None) -> str:
    """Validate ``recon``; for "bce" also that ``X`` lies in [0, 1]."""
    if recon not in _RECONS:
        raise ValueError(f"recon must be one of {_RECONS}, got {recon!r}")
    if recon == "bce" and X is not None and (X.min() < 0.0 or X.max() > 1.0):
        raise ValueError(
            f"recon='bce' (Bernoulli likelihood) needs data in [0, 1], but X ranges over [{X.min():.4g}, {X.max():.4g}]; "
            "scale it to [0, 1] or use recon='mse'"
        )
    return recon


def check_array_2d(
    X, *, name: str = "X", n_features: int | None = None, min_samples: int = 1, owner: str | None = None
) -> np.ndarray:
    """Validate ``X`` as a finite 2-D numeric array and return it as C-contiguous float32.

    ``owner`` (an estimator's class name) is named in the feature-count error. Messages keep
    the phrases scikit-learn's own validation uses ("Reshape your data", "Complex data not
    supported", "is expecting N features as input"), so estimator checks and users who
    grep for them find them.

    Raises
    ------
    ValueError
        Naming what is wrong: dimensionality, non-numeric values, NaN/inf (with the first
        offending row and column), too few samples, or a feature count that differs from fit.
    TypeError
        For sparse matrices and for entries that are not numbers at all (e.g. dicts).
    """
    if hasattr(X, "X") and hasattr(X, "feature_names"):  # a deepclust Dataset
        X = X.X
    if scipy.sparse.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix, but dense data is required; convert it with {name}.toarray() "
            "(deepclust's networks take dense input)"
        )
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        try:
            arr = arr.astype(np.float64)
        except TypeError as exc:  # e.g. a dict in a cell: "float() argument must be a string or a real number"
            raise TypeError(f"{name} must be numeric; got values of dtype {arr.dtype}: {exc}") from None
        except ValueError as exc:  # e.g. "could not convert string to float: 'a'"
            raise ValueError(f"{name} must be numeric; got values of dtype {arr.dtype}: {exc}") from None
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"Complex data not supported: {name} must be real-valued")
    if arr.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got a 1-D array of length {arr.shape[0]}; "
            "Reshape your data with X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[0] < min_samples:
        raise ValueError(f"{name} has {arr.shape[0]} sample(s); at least {min_samples} are needed")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    finite = np.isfinite(arr)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        raise ValueError(f"{name} contains NaN or infinity (first at row {r}, column {c}); impute or drop them first")
    if n_features is not None and arr.shape[1] != n_features:
        who = owner or "the model"
        raise ValueError(f"{name} has {arr.shape[1]} features, but {who} is expecting {n_features} features as input (it was fitted with {n_features})")
    return arr


def seed_stream(random_state) -> np.random.Generator:
    """A numpy Generator from ``random_state`` (None, int, RandomState or Generator).

    None draws fresh OS entropy; it never reads or advances numpy's global RNG.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise ValueError(f"random_state must be None, an int or a numpy random generator, got {random_state!r}")


def draw_seed(rng: np.random.Generator) -> int:
    """One 31-bit integer seed for a component (torch, UMAP, a scikit-learn clusterer)."""
    return int(rng.integers(0, 2**31 - 1))


@contextlib.contextmanager
def torch_seeded(seed: int, device: torch.device) -> Iterator[torch.Generator]:
    """Run torch code from ``seed`` and leave the global torch RNG exactly as it was.

    Module construction (``nn.Linear`` draws from the global RNG) and dropout happen inside a
    forked RNG state seeded with ``seed``; the yielded CPU generator drives the shuffling.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield torch.Generator().manual_seed(seed)


def to_tensor(X: np.ndarray, device: torch.device) -> torch.Tensor:
    """float32 numpy -> tensor on ``device`` (no copy on CPU)."""
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)


@torch.no_grad()
def apply_in_chunks(fn, X: np.ndarray, device: torch.device, chunk_size: int = 4096) -> np.ndarray:
    """Apply a tensor function to ``X`` in fixed-size chunks and return float32 numpy.

    The fixed chunking makes the result for a row independent of how the caller batched it,
    so ``predict(X_train)`` reproduces ``labels_`` bit for bit.
    """
    outs = []
    for start in range(0, X.shape[0], chunk_size):
        xb = to_tensor(X[start : start + chunk_size], device)
        outs.append(fn(xb).float().cpu().numpy())
    return np.concatenate(outs, axis=0) if outs else np.zeros((0, 0), dtype=np.float32)


class Float32OutputMixin:
    """scikit-learn tags for estimators whose ``transform`` always returns float32.

    The networks compute in float32, so float32 input keeps its dtype and float64 input comes
    back as float32; the tag tells scikit-learn's estimator checks which dtype is preserved.
    Put it before ``BaseEstimator`` in the bases.
    """

    def __sklearn_tags__(self):  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"preserves_dtype": [np.float32]}
