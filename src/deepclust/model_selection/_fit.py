"""Model selection for a named method: choose k on its learned embedding; fit several seeds.

Used by :func:`deepclust.runs.fit_run` (``n_clusters="auto"``, ``seeds=[...]``) and by the
``deepclust select-k`` command.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from deepclust.metrics import evaluate
from deepclust.model_selection.select_k import SelectKResult, select_k
from deepclust.model_selection.stability import StabilityResult, seed_stability

logger = logging.getLogger(__name__)

__all__ = ["SeedFits", "fit_seeds", "select_k_for_method", "sweep_clusterer"]


def sweep_clusterer(method: str, n_dims: int) -> str:
    """The clusterer whose k a method's sweep chooses: the one the method itself uses.

    The registry says which (:meth:`deepclust.methods.registry.MethodSpec.clusterer_for_sweep`);
    a Gaussian mixture becomes a diagonal one above 32 dimensions, where full covariances
    cost too much.
    """
    from deepclust.methods.registry import METHODS

    name = METHODS[method].clusterer_for_sweep()
    if name == "gmm" and n_dims > 32:
        name = "gmm-diag"
    return name


def select_k_for_method(
    X: np.ndarray,
    method: str,
    *,
    seed: int | None,
    k_range,
    embedding_options: dict | None = None,
    n_bootstrap: int = 10,
    progress: bool = False,
    image_shape=None,
) -> tuple[SelectKResult, object | None, np.ndarray]:
    """Learn the method's embedding once, sweep k on it, and return (result, fitted embedding, Z).

    Raw baselines (k-means, GMM, ... on the features, and umap-gmm) sweep on ``X`` itself and
    return ``None`` as embedding. For deep methods the embedding is the method's autoencoder
    (or VAE), trained with ``embedding_options``; N2D's code size, which defaults to k, is
    then its fixed default of 10 unless ``latent_dim`` is given.
    """
    from deepclust.methods.registry import METHODS, build_method

    if method not in METHODS:
        build_method(method, 2, seed)  # raises the did-you-mean error
    spec = METHODS[method]
    embedding = None
    if spec.deep:
        opts = {k: v for k, v in (embedding_options or {}).items() if v is not None}
        if image_shape is not None and "input_shape" in spec.embedding().get_params() and "network" not in opts:
            opts.setdefault("input_shape", [int(s) for s in image_shape])  # image augmentations, as build_method does
        embedding = spec.embedding(random_state=seed, **opts)
        logger.info("select k: training the %s embedding once", method)
        Z = np.asarray(embedding.fit_transform(X), dtype=np.float32)
    else:
        Z = X
    clusterer = sweep_clusterer(method, Z.shape[1])
    result = select_k(Z, k_range, clusterer=clusterer, n_bootstrap=n_bootstrap, random_state=seed, progress=progress)
    result.settings["space"] = "the method's embedding (learned once)" if spec.deep else "the scaled features"
    return result, embedding, Z


@dataclass
class SeedFits:
    """Fits of one method with several seeds and what their agreement says."""

    seeds: list[int]
    estimators: list
    stability: StabilityResult
    per_seed: list[dict]

    @property
    def best(self) -> int:
        return self.stability.best_run

    def labels(self) -> np.ndarray:
        """Consensus labels renumbered to match the kept model's own labels where they overlap."""
        from scipy.optimize import linear_sum_assignment

        model = np.asarray(self.estimators[self.best].labels_)
        cons = self.stability.consensus
        K, M = cons.max() + 1, model.max() + 1
        table = np.zeros((K, max(M, K)))
        np.add.at(table, (cons, model), 1)
        rows, cols = linear_sum_assignment(-table)
        mapping = np.empty(K, dtype=np.int64)
        mapping[rows] = cols
        return mapping[cons]

    def summary(self) -> dict:
        return {
            "seeds": self.seeds,
            "model_seed": self.seeds[self.best],
            "labels": "consensus of the seeds (co-association matrix, average linkage), numbered to match the kept model where they overlap",
            "model": "the fit whose labels agree best with the consensus (highest ARI); predict uses it, so its labels can differ from the consensus on a few samples",
            "per_seed": self.per_seed,
        }


def fit_seeds(build, X: np.ndarray, seeds: list[int], *, y_true=None, observers=None, progress: bool = False) -> SeedFits:
    """Fit ``build(seed)`` on ``X`` for every seed and measure their agreement.

    Parameters
    ----------
    build : callable seed -> unfitted estimator
    X : ndarray of shape (n_samples, n_features)
    seeds : list of int, at least 2
    y_true : array-like, optional
        Reference labels: each seed's ACC/NMI/ARI go into ``per_seed``.
    observers : callable seed -> list of training callbacks, optional
        Observers (see :func:`deepclust.train.observe_training`) for each seed's fit.
    progress : bool
        A progress bar over seeds.
    """
    from deepclust.train import observe_training

    if len(seeds) < 2:
        raise ValueError(f"stability needs at least 2 seeds, got {seeds}")
    iterator = seeds
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(seeds, desc="seeds", unit="fit", leave=False)
    estimators, per_seed = [], []
    for s in iterator:
        est = build(s)
        with observe_training(*(observers(s) if observers else ())):
            est.fit(X)
        estimators.append(est)
        row = {"seed": int(s), **evaluate(est.labels_, y_true=y_true)}
        per_seed.append(row)
    stability = seed_stability([e.labels_ for e in estimators], names=[str(s) for s in seeds])
    for row, agree in zip(per_seed, stability.agreement):
        row["ari_with_consensus"] = float(agree)
    return SeedFits(seeds=list(seeds), estimators=estimators, stability=stability, per_seed=per_seed)

