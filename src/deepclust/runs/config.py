"""What a run is: its settings (:class:`RunConfig`), its seeds, its folder names and its result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["RunConfig", "RunResult", "SeedPlan", "checkpoint_folder", "default_out_dir"]


@dataclass(frozen=True)
class RunConfig:
    """The settings of one run of :func:`deepclust.runs.fit_run` (``deepclust fit``).

    Parameters
    ----------
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
        Scaling after ``preprocess``; "auto" follows :func:`deepclust.preprocess.auto_scale.auto_scaling`,
        and ``metrics.json`` says under ``"scaling"`` what it chose and why.
    overwrite : bool, default=False
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
    preprocess : str or list of str, optional
        Preprocessing steps in the language of :mod:`deepclust.preprocess.pipeline`, e.g.
        ``"log1p,combat:batch=plate_batch,select:mad=100"``; batch steps read the
        dataset's metadata. Saved in the run folder and replayed by ``predict_run``.
    technical, biological : str, list of str or "auto", optional
        Metadata columns to test the clusters against (:func:`deepclust.explain.confounders.confounder_check`);
        "auto" takes the dataset's own defaults (``dataset.info["confounders"]``).
    load_seconds : float, optional
        Seconds the caller spent loading the data (the CLI measures it), recorded with the
        run's other phases under ``"timings"`` in ``metrics.json``.

    Examples
    --------
    >>> RunConfig(method="kmeans", n_clusters=3).seed_plan().first
    0
    """

    method: str = "n2d"
    n_clusters: int | str | None = None
    out: str | Path | None = None
    seed: int | None = 0
    scale: str = "auto"
    overwrite: bool = False
    autoencoder_options: dict | None = None
    plot: bool = True
    k_range: Sequence[int] | None = None
    seeds: Sequence[int] | None = None
    explain: bool = False
    snapshots: bool = True
    progress: bool = False
    data_source: dict | None = None
    n_bootstrap: int = 10
    checkpoint_every: int | None = None
    resume: bool = False
    preprocess: str | Sequence[str] | None = None
    technical: str | Sequence[str] | None = None
    biological: str | Sequence[str] | None = None
    load_seconds: float | None = None

    def __post_init__(self) -> None:
        # Only what no later step checks; the method, scale and steps are validated by the steps.
        k = self.n_clusters
        if not (k is None or k == "auto" or (isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1)):
            raise ValueError(f"n_clusters must be a positive integer, 'auto' or None, got {k!r}")
        every = self.checkpoint_every
        if every is not None and (isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1):
            raise ValueError(f"checkpoint_every must be a positive integer or None, got {every!r}")
        if isinstance(self.n_bootstrap, bool) or not isinstance(self.n_bootstrap, (int, np.integer)) or self.n_bootstrap < 0:
            raise ValueError(f"n_bootstrap must be a non-negative integer, got {self.n_bootstrap!r}")

    @property
    def options(self) -> dict:
        """The autoencoder options, a fresh dict (empty when none were given)."""
        return dict(self.autoencoder_options or {})

    def seed_plan(self) -> "SeedPlan":
        """The seed of a single fit, or the seeds of a stability run (one seed is a single fit)."""
        seeds = list(self.seeds) if self.seeds else None
        if seeds is not None and len(seeds) == 1:
            return SeedPlan(seed=seeds[0], seeds=None)
        return SeedPlan(seed=self.seed, seeds=seeds)


@dataclass(frozen=True)
class SeedPlan:
    """``seed`` for one fit, or ``seeds`` (two or more) for a stability run."""

    seed: int | None
    seeds: list[int] | None

    @property
    def first(self) -> int | None:
        """The seed of the k sweep and of the estimator built first."""
        return self.seeds[0] if self.seeds else self.seed


@dataclass(frozen=True)
class RunResult:
    """What :func:`deepclust.runs.fit_run` produced."""

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
    """Where a run keeps the checkpoints of the run folder ``out``: ``OUT.partial-checkpoints``."""
    return Path(f"{Path(out)}.partial-checkpoints")
