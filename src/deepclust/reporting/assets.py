"""Small arrays a run folder keeps so that its report needs neither the data nor a re-fit.

``embedding_2d.npz``
    ``coords`` (n, 2) float32: the clustered representation itself when it is 2-D, else its
    first two principal components; ``cluster`` (n,) the run's labels; ``model_cluster`` (n,)
    the saved model's own labels; ``y_true`` (n,) when known; ``centers`` (k, 2) when the
    representation is 2-D and the model assigns each point to its nearest centre (k-means,
    DEC, IDEC, DCN), for the Voronoi plot; ``projection`` ("identity" or "pca").
``images.npz`` (image data only)
    ``image_shape``; ``originals`` and ``reconstructions`` (m, d) of m random samples when
    the model has an autoencoder; ``nearest`` (k, m, d) the samples nearest each cluster's
    centre in the representation (NaN rows where a cluster has fewer); ``generated``
    (k, m, d) samples drawn from each cluster when the model can (VaDE).
``snapshots.npz``
    see :class:`deepclust.methods._snapshots.EmbeddingSnapshots`.
"""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import numpy as np

from deepclust._io import atomic_write_bytes

__all__ = ["nearest_centre_model", "write_embedding_2d", "write_images", "write_npz"]


def write_npz(path: str | Path, **arrays) -> None:
    """``np.savez_compressed`` to ``path`` atomically."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def nearest_centre_model(estimator) -> bool:
    """Whether the model labels a point by its nearest centre in the representation (the registry knows)."""
    from deepclust.methods.registry import assigns_to_nearest_centre

    return assigns_to_nearest_centre(estimator)


def write_embedding_2d(path: str | Path, Z: np.ndarray, labels: np.ndarray, *, estimator=None, y_true=None, nearest_centre: bool | None = None) -> None:
    """Write ``embedding_2d.npz`` (see the module docstring).

    ``nearest_centre`` says whether the model assigns points to their nearest centre (the
    registry's fact for the run's method); None asks :func:`nearest_centre_model`.
    """
    Z = np.asarray(Z, dtype=np.float32)
    arrays: dict[str, np.ndarray] = {"cluster": np.asarray(labels, dtype=np.int64)}
    if Z.shape[1] == 2:
        arrays["coords"], arrays["projection"] = Z, np.array("identity")
        centers = getattr(estimator, "cluster_centers_", None)
        if estimator is not None and centers is not None and np.shape(centers) == (int(np.max(estimator.labels_)) + 1, 2) and (nearest_centre if nearest_centre is not None else nearest_centre_model(estimator)):
            arrays["centers"] = np.asarray(centers, dtype=np.float32)
    else:
        from sklearn.decomposition import PCA

        arrays["coords"] = PCA(n_components=2, random_state=0).fit_transform(Z).astype(np.float32) if Z.shape[1] > 2 else np.c_[Z, np.zeros_like(Z)]
        arrays["projection"] = np.array("pca")
    if estimator is not None and hasattr(estimator, "labels_"):
        arrays["model_cluster"] = np.asarray(estimator.labels_, dtype=np.int64)
    if y_true is not None:
        arrays["y_true"] = np.asarray(y_true).astype(np.int64) if np.issubdtype(np.asarray(y_true).dtype, np.integer) else np.unique(np.asarray(y_true), return_inverse=True)[1]
    write_npz(path, **arrays)


def write_images(path: str | Path, X: np.ndarray, Z: np.ndarray, labels: np.ndarray, estimator, image_shape, *, n_per_row: int = 8, random_state: int = 0) -> None:
    """Write ``images.npz`` for image data (see the module docstring)."""
    X = np.asarray(X, dtype=np.float32)
    Z = np.asarray(Z, dtype=np.float64)
    labels = np.asarray(labels)
    rng = np.random.default_rng(random_state)
    arrays: dict[str, np.ndarray] = {"image_shape": np.asarray(image_shape, dtype=np.int64)}
    emb = getattr(estimator, "embedding_", None)
    if emb is not None and hasattr(emb, "reconstruct"):
        pick = np.sort(rng.choice(X.shape[0], size=min(X.shape[0], 2 * n_per_row), replace=False))
        arrays["originals"] = X[pick]
        arrays["reconstructions"] = np.asarray(emb.reconstruct(X[pick]), dtype=np.float32)
    clusters = np.unique(labels)
    nearest = np.full((len(clusters), n_per_row, X.shape[1]), np.nan, dtype=np.float32)
    for i, c in enumerate(clusters):
        members = np.flatnonzero(labels == c)
        centre = Z[members].mean(axis=0)
        order = members[np.argsort(((Z[members] - centre) ** 2).sum(axis=1))[:n_per_row]]
        nearest[i, : len(order)] = X[order]
    arrays["nearest"] = nearest
    arrays["clusters"] = clusters.astype(np.int64)
    sample = getattr(estimator, "sample", None)
    if sample is not None and "cluster" in inspect.signature(sample).parameters:
        k = int(getattr(getattr(estimator, "head_", None), "n_clusters", len(clusters)))
        arrays["generated"] = np.stack([np.asarray(sample(n_per_row, cluster=c, random_state=random_state + c), dtype=np.float32) for c in range(k)])
    write_npz(path, **arrays)
