"""The fit step of a run: build the method, choose k (the one k-choice step of ``fit`` and
``select-k``), fit one seed or several, record embedding snapshots, keep checkpoints."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from deepclust._io import atomic_write_json
from deepclust.datasets import Dataset
from deepclust.methods import build_method
from deepclust.runs.config import RunConfig, SeedPlan

__all__ = ["Fitted", "SnapshotRecorders", "choose_k", "fit_step", "method_builder", "resolve_k_range", "training_checkpoints"]

SWEEP_EMBEDDING = ".sweep_embedding"  # the k sweep's embedding, inside the unfinished run folder


def method_builder(method: str, dataset: Dataset, options: dict) -> Callable[[int, int | None], object]:
    """``build(k, seed)``: the estimator ``method`` for ``dataset``, with the autoencoder ``options``.

    The options always configure the embedding (pretraining for DEC, IDEC, DCN, VaDE),
    whatever parameters of the same name the method itself has; verbose goes to both.
    """

    def build(k: int, seed: int | None):
        return build_method(method, k, seed, embedding=options, verbose=options.get("verbose"), image_shape=dataset.image_shape)

    return build


def resolve_k_range(k_range) -> list[int]:
    """``k_range`` as a list, or the default sweep (2..12)."""
    from deepclust.model_selection import DEFAULT_K_RANGE

    return list(k_range) if k_range is not None else list(range(DEFAULT_K_RANGE[0], DEFAULT_K_RANGE[1] + 1))


def choose_k(X: np.ndarray, method: str, *, seed, k_range=None, options: dict | None = None, n_bootstrap: int = 10,
             progress: bool = False, image_shape=None, observers=()):
    """Learn the method's embedding once and choose k on it; returns (SelectKResult, fitted embedding or None).

    The only k-choice step: ``deepclust fit --n-clusters auto`` and ``deepclust select-k`` both
    call it, on data prepared by the same preprocessing step. ``observers`` watch the
    embedding's training (see :func:`deepclust.train.observe_training`).
    """
    from deepclust.model_selection._fit import select_k_for_method
    from deepclust.train import observe_training

    with observe_training(*observers):
        selection, embedding, _ = select_k_for_method(
            X, method, seed=seed, k_range=resolve_k_range(k_range), embedding_options=options, n_bootstrap=n_bootstrap,
            progress=progress, image_shape=image_shape,
        )
    return selection, embedding


class SnapshotRecorders:
    """One :class:`~deepclust.methods._snapshots.EmbeddingSnapshots` per seed, when ``enabled``.

    Calling it with a seed gives the observers of that seed's training (none when disabled).
    """

    def __init__(self, X: np.ndarray, enabled: bool) -> None:
        self._X, self._enabled, self._by_seed = X, enabled, {}

    def __call__(self, seed) -> list:
        if not self._enabled:
            return []
        if seed not in self._by_seed:
            from deepclust.methods._snapshots import EmbeddingSnapshots

            self._by_seed[seed] = EmbeddingSnapshots(self._X)
        return [self._by_seed[seed]]

    def get(self, seed):
        """The recorder of ``seed``, or None."""
        return self._by_seed.get(seed)


@dataclass
class Fitted:
    """What the fit step produced: the kept model, the run's labels and how they were chosen."""

    estimator: object
    labels: np.ndarray
    seed: int | None
    k: int
    selection: object | None = None  # SelectKResult of n_clusters="auto"
    seed_fits: object | None = None  # SeedFits of several seeds
    recorder: object | None = None  # EmbeddingSnapshots of the kept seed


def fit_step(X: np.ndarray, dataset: Dataset, cfg: RunConfig, *, k, plan: SeedPlan, estimator, tmp: Path) -> Fitted:
    """Choose k when asked (writing ``select_k.*`` into ``tmp``), then fit one seed or several."""
    from deepclust.methods.registry import METHODS
    from deepclust.train import observe_training

    build = method_builder(cfg.method, dataset, cfg.options)
    recorders = SnapshotRecorders(X, cfg.snapshots and METHODS[cfg.method].deep)
    selection = None
    if k == "auto":
        # With one seed the sweep's embedding is the final model's pretraining: record it.
        selection, sweep_embedding = choose_k(
            X, cfg.method, seed=plan.first, k_range=cfg.k_range, options=cfg.options, n_bootstrap=cfg.n_bootstrap,
            progress=cfg.progress, image_shape=dataset.image_shape, observers=recorders(plan.seed) if plan.seeds is None else (),
        )
        k = selection.k
        estimator = build(k, plan.first)
        if sweep_embedding is not None and plan.seeds is None:
            # One seed: the final model starts from the embedding the sweep learned.
            sweep_embedding.save(tmp / SWEEP_EMBEDDING)
            estimator.set_params(embedding=str(tmp / SWEEP_EMBEDDING))
        selection.write(tmp, plot=cfg.plot)
    if plan.seeds is not None:
        from deepclust.model_selection._fit import fit_seeds

        fits = fit_seeds(lambda s: build(k, s), X, plan.seeds, y_true=dataset.y, observers=recorders, progress=cfg.progress)
        seed = plan.seeds[fits.best]
        return Fitted(fits.estimators[fits.best], fits.labels(), seed, k, selection, fits, recorders.get(seed))
    with observe_training(*recorders(plan.seed)):
        estimator.fit(X)
    return Fitted(estimator, np.asarray(estimator.labels_), plan.seed, k, selection, None, recorders.get(plan.seed))


@contextlib.contextmanager
def training_checkpoints(folder: Path, every: int | None, resume: bool, run: dict):
    """Checkpoint the fit into ``folder`` (with ``run.json`` describing the run), or do nothing.

    Resuming refuses a run whose description differs from the interrupted one's.
    """
    if every is None and not resume:
        yield None
        return
    from deepclust.train import checkpointing

    info = folder / "run.json"
    run = json.loads(json.dumps(run, default=str))  # as it will read back
    if resume:
        if not folder.is_dir():
            raise FileNotFoundError(
                f"nothing to resume: there is no checkpoint folder {str(folder)!r}; give the same --out as the "
                "interrupted run, which must have been started with --checkpoint-every"
            )
        saved = json.loads(info.read_text(encoding="utf-8")) if info.is_file() else {}
        old = saved.get("run", run)
        diffs = [f"{k}={old.get(k)!r} then, {k}={run.get(k)!r} now" for k in {**old, **run} if old.get(k) != run.get(k)]
        if diffs:
            raise ValueError(f"cannot resume {str(folder)!r} with different arguments: {'; '.join(diffs)}")
        every = every or int(saved.get("checkpoint_every", 1))
    with checkpointing(folder, every=int(every), resume=resume) as ctx:
        if not info.is_file():
            atomic_write_json(info, {"run": run, "checkpoint_every": int(every)})
        yield ctx
