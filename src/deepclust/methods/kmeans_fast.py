"""FastKMeans: k-means on millions of points, restarts on a sample, one refinement on all.

scikit-learn's ``KMeans`` spends its time, on millions of rows, running ``n_init`` full
restarts of Lloyd's algorithm. Which restart wins is decided just as well on a random sample
of the rows: this estimator runs the ``n_init`` restarts (k-means++ seeding, Lloyd) on a
sample of ``sample_size`` rows, then refines the best centres with Lloyd iterations on all
rows, which from such a start converge in a few iterations. On 1,000,000 x 10 points it
reaches scikit-learn's inertia several times faster (``benchmarks/kmeans_1m.py``).

The iterations run in scikit-learn (``backend="sklearn"``, the fastest on CPU) or as chunked
tensor operations (``backend="torch"``: a ``(chunk, K)`` distance matmul, an argmin and an
``index_add_`` per chunk) on the device of your choice, e.g. a GPU. faiss was measured and
not used: its exact Lloyd iteration was slower than scikit-learn's on this CPU (see
``benchmarks/PERFORMANCE.md``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from deepclust.methods._base import check_array_2d, draw_seed, resolve_device, seed_stream

_BACKENDS = ("sklearn", "torch")
CHUNK = 1 << 16  # rows per distance block: (65536, K) floats stay in cache-friendly sizes


def _sq_norms(x: torch.Tensor) -> torch.Tensor:
    return (x * x).sum(dim=1)


def _assign(X: torch.Tensor, centers: torch.Tensor, x_sq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centre (n,) int64 and its squared distance (n,) float32, by chunks.

    Uses ``|x|^2 - 2 x.c + |c|^2`` (one matmul per chunk), clamped at zero; the final inertia
    is recomputed from exact differences by :func:`_inertia`.
    """
    c_sq = _sq_norms(centers)
    labels = torch.empty(X.shape[0], dtype=torch.int64, device=X.device)
    dist = torch.empty(X.shape[0], dtype=X.dtype, device=X.device)
    for s in range(0, X.shape[0], CHUNK):
        d = torch.addmm(c_sq[None, :] + x_sq[s : s + CHUNK, None], X[s : s + CHUNK], centers.T, alpha=-2.0)  # (B, K)
        m, i = d.min(dim=1)
        dist[s : s + CHUNK] = m.clamp_min_(0.0)
        labels[s : s + CHUNK] = i
    return labels, dist


def _inertia(X: torch.Tensor, centers: torch.Tensor, labels: torch.Tensor) -> float:
    """Sum of squared distances to the assigned centres, from exact differences, in float64."""
    total = 0.0
    for s in range(0, X.shape[0], CHUNK):
        diff = X[s : s + CHUNK] - centers.to(X)[labels[s : s + CHUNK].to(X.device)]  # (B, d)
        total += float((diff * diff).sum(dtype=torch.float64))  # a flat reduction: fast on CPU
    return total


def kmeans_plusplus(X: torch.Tensor, n_clusters: int, generator: torch.Generator, x_sq: torch.Tensor | None = None) -> torch.Tensor:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007), as in scikit-learn.

    Each new centre is the best, by potential, of ``2 + log(K)`` candidates sampled with
    probability proportional to the squared distance to the nearest centre so far.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
    n_clusters : int
    generator : torch.Generator
        A CPU generator; the draws are made on CPU so the result does not depend on the device.

    Returns
    -------
    Tensor of shape (n_clusters, n_features)
    """
    n = X.shape[0]
    x_sq = _sq_norms(X) if x_sq is None else x_sq
    trials = 2 + int(math.log(n_clusters))
    first = int(torch.randint(n, (1,), generator=generator))
    centers = [X[first]]
    closest = (x_sq - 2.0 * (X @ X[first]) + x_sq[first]).clamp_min_(0.0)  # (n,)
    pot = float(closest.double().sum())
    for _ in range(1, n_clusters):
        if pot <= 0.0:  # fewer distinct points than clusters: any point will do
            cand = torch.randint(n, (trials,), generator=generator)
        else:
            u = torch.rand(trials, generator=generator, dtype=torch.float64) * pot
            cum = torch.cumsum(closest.double(), dim=0).cpu()
            cand = torch.searchsorted(cum, u).clamp_max_(n - 1)
        cand = cand.to(X.device)
        d = (x_sq[None, :] - 2.0 * (X[cand] @ X.T) + x_sq[cand, None]).clamp_min_(0.0)  # (trials, n)
        d = torch.minimum(d, closest[None, :])
        pots = d.double().sum(dim=1)
        best = int(pots.argmin())
        centers.append(X[cand[best]])
        closest, pot = d[best], float(pots[best])
    return torch.stack(centers)


def _lloyd_torch(X, centers, x_sq, max_iter: int, tol_abs: float):
    """Lloyd iterations from ``centers``; returns (centers, labels, n_iter)."""
    K = centers.shape[0]
    labels_prev = None
    for it in range(1, max_iter + 1):
        labels, dist = _assign(X, centers, x_sq)
        counts = torch.bincount(labels, minlength=K)
        sums = torch.zeros(K, X.shape[1], dtype=torch.float64, device=X.device).index_add_(0, labels, X.double())
        empty = (counts == 0).nonzero().flatten()
        if empty.numel():  # scikit-learn's rule: move empty centres to the farthest points
            far = dist.topk(int(empty.numel())).indices
            sums[empty] = X[far].double()
            counts[empty] = 1
        new = (sums / counts[:, None].double()).to(X.dtype)
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if labels_prev is not None and torch.equal(labels, labels_prev):
            break  # strict convergence: nothing moved
        if shift <= tol_abs:
            break
        labels_prev = labels
    labels, _ = _assign(X, centers, x_sq)
    return centers, labels, it


class FastKMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means whose ``n_init`` restarts run on a sample, refined once on all the data.

    1. Draw ``sample_size`` rows at random (all rows when there are fewer).
    2. Run k-means ``n_init`` times on them (greedy k-means++ seeding, Lloyd iterations until
       the squared shift of the centres is below ``tol`` times the mean feature variance, as
       scikit-learn does) and keep the run with the lowest inertia.
    3. Run Lloyd iterations on all rows from those centres.

    With ``sample_size=None`` (or fewer rows than it) this is plain ``KMeans``.

    Parameters
    ----------
    n_clusters : int, default=8
    n_init : int, default=10
        Restarts on the sample; the lowest inertia wins.
    max_iter : int, default=300
        Lloyd iterations per run (restarts and refinement alike).
    tol : float, default=1e-4
        Relative tolerance, as in scikit-learn.
    sample_size : int or None, default=100_000
        Rows the restarts run on. 100,000 rows estimate ten centres to about 1% of a
        cluster's spread, plenty to tell a good restart from a bad one; the refinement on all
        rows removes the remaining error.
    backend : {"sklearn", "torch"}, default="sklearn"
        Who runs the iterations: scikit-learn's ``KMeans`` (fastest on CPU), or chunked torch
        tensor operations on ``device`` (for GPUs).
    device : str, default="auto"
        For ``backend="torch"``: "auto" (CUDA when available), "cpu" or "cuda[:N]".
    random_state : int, numpy Generator or None, default=None
        Seeds the sample and the k-means++ draws. The same int gives the same labels on CPU.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features), float32
    labels_ : ndarray of shape (n_samples,), int64
    inertia_ : float
        Sum of squared distances of the samples to their centre (scikit-learn's value for
        ``backend="sklearn"``, float64 arithmetic for ``"torch"``).
    n_iter_ : int
        Lloyd iterations of the refinement on all rows (of the best run without a sample).
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(1000, centers=3, random_state=0)
    >>> FastKMeans(3, sample_size=500, random_state=0).fit(X).cluster_centers_.shape
    (3, 2)

    References
    ----------
    S. Lloyd. Least squares quantization in PCM. IEEE Trans. Inf. Theory 28(2), 1982.
    D. Arthur, S. Vassilvitskii. k-means++: the advantages of careful seeding. SODA 2007.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        n_init: int = 10,
        max_iter: int = 300,
        tol: float = 1e-4,
        sample_size: int | None = 100_000,
        backend: str = "sklearn",
        device: str = "auto",
        random_state=None,
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.sample_size = sample_size
        self.backend = backend
        self.device = device
        self.random_state = random_state

    def _check_params(self, n_samples: int) -> None:
        for name in ("n_clusters", "n_init", "max_iter"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.sample_size is not None and (not isinstance(self.sample_size, (int, np.integer)) or self.sample_size < self.n_clusters):
            raise ValueError(f"sample_size must be None or an integer >= n_clusters={self.n_clusters}, got {self.sample_size!r}")
        if self.n_clusters > n_samples:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}")
        if not isinstance(self.tol, (int, float)) or self.tol < 0:
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}")
        if self.backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {_BACKENDS}, got {self.backend!r}")

    def fit(self, X, y=None):
        """Cluster ``X`` (n_samples, n_features); ``y`` is ignored."""
        X = check_array_2d(X)
        self._check_params(X.shape[0])
        # One explicit RandomState drives the sample and every seeding (never the global one).
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(self.random_state, bool):
            rs = np.random.RandomState(int(self.random_state))
        else:
            rs = np.random.RandomState(draw_seed(seed_stream(self.random_state)))
        n, k = X.shape[0], int(self.n_clusters)
        sampled = self.sample_size is not None and n > self.sample_size
        Xs = X[np.sort(rs.choice(n, int(self.sample_size), replace=False))] if sampled else X
        run = self._run_sklearn if self.backend == "sklearn" else self._run_torch
        if sampled:
            # Restarts on a 100k sample are small jobs: on 2 shared cores, scikit-learn's two
            # OpenMP threads made them 5x slower than one thread (benchmarks/PERFORMANCE.md).
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1):
                centers, _, _, _ = run(Xs, None, int(self.n_init), rs)
            centers, labels, n_iter, inertia = run(X, centers, 1, rs)
        else:
            centers, labels, n_iter, inertia = run(X, None, int(self.n_init), rs)
        self.inertia_, self.cluster_centers_, self.labels_, self.n_iter_ = float(inertia), centers, labels, int(n_iter)
        self.n_features_in_ = X.shape[1]
        return self

    def _run_sklearn(self, X: np.ndarray, init: np.ndarray | None, n_init: int, rs: np.random.RandomState):
        from sklearn.cluster import KMeans

        km = KMeans(int(self.n_clusters), init="k-means++" if init is None else init, n_init=n_init, max_iter=int(self.max_iter), tol=float(self.tol), random_state=rs).fit(X)
        return km.cluster_centers_.astype(np.float32), km.labels_.astype(np.int64), km.n_iter_, km.inertia_

    def _run_torch(self, X: np.ndarray, init: np.ndarray | None, n_init: int, rs: np.random.RandomState):
        device = resolve_device(self.device)
        Xt = torch.from_numpy(X).to(device)
        x_sq = _sq_norms(Xt)
        tol_abs = float(self.tol) * float(Xt.double().var(dim=0).mean()) if X.shape[0] > 1 else 0.0
        best = None
        for _ in range(n_init):
            if init is None:
                start = kmeans_plusplus(Xt, int(self.n_clusters), torch.Generator().manual_seed(int(rs.randint(0, 2**31 - 1))), x_sq)
            else:
                start = torch.from_numpy(init).to(device)
            centers, labels, n_iter = _lloyd_torch(Xt, start, x_sq, int(self.max_iter), tol_abs)
            inertia = _inertia(Xt, centers, labels)
            if best is None or inertia < best[0]:
                best = (inertia, centers, labels, n_iter)
        inertia, centers, labels, n_iter = best
        return centers.float().cpu().numpy(), labels.cpu().numpy().astype(np.int64), n_iter, inertia

    def _tensors(self, X) -> tuple[torch.Tensor, torch.Tensor]:
        check_is_fitted(self, "cluster_centers_")
        X = check_array_2d(X, n_features=self.n_features_in_, owner=type(self).__name__)
        return torch.from_numpy(X), torch.from_numpy(self.cluster_centers_)

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre for each row of ``X``: (n_samples,) int64."""
        Xt, C = self._tensors(X)
        return _assign(Xt, C, _sq_norms(Xt))[0].numpy()

    def transform(self, X) -> np.ndarray:
        """Euclidean distances to every centre: (n_samples, n_clusters) float32."""
        Xt, C = self._tensors(X)
        return torch.cdist(Xt, C).numpy()

    def score(self, X, y=None) -> float:
        """Opposite of the inertia of ``X`` under the fitted centres (scikit-learn's convention)."""
        Xt, C = self._tensors(X)
        return -_inertia(Xt, C, _assign(Xt, C, _sq_norms(Xt))[0])
