"""UMAP's layout optimisation, parallel over vertices and reproducible for any thread count.

umap-learn's seeded optimiser walks the edges one after the other, moving both ends of each
edge at once (Gauss-Seidel); that order is what makes it single-threaded. Here each epoch reads
one snapshot of the embedding and every vertex sums its own updates from its own row of the
(symmetric) fuzzy graph into a new copy (Jacobi, as GPU UMAP implementations do): vertex i is
written by one thread only, in the order of its row, so the sums are the same whatever the
number of threads. The graph is symmetric, so the pull that umap applies to the *tail* of edge
(j, i) equals the pull of edge (i, j) on its head: it is added twice (``attraction_scale=2``).
Negative samples come from a counter-based hash of (seed, epoch, edge, sample), not from a
stream shared by threads. The gradients, clipping, edge-sampling schedule and learning-rate
decay are umap-learn's (``umap/layouts.py``).
"""

from __future__ import annotations

import numba
import numpy as np

_U = np.uint64
_C1, _C2, _C3 = _U(0x9E3779B97F4A7C15), _U(0xBF58476D1CE4E5B9), _U(0x94D049BB133111EB)
_S30, _S27, _S31 = _U(30), _U(27), _U(31)


@numba.njit(cache=True, inline="always")
def _mix(x):
    """splitmix64's finaliser: a bijection of uint64 with good avalanche."""
    x = (x ^ (x >> _S30)) * _C2
    x = (x ^ (x >> _S27)) * _C3
    return x ^ (x >> _S31)


@numba.njit(cache=True, inline="always")
def _clip(v):
    return 4.0 if v > 4.0 else (-4.0 if v < -4.0 else v)


@numba.njit(cache=True, parallel=True)
def _epoch(Y, Y_new, tail_Y, indptr, indices, eps, next_sample, eps_neg, next_neg, n, a, b, gamma, alpha, key, attraction_scale):
    """One epoch: Y_new[i] = Y[i] + alpha * (updates of row i's sampled edges), from snapshot Y."""
    dim = Y.shape[1]
    n_tail = np.uint64(tail_Y.shape[0])
    epoch_key = _mix(key ^ (np.uint64(n) * _C1))
    for i in numba.prange(indptr.shape[0] - 1):
        for e in range(indptr[i], indptr[i + 1]):
            if next_sample[e] > n:
                continue
            j = indices[e]
            d2 = 0.0
            for d in range(dim):
                diff = Y[i, d] - tail_Y[j, d]
                d2 += diff * diff
            gc = 0.0
            if d2 > 0.0:
                gc = -2.0 * a * b * d2 ** (b - 1.0) / (a * d2**b + 1.0)
            for d in range(dim):
                Y_new[i, d] += attraction_scale * _clip(gc * (Y[i, d] - tail_Y[j, d])) * alpha
            next_sample[e] += eps[e]
            n_neg = int((n - next_neg[e]) / eps_neg[e])
            edge_key = _mix(epoch_key ^ (np.uint64(e) * _C2))
            for p in range(n_neg):
                k = _mix(edge_key + np.uint64(p)) % n_tail
                d2 = 0.0
                for d in range(dim):
                    diff = Y[i, d] - tail_Y[k, d]
                    d2 += diff * diff
                if d2 > 0.0:
                    gc = 2.0 * gamma * b / ((0.001 + d2) * (a * d2**b + 1.0))
                    for d in range(dim):
                        Y_new[i, d] += _clip(gc * (Y[i, d] - tail_Y[k, d])) * alpha
            next_neg[e] += n_neg * eps_neg[e]


def optimize_layout(
    Y: np.ndarray,
    graph,
    *,
    n_epochs: int,
    a: float,
    b: float,
    seed: int,
    tail_Y: np.ndarray | None = None,
    gamma: float = 1.0,
    learning_rate: float = 1.0,
    negative_sample_rate: int = 5,
) -> np.ndarray:
    """Optimise the layout ``Y`` (n, dim) of ``graph`` (scipy sparse, n x m) for ``n_epochs``.

    ``tail_Y`` None: the graph is the symmetric fuzzy set of ``Y``'s own points (fit).
    Otherwise ``graph`` links new points (rows) to the fixed points ``tail_Y`` (transform),
    which do not move. Returns the new layout, float32.
    """
    from umap.umap_ import make_epochs_per_sample

    csr = graph.tocsr()
    csr.sort_indices()
    eps = make_epochs_per_sample(csr.data, n_epochs).astype(np.float64)
    eps_neg = eps / negative_sample_rate
    next_sample, next_neg = eps.copy(), eps_neg.copy()
    indptr, indices = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    same_set = tail_Y is None
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    key = _U(seed & 0xFFFFFFFFFFFFFFFF)
    fixed = None if same_set else np.ascontiguousarray(tail_Y, dtype=np.float64)
    for n in range(n_epochs):
        alpha = learning_rate * (1.0 - n / n_epochs)
        Y_new = Y.copy()
        _epoch(Y, Y_new, Y if same_set else fixed, indptr, indices, eps, next_sample, eps_neg, next_neg,
               n, float(a), float(b), float(gamma), alpha, key, 2.0 if same_set else 1.0)
        Y = Y_new
    return Y.astype(np.float32)
