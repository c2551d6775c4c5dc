"""One run pipeline: preprocess -> (choose k) -> fit -> evaluate -> write.

``deepclust fit`` runs :func:`fit_run`, ``deepclust select-k`` runs :func:`select_k_run`; both
prepare the data with the same step (:func:`deepclust.runs.data.plan_preprocessing`) and choose
k with the same step (:func:`deepclust.runs.fitting.choose_k`), so ``select-k`` chooses k on the
data ``fit --n-clusters auto`` would. Benchmark cells prepare their data with the same step.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from deepclust._io import atomic_directory, atomic_write_json
from deepclust.datasets import Dataset
from deepclust.runs.config import RunConfig, RunResult, checkpoint_folder, default_out_dir
from deepclust.runs.data import Preprocessing, confounder_columns, plan_preprocessing, resolve_n_clusters
from deepclust.runs.fitting import choose_k, fit_step, method_builder, training_checkpoints
from deepclust.runs.writing import run_description, run_document, timed, write_run_folder
from deepclust.train.distributed import is_main_process

__all__ = ["SelectKRun", "fit_run", "run_pipeline", "select_k_run"]


def fit_run(dataset: Dataset, config: RunConfig | None = None, /, **settings) -> RunResult:
    """Cluster ``dataset`` and write a run folder (see :mod:`deepclust.runs` for its layout).

    Parameters
    ----------
    dataset : Dataset
    config : RunConfig, optional
        The run's settings; ``settings`` given by keyword override its fields.
    **settings
        Fields of :class:`RunConfig` (``method``, ``n_clusters``, ``out``, ``seed``, ``scale``,
        ``preprocess``, ``seeds``, ...), for calls without a config.

    Returns
    -------
    RunResult

    Under ``torchrun`` every rank fits (the training is data-parallel) and only rank 0 writes
    the run folder; the other ranks return the same result with their files discarded.

    Examples
    --------
    >>> from deepclust.datasets import load_dataset
    >>> result = fit_run(load_dataset("digits"), method="kmeans", out="runs/digits-kmeans", plot=False)  # doctest: +SKIP
    >>> result.metrics["scaling"]["scale"]  # images are kept as they are  # doctest: +SKIP
    'none'
    """
    cfg = RunConfig(**settings) if config is None else replace(config, **settings)
    return run_pipeline(dataset, cfg)


def run_pipeline(dataset: Dataset, cfg: RunConfig) -> RunResult:
    """The steps of :func:`fit_run`, on a validated configuration; see there."""
    if cfg.resume and cfg.out is None:
        raise ValueError("resume needs the output folder of the interrupted run (--out)")
    k = resolve_n_clusters(cfg.n_clusters, dataset)
    plan = cfg.seed_plan()
    estimator = method_builder(cfg.method, dataset, cfg.options)(2 if k == "auto" else k, plan.first)  # validates the name first
    out = Path(cfg.out) if cfg.out is not None else default_out_dir(dataset.name, cfg.method)
    prep = plan_preprocessing(dataset, cfg.scale, cfg.preprocess)
    technical, biological = confounder_columns(dataset, cfg.technical, cfg.biological)
    run = run_description(dataset, cfg, k=k, seed=plan.seed, seeds=plan.seeds, prep=prep)
    folder = checkpoint_folder(out)
    if cfg.resume:  # the interrupted process left its unfinished run folder behind: it is of no use
        for stale in out.parent.glob(f".{out.name}.*.partial"):
            shutil.rmtree(stale, ignore_errors=True)
    main = is_main_process()
    # Wall seconds of every phase, for metrics.json: what a run costs outside training shows there.
    timings = {} if cfg.load_seconds is None else {"load": round(float(cfg.load_seconds), 3)}
    with atomic_directory(out, overwrite=cfg.overwrite) if main else _discarded_directory() as tmp:
        with timed(timings, "preprocess"):
            X = prep.fit_transform(dataset)
        t0 = time.perf_counter()
        with training_checkpoints(folder, cfg.checkpoint_every, cfg.resume, run) as ckpt:
            fitted = fit_step(X, dataset, cfg, k=k, plan=plan, estimator=estimator, tmp=tmp)
        seconds = time.perf_counter() - t0
        timings["fit"] = round(seconds, 3)
        with timed(timings, "transform"):
            Z = fitted.estimator.transform(X)
        with timed(timings, "evaluate"):
            doc = run_document(dataset, cfg, prep, fitted, X=X, Z=Z, seconds=seconds, technical=technical, biological=biological)
        write_run_folder(tmp, dataset, cfg, prep, fitted, doc, X=X, Z=Z, main=main, timings=timings)
    if ckpt is not None:  # the run folder is complete: the checkpoints have served
        shutil.rmtree(folder, ignore_errors=True)
    resumed = tuple(ckpt.resumed_phases) if ckpt is not None else ()
    return RunResult(out_dir=out, labels=fitted.labels, metrics=doc, seconds=seconds, model=fitted.estimator, embedding=Z, resumed_phases=resumed)


@contextlib.contextmanager
def _discarded_directory():
    """Where ranks other than 0 write their (identical) run files: a folder deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="deepclust-rank-") as tmp:
        yield Path(tmp)


@dataclass(frozen=True)
class SelectKRun:
    """What :func:`select_k_run` produced: the sweep, its folder and the preprocessing it ran on."""

    result: object  # SelectKResult
    out_dir: Path
    preprocessing: Preprocessing


def select_k_run(dataset: Dataset, cfg: RunConfig) -> SelectKRun:
    """Choose k for ``cfg.method`` on ``dataset`` and write ``select_k.csv``, ``.png`` and ``.json``.

    The data go through the same preprocessing step as :func:`fit_run` (``cfg.preprocess``,
    then ``cfg.scale``), and k is chosen by the same step as ``n_clusters="auto"``, with
    ``cfg.seed``, ``cfg.k_range``, ``cfg.n_bootstrap`` and the autoencoder options.
    """
    method_builder(cfg.method, dataset, cfg.options)(2, cfg.seed)  # validates the name and options first
    prep = plan_preprocessing(dataset, cfg.scale, cfg.preprocess)
    out = Path(cfg.out) if cfg.out is not None else default_out_dir(dataset.name, f"{cfg.method}-select-k")
    with atomic_directory(out, overwrite=cfg.overwrite) as tmp:
        X = prep.fit_transform(dataset)
        result, _ = choose_k(X, cfg.method, seed=cfg.seed, k_range=cfg.k_range, options=cfg.options, n_bootstrap=cfg.n_bootstrap,
                             progress=cfg.progress, image_shape=dataset.image_shape)
        result.write(tmp, plot=cfg.plot)
        atomic_write_json(tmp / "select_k.json", {"dataset": dataset.name, "method": cfg.method, "seed": cfg.seed, "scale": prep.scale,
                                                  "scaling": prep.scaling, "preprocess": prep.preprocessor.specs, **result.to_dict()})
    return SelectKRun(result=result, out_dir=out, preprocessing=prep)
