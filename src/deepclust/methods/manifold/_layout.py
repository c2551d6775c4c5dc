"""UMAP's layout optimisation, parallel and reproducible for any thread count.

umap-learn's seeded optimiser is stochastic gradient descent that walks the edges one after
the other in the graph's row order: each sampled edge moves its head towards its tail and the
tail towards the head (the same step, opposite signs), then pushes the head away from a few
random points, all in place, so every step sees where the steps before it left the points.
That order is what makes it single-threaded.

Fit (``tail_Y`` None): each epoch runs in rounds (:func:`rounds_per_epoch`, 64 for 8,192
points or more); round r holds the heads r, r + rounds, r + 2 rounds, ... (a stride, so rows
stored class by class are still spread over the rounds). In a round, every head walks its own
row in order on a private copy of itself, exactly as umap-learn moves it, reading the other
points as the round found them, while the pulls on its tails go to a per-edge buffer. After
the round one thread writes the heads back and adds the buffered pulls in row and edge order,
so every point receives the same sums whatever the number of threads; the next round starts
from the moved points. With one head per round this is umap-learn's own sequence of updates
(tested with the negative samples switched off).

Why not one snapshot per epoch (ParallelUMAP's first layout, summing a whole epoch's updates
of every point, ~25 pulls and ~125 pushes at a learning rate near 1 in early epochs, as one
step): on 20,000 MNIST PCA-10 points, against umap-learn's optimiser on the same graph and
start, it lost trustworthiness 0.9883 vs 0.9910 and the silhouette of the digit classes 0.318
vs 0.362; summing only a head's own row from one snapshot (rounds of edges) still lost the
silhouette (0.343); walking each row in place with rounds of 1/64 of the points matches
umap-learn (benchmarks/NOTES_n2d.md, session 5).

Transform (``tail_Y`` given): the tails are fixed training points, so each new point walks its
own row in place exactly as umap-learn does, one thread per point, nothing shared.

Negative samples come from a counter-based hash of (seed, epoch, edge, sample), not from a
stream shared by threads. The gradients, clipping, edge-sampling schedule and learning-rate
decay are umap-learn's (``umap/layouts.py``).
"""

from __future__ import annotations

import numba
import numpy as np

#: Rounds per epoch of the fit (fewer for small data, see :func:`rounds_per_epoch`). A round
#: reads the positions left by the one before, so a point sees ~1/64 of its neighbours as they
#: were up to one round earlier. On 20,000 MNIST PCA-10 points, rounds of 1/64 to 1/78 of the
#: rows kept the silhouette of the classes at umap-learn's (0.362), 1/16 lost 0.002, 1/4 lost
#: 0.008 (NOTES_n2d.md, session 5). Each round ends in a barrier: fewer rounds synchronise less.
ROUNDS_PER_EPOCH = 64

#: A round has at least this many heads (while there are enough points), ~1,000 sampled edges
#: of work against one barrier; small data gets fewer rounds and barriers.
MIN_ROUND_ROWS = 128


def rounds_per_epoch(n_points: int) -> int:
    """Rounds per epoch of the fit: :data:`ROUNDS_PER_EPOCH`, fewer below 64 x 128 points."""
    return int(min(ROUNDS_PER_EPOCH, max(1, n_points // MIN_ROUND_ROWS)))


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
def _pow(x, b):
    """x ** b in single precision, as umap-learn computes it: half the time of a double pow."""
    return np.float64(np.float32(x) ** np.float32(b))


@numba.njit(cache=True, inline="always")
def _clip(v):
    return 4.0 if v > 4.0 else (-4.0 if v < -4.0 else v)


@numba.njit(cache=True, parallel=True)
def _fit_epoch(Y, indptr, tails, n_rounds, slot, eps, next_sample, eps_neg, next_neg, n, a, b, gamma, alpha, key, pos, pull, sampled):
    """One epoch of the fit in ``n_rounds`` rounds; round r holds the heads r, r + n_rounds, ...

    ``slot[i]``: where head i's edges start in its round's buffers. Scratch: ``pos`` (rows, dim),
    the heads' private positions; ``pull`` (E, dim) and ``sampled`` (E,), the tails' pulls.
    """
    dim = Y.shape[1]
    n_vert = Y.shape[0]
    n_vert_u = np.uint64(n_vert)
    epoch_key = _mix(key ^ (np.uint64(n) * _C1))
    for r in range(n_rounds):
        n_rows = (n_vert - r + n_rounds - 1) // n_rounds
        for q in numba.prange(n_rows):  # each head walks its own row in place; the others are read from Y
            i = r + q * n_rounds
            for d in range(dim):
                pos[q, d] = Y[i, d]
            for e in range(indptr[i], indptr[i + 1]):
                t = slot[i] + e - indptr[i]
                sampled[t] = next_sample[e] <= n
                if not sampled[t]:
                    continue
                j = tails[e]
                d2 = 0.0
                for d in range(dim):
                    diff = pos[q, d] - Y[j, d]
                    d2 += diff * diff
                gc = 0.0
                if d2 > 0.0:
                    d2b = _pow(d2, b)  # one power: d2^(b-1) = d2^b / d2
                    gc = -2.0 * a * b * (d2b / d2) / (a * d2b + 1.0)
                for d in range(dim):
                    g = _clip(gc * (pos[q, d] - Y[j, d])) * alpha
                    pos[q, d] += g
                    pull[t, d] = -g  # the tail's step, applied after the round
                next_sample[e] += eps[e]
                n_neg = int((n - next_neg[e]) / eps_neg[e])
                edge_key = _mix(epoch_key ^ (np.uint64(e) * _C2))
                for p in range(n_neg):
                    k = _mix(edge_key + np.uint64(p)) % n_vert_u
                    if k == i:  # umap-learn skips the head itself (distance 0)
                        continue
                    d2 = 0.0
                    for d in range(dim):
                        diff = pos[q, d] - Y[k, d]
                        d2 += diff * diff
                    if d2 > 0.0:
                        gc = 2.0 * gamma * b / ((0.001 + d2) * (a * _pow(d2, b) + 1.0))
                        for d in range(dim):
                            pos[q, d] += _clip(gc * (pos[q, d] - Y[k, d])) * alpha
                next_neg[e] += n_neg * eps_neg[e]
        # one thread, in row and edge order: the same sums for any thread count, and one
        # parallel region per round (a barrier costs a time slice when the machine is oversubscribed)
        for q in range(n_rows):
            i = r + q * n_rounds
            for d in range(dim):
                Y[i, d] = pos[q, d]
        for q in range(n_rows):
            i = r + q * n_rounds
            for e in range(indptr[i], indptr[i + 1]):
                t = slot[i] + e - indptr[i]
                if sampled[t]:
                    j = tails[e]
                    for d in range(dim):
                        Y[j, d] += pull[t, d]


@numba.njit(cache=True, parallel=True)
def _transform_epoch(Y, tail_Y, indptr, tails, eps, next_sample, eps_neg, next_neg, n, a, b, gamma, alpha, key):
    """One epoch of transform: new point i walks its row in place; the tails ``tail_Y`` do not move."""
    dim = Y.shape[1]
    n_tail = np.uint64(tail_Y.shape[0])
    epoch_key = _mix(key ^ (np.uint64(n) * _C1))
    for i in numba.prange(indptr.shape[0] - 1):
        for e in range(indptr[i], indptr[i + 1]):
            if next_sample[e] > n:
                continue
            j = tails[e]
            d2 = 0.0
            for d in range(dim):
                diff = Y[i, d] - tail_Y[j, d]
                d2 += diff * diff
            gc = 0.0
            if d2 > 0.0:
                d2b = _pow(d2, b)
                gc = -2.0 * a * b * (d2b / d2) / (a * d2b + 1.0)
            for d in range(dim):
                Y[i, d] += _clip(gc * (Y[i, d] - tail_Y[j, d])) * alpha
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
                    gc = 2.0 * gamma * b / ((0.001 + d2) * (a * _pow(d2, b) + 1.0))
                    for d in range(dim):
                        Y[i, d] += _clip(gc * (Y[i, d] - tail_Y[k, d])) * alpha
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
    n_rounds: int | None = None,
) -> np.ndarray:
    """Optimise the layout ``Y`` (n, dim) of ``graph`` (scipy sparse, n x m) for ``n_epochs``.

    ``tail_Y`` None: the graph is the symmetric fuzzy set of ``Y``'s own points (fit), optimised
    in ``n_rounds`` rounds an epoch (None: :func:`rounds_per_epoch`; ``n``: umap-learn's
    sequential order). Otherwise ``graph`` links new points (rows) to
    the fixed points ``tail_Y`` (transform), which do not move. Returns the new layout, float32.
    """
    from umap.umap_ import make_epochs_per_sample

    csr = graph.tocsr()
    csr.sort_indices()
    eps = make_epochs_per_sample(csr.data, n_epochs).astype(np.float64)
    eps_neg = eps / negative_sample_rate
    next_sample, next_neg = eps.copy(), eps_neg.copy()
    indptr, tails = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    # float32 positions, as umap-learn keeps them (half the memory traffic of float64; each
    # step is computed in float64 and rounded once when it is stored)
    Y = np.array(Y, dtype=np.float32, order="C")  # a copy: updated in place
    key = _U(seed & 0xFFFFFFFFFFFFFFFF)
    if tail_Y is None:
        n_vert = csr.shape[0]
        n_rounds = rounds_per_epoch(n_vert) if n_rounds is None else min(int(n_rounds), n_vert)
        degree = np.diff(indptr)
        slot = np.empty(n_vert, dtype=np.int64)
        max_edges = 0
        for r in range(n_rounds):  # each round's rows share one buffer, in row order
            ends = np.cumsum(degree[r::n_rounds])
            slot[r::n_rounds] = ends - degree[r::n_rounds]
            max_edges = max(max_edges, int(ends[-1]))
        pos = np.empty((-(-n_vert // n_rounds), Y.shape[1]), dtype=np.float32)
        pull = np.empty((max(max_edges, 1), Y.shape[1]), dtype=np.float32)
        sampled = np.empty(max(max_edges, 1), dtype=np.bool_)
    else:
        fixed = np.ascontiguousarray(tail_Y, dtype=np.float32)
    for n in range(n_epochs):
        # umap-learn's decay, updated after each epoch: epochs 0 and 1 both run at the full rate
        alpha = learning_rate * (1.0 - max(n - 1, 0) / n_epochs)
        if tail_Y is None:
            _fit_epoch(Y, indptr, tails, n_rounds, slot, eps, next_sample, eps_neg, next_neg, n,
                       float(a), float(b), float(gamma), alpha, key, pos, pull, sampled)
        else:
            _transform_epoch(Y, fixed, indptr, tails, eps, next_sample, eps_neg, next_neg, n,
                             float(a), float(b), float(gamma), alpha, key)
    return Y
