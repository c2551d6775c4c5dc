"""A run folder: fit a method on a dataset and write labels, metrics, a plot and the model.

Layout of ``DIR`` (written atomically: the folder appears complete or not at all)::

    labels.csv        sample_id, cluster
    metrics.json      run description and metrics (internal always, external with labels)
    embedding.png     2-D view of the clustered representation, coloured by cluster
    history.json      per-epoch training losses (deep methods)
    preprocess.json   the preprocessing chain applied before the model (arrays in
                      preprocess.safetensors), replayed by predict
    model/            the saved estimator (JSON + safetensors)

and, when asked for or when they apply:

    select_k.csv, select_k.png   the k sweep (n_clusters="auto")
    stability.json, stability_ari.csv   agreement between seeds (several seeds)
    explain/          feature and covariate tables, heatmap (explain=True)
    snapshots.npz     2-D embedding of <= 2000 samples after every epoch (deep methods)
    embedding_2d.npz  2-D view of every sample with labels (for the report)
    images.npz        reconstructions, samples nearest each centre, generated samples (images)
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from deepclust._io import atomic_directory, atomic_open, atomic_write_json
from deepclust._version import __version__
from deepclust.datasets import Dataset
from deepclust.methods import build_method, load_model
from deepclust.metrics import evaluate
from deepclust.preprocess import Preprocessor, apply_scaling, ends_with_scaling, split_steps
from deepclust.train.distributed import is_main_process


@dataclass(frozen=True)
class RunResult:
    """What :func:`fit_run` produced."""

    out_dir: Path
    labels: np.ndarray
    metrics: dict
    seconds: float
    model: object
    embedding: np.ndarray | None = None  # the clustered representation of the training data
    resumed_phases: tuple[int, ...] = ()  # training phases restored from checkpoints (resume)


def default_out_dir(dataset: str, method: str, root: str | Path = "runs") -> Path:
    """``runs/<dataset>-<method>-<timestamp>``: a new folder name for a run."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset)
    return Path(root) / f"{safe}-{method}-{stamp}"


def checkpoint_folder(out: str | Path) -> Path:
    """Where :func:`fit_run` keeps the checkpoints of the run folder ``out``: ``OUT.partial-checkpoints``."""
    return Path(f"{Path(out)}.partial-checkpoints")


@contextlib.contextmanager
def _checkpoints(folder: Path, every: int | None, resume: bool, run: dict):
    """Checkpoint the fit into ``folder`` (with ``run.json`` describing the run), or do nothing."""
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


def _resolve_n_clusters(n_clusters, dataset: Dataset) -> int:
    if n_clusters == "auto":
        return "auto"
    if n_clusters is not None:
        return n_clusters
    if dataset.y is None:
        raise ValueError(f"dataset {dataset.name!r} has no labels, so the number of clusters must be given (--n-clusters K)")
    return int(len(np.unique(dataset.y)))


def _write_labels(path: Path, sample_ids, labels: np.ndarray) -> None:
    frame = pd.DataFrame({"sample_id": np.asarray(sample_ids).astype(str), "cluster": labels.astype(np.int64)})
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False)


def fit_run(
    dataset: Dataset,
    *,
    method: str = "n2d",
    n_clusters: int | None = None,
    out: str | Path | None = None,
    seed: int | None = 0,
    scale: str = "auto",
    overwrite: bool = False,
    autoencoder_options: dict | None = None,
    plot: bool = True,
    k_range=None,
    seeds: list[int] | None = None,
    explain: bool = False,
    snapshots: bool = True,
    progress: bool = False,
    data_source: dict | None = None,
    n_bootstrap: int = 10,
    checkpoint_every: int | None = None,
    resume: bool = False,
    preprocess=None,
    technical=None,
    biological=None,
) -> RunResult:
    """Cluster ``dataset`` with ``method`` and write a run folder.

    Parameters
    ----------
    dataset : Dataset
    method : str, default="n2d"
        A name from :data:`deepclust.methods.METHODS`.
    n_clusters : int, "auto" or None
        None uses the number of reference classes (an error when the labels are unknown).
        "auto" sweeps ``k_range`` on the method's embedding, learned once, and picks k by the
        rule of :func:`deepclust.model_selection.select_k` (writes ``select_k.csv``/``.png``).
    out : path or None
        The run folder; None makes a new one under ``runs/``. An existing folder is an error
        unless ``overwrite``; it is replaced only once the new run is complete.
    seed : int or None, default=0
    scale : {"auto", "none", "standard", "minmax"}, default="auto"
        Scaling after ``preprocess``. "auto": none for image datasets (already in [0, 1])
        and when ``preprocess`` ends with a scaling step, "standard" for everything else.
    preprocess : str or list of str, optional
        Preprocessing steps in the language of :mod:`deepclust.preprocess.pipeline`, e.g.
        ``"log1p,combat:batch=plate_batch,select:mad=100"``; batch steps read the
        dataset's metadata. Saved in the run folder and replayed by :func:`predict_run`.
    technical, biological : str, list of str or "auto", optional
        Metadata columns to test the clusters against (:func:`deepclust.explain.confounders.confounder_check`);
        "auto" takes the dataset's own defaults (``dataset.info["confounders"]``, the
        exposome has them). The result goes to ``metrics.json`` under ``"confounders"``,
        with a ``"warning"`` (also emitted as a :class:`ConfounderWarning`) when the clusters
        track a technical covariate more strongly than any biological one.
    autoencoder_options : dict, optional
        Options of the autoencoder (pretraining, for the clustering-loss methods): ``epochs``,
        ``batch_size``, ``latent_dim``, ``lr``, ``network``, ``device``, ``precision``, ``verbose``.
    plot : bool, default=True
    k_range : iterable of int, optional
        The k swept by ``n_clusters="auto"``; default 2..12.
    seeds : list of int, optional
        Two or more seeds: fit once per seed, write ``stability.json`` and the consensus
        labels as ``labels.csv``; the model kept is the seed that agrees best with the
        consensus. ``seed`` is then ignored (except for the k sweep, which uses ``seeds[0]``).
    explain : bool, default=False
        Also write ``explain/`` (see :func:`deepclust.explain.explain_clusters`), with the
        dataset's metadata as covariates.
    snapshots : bool, default=True
        Record the 2-D embedding over training epochs (deep methods) in ``snapshots.npz``.
    progress : bool, default=False
        Progress bars for the k sweep and the seeds.
    data_source : dict, optional
        How the data were loaded (``load_dataset`` arguments), stored in ``metrics.json``
        under ``"data"`` so that ``deepclust explain`` and ``report`` can reload them.
    n_bootstrap : int, default=10
        Bootstrap resamples per k for the stability criterion of the k sweep.
    checkpoint_every : int or None, default=None
        Write training checkpoints every this many epochs into ``OUT.partial-checkpoints/``
        (see :func:`checkpoint_folder`); they are removed once the run folder is complete.
    resume : bool, default=False
        Continue an interrupted run from its checkpoints: give the same arguments and ``out``.
        On CPU the result is the same as that of an uninterrupted run.

    Under ``torchrun`` every rank fits (the training is data-parallel) and only rank 0 writes
    the run folder; the other ranks return the same result with their files discarded.
    """
    if resume and out is None:
        raise ValueError("resume needs the output folder of the interrupted run (--out)")
    k = _resolve_n_clusters(n_clusters, dataset)
    # The autoencoder options always configure the embedding (pretraining for DEC, IDEC, DCN,
    # VaDE), whatever parameters of the same name the method itself has; verbose goes to both.
    options = dict(autoencoder_options or {})
    seeds = list(seeds) if seeds else None
    if seeds is not None and len(seeds) == 1:
        seed, seeds = seeds[0], None
    first_seed = seeds[0] if seeds else seed
    estimator = build_method(method, 2 if k == "auto" else k, first_seed, embedding=options, verbose=options.get("verbose"), image_shape=dataset.image_shape)  # validates the name first
    out = Path(out) if out is not None else default_out_dir(dataset.name, method)
    steps = split_steps(preprocess)
    if scale == "auto":
        scale = "none" if dataset.image_shape is not None or ends_with_scaling(steps) else "standard"
    if scale not in ("none", "standard", "minmax"):
        raise ValueError(f"unknown scaling {scale!r}; expected one of ['auto', 'none', 'standard', 'minmax']")
    preprocessor = Preprocessor(steps + ([scale] if scale != "none" else []))
    technical, biological = _confounder_columns(dataset, technical, biological)
    run = {"dataset": dataset.name, "n_samples": dataset.n_samples, "n_features": dataset.n_features, "method": method, "n_clusters": k,
           "seed": seed, "scale": scale, "preprocess": list(steps), **{key: v for key, v in sorted(options.items()) if key != "verbose" and v is not None},
           **({"seeds": seeds} if seeds else {}), **({"k_range": list(k_range) if k_range is not None else "default"} if k == "auto" else {})}
    folder = checkpoint_folder(out)
    if resume:  # the interrupted process left its unfinished run folder behind: it is of no use
        for stale in out.parent.glob(f".{out.name}.*.partial"):
            shutil.rmtree(stale, ignore_errors=True)
    main = is_main_process()
    with atomic_directory(out, overwrite=overwrite) if main else _discarded_directory() as tmp:
        X = preprocessor.fit_transform(dataset.X, dataset.metadata)
        t0 = time.perf_counter()
        with _checkpoints(folder, checkpoint_every, resume, run) as ckpt:
            recorders: dict = {}
            spec_deep = _is_deep(method)

            def observers(s):
                if not (snapshots and spec_deep):
                    return []
                from deepclust.methods._snapshots import EmbeddingSnapshots

                recorders.setdefault(s, EmbeddingSnapshots(X))
                return [recorders[s]]

            selection = None
            if k == "auto":
                from deepclust.model_selection import DEFAULT_K_RANGE
                from deepclust.model_selection._fit import select_k_for_method
                from deepclust.train import observe_training

                k_range = list(k_range) if k_range is not None else list(range(DEFAULT_K_RANGE[0], DEFAULT_K_RANGE[1] + 1))
                # With one seed the sweep's embedding is the final model's pretraining: record it.
                with observe_training(*(observers(seed) if seeds is None else ())):
                    selection, sweep_embedding, _ = select_k_for_method(
                        X, method, seed=first_seed, k_range=k_range, embedding_options=options, n_bootstrap=n_bootstrap, progress=progress,
                        image_shape=dataset.image_shape,
                    )
                k = selection.k
                estimator = build_method(method, k, first_seed, embedding=options, verbose=options.get("verbose"), image_shape=dataset.image_shape)
                if sweep_embedding is not None and seeds is None:
                    # One seed: the final model starts from the embedding the sweep learned.
                    sweep_embedding.save(tmp / ".sweep_embedding")
                    estimator.set_params(embedding=str(tmp / ".sweep_embedding"))
                selection.write(tmp, plot=plot)
            seed_fits = None
            if seeds is not None:
                from deepclust.model_selection._fit import fit_seeds

                seed_fits = fit_seeds(
                    lambda s: build_method(method, k, s, embedding=options, verbose=options.get("verbose"), image_shape=dataset.image_shape),
                    X, seeds, y_true=dataset.y, observers=observers, progress=progress,
                )
                estimator = seed_fits.estimators[seed_fits.best]
                seed = seeds[seed_fits.best]
                labels = seed_fits.labels()
            else:
                from deepclust.train import observe_training

                with observe_training(*observers(seed)):
                    estimator.fit(X)
                labels = np.asarray(estimator.labels_)
        seconds = time.perf_counter() - t0
        Z = estimator.transform(X)
        metrics = evaluate(labels, X=Z, y_true=dataset.y)
        doc = {
            "dataset": dataset.name,
            "n_samples": dataset.n_samples,
            "n_features": dataset.n_features,
            "method": method,
            "n_clusters": k,
            "seed": seed,
            "scale": scale,
            "preprocess": preprocessor.specs,
            "n_features_used": int(X.shape[1]),
            "fit_seconds": round(seconds, 3),
            "deepclust_version": __version__,
            "internal_metrics_space": "the representation that was clustered (estimator.transform)",
            "metrics": metrics,
        }
        if data_source is not None:
            doc["data"] = data_source
        if dataset.info.get("classes") is not None:
            doc["classes"] = [str(c) for c in dataset.info["classes"]]
        if selection is not None:
            doc["select_k"] = selection.to_dict()
        if seed_fits is not None:
            doc["stability"] = {**seed_fits.summary(), "unstable_clusters": seed_fits.stability.unstable,
                                "mean_pairwise_ari": seed_fits.stability.to_dict()["mean_pairwise_ari"]}
            seed_fits.stability.write(tmp, extra=seed_fits.summary())
        if technical or biological:
            from deepclust.explain.confounders import confounder_check

            doc["confounders"] = confounder_check(labels, dataset.metadata, technical=technical, biological=biological)
        _write_labels(tmp / "labels.csv", dataset.sample_ids, labels)
        atomic_write_json(tmp / "metrics.json", doc)
        preprocessor.save(tmp)
        history = getattr(estimator, "history_", None) or getattr(getattr(estimator, "embedding_", None), "history_", None)
        if history:
            atomic_write_json(tmp / "history.json", history)
        if main:
            _write_analysis_files(tmp, dataset, X, Z, labels, estimator, recorders.get(seed), explain=explain, plot=plot)
        if plot and main:
            from deepclust.plotting import plot_embedding, save_figure

            ax = plot_embedding(Z, labels, title=f"{method} on {dataset.name}: {k} clusters", random_state=0)
            save_figure(ax.figure, tmp / "embedding.png")
        if (tmp / ".sweep_embedding").exists():
            shutil.rmtree(tmp / ".sweep_embedding")
            estimator.set_params(embedding=None)  # the saved model is self-contained; the path is gone
        estimator.save(tmp / "model")
    if ckpt is not None:  # the run folder is complete: the checkpoints have served
        shutil.rmtree(folder, ignore_errors=True)
    resumed = tuple(ckpt.resumed_phases) if ckpt is not None else ()
    return RunResult(out_dir=out, labels=labels, metrics=doc, seconds=seconds, model=estimator, embedding=Z, resumed_phases=resumed)


def _is_deep(method: str) -> bool:
    from deepclust.methods.registry import METHODS

    return METHODS[method].deep


def _write_analysis_files(tmp: Path, dataset: Dataset, X, Z, labels, estimator, recorder, *, explain: bool, plot: bool) -> None:
    """The report's inputs (embedding_2d.npz, images.npz, snapshots.npz) and explain/."""
    from deepclust.reporting.assets import write_embedding_2d, write_images, write_npz

    write_embedding_2d(tmp / "embedding_2d.npz", Z, labels, estimator=estimator, y_true=dataset.y)
    if dataset.image_shape is not None:
        write_images(tmp / "images.npz", X, Z, labels, estimator, dataset.image_shape)
    if recorder is not None and len(recorder.arrays()["epoch"]):
        write_npz(tmp / "snapshots.npz", **recorder.arrays())
    if explain:
        from deepclust.explain import explain_clusters

        covariates = dataset.metadata.reset_index(drop=True) if dataset.metadata is not None else None
        explain_clusters(dataset.X, labels, feature_names=dataset.feature_names, covariates=covariates).write(tmp / "explain", plot=plot)


@contextlib.contextmanager
def _discarded_directory():
    """Where ranks other than 0 write their (identical) run files: a folder deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="deepclust-rank-") as tmp:
        yield Path(tmp)


def _confounder_columns(dataset: Dataset, technical, biological) -> tuple[list[str], list[str]]:
    """Resolve "auto" to the dataset's defaults; check that the metadata exists."""
    from deepclust.explain.confounders import parse_covariates

    defaults = dataset.info.get("confounders", {}) if isinstance(dataset.info, dict) else {}
    out = []
    for role, value in (("technical", technical), ("biological", biological)):
        if isinstance(value, str) and value.strip().lower() == "auto":
            if role not in defaults:
                raise ValueError(
                    f"dataset {dataset.name!r} has no default {role} covariates; name metadata columns instead of 'auto'"
                )
            value = defaults[role]
        out.append(parse_covariates(value))
    if (out[0] or out[1]) and dataset.metadata is None:
        raise ValueError(
            f"the confounder check needs per-sample covariates, but dataset {dataset.name!r} has none; "
            "give a covariates table (--covariates FILE.csv, first column the sample ID)"
        )
    return out[0], out[1]


def saved_preprocess_steps(model: str | Path) -> list[str]:
    """The preprocessing steps a run folder replays (empty for a bare model folder)."""
    _, run_dir = _model_folder(Path(model))
    if run_dir is None or not (run_dir / "preprocess.json").is_file():
        return []
    try:
        state = json.loads((run_dir / "preprocess.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(run_dir / 'preprocess.json')!r} is not valid JSON: {exc}") from None
    return [str(step.get("spec", "")) for step in state.get("steps", [])] if "format" in state else []


def _model_folder(path: Path) -> tuple[Path, Path | None]:
    """Accept a run folder (with ``model/``) or a model folder; return (model dir, run dir)."""
    if (path / "model" / "model.json").is_file():
        return path / "model", path
    return path, None


def predict_run(model: str | Path, dataset: Dataset, *, out: str | Path | None = None, overwrite: bool = False) -> tuple[np.ndarray, dict | None]:
    """Label ``dataset`` with a saved model (a run folder or a model folder).

    Replays the run's saved preprocessing first (batch steps read ``dataset.metadata``, so
    new samples need their batch; a batch the run never saw is an error). Writes ``sample_id, cluster`` to ``out`` (CSV)
    when given. Returns the labels and, when the dataset has reference labels, the metrics.
    """
    model_dir, run_dir = _model_folder(Path(model))
    estimator = load_model(model_dir)
    X = dataset.X
    if run_dir is not None and (run_dir / "preprocess.json").is_file():
        state = json.loads((run_dir / "preprocess.json").read_text(encoding="utf-8"))
        if "format" in state:
            X = Preprocessor.load(run_dir).transform(X, dataset.metadata)
        else:  # a run folder written before the preprocessing chain: one scaling
            X = apply_scaling(state, X)
    if out is not None:
        out = Path(out)
        if out.exists() and not overwrite:
            raise FileExistsError(f"output file {str(out)!r} already exists; pass --overwrite to replace it")
        if not out.parent.is_dir():
            raise FileNotFoundError(f"output folder {str(out.parent)!r} does not exist")
    labels = estimator.predict(X)
    metrics = evaluate(labels, y_true=dataset.y) if dataset.y is not None else None
    if out is not None:
        _write_labels(out, dataset.sample_ids, labels)
    return labels, metrics
