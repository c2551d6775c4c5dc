"""Run a benchmark grid: each cell in its own process, rows appended as cells finish."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from deepclust.bench._results import HARNESS_COLUMNS, append_rows, command_line, device_description, git_commit, read_rows
from deepclust.bench.cell import MARKER
from deepclust.bench.config import BenchConfig, load_config

logger = logging.getLogger(__name__)


ASSOCIATION_FIELDS = ("covariate", "role", "test", "statistic", "p_value", "effect_size", "measure")
ASSOCIATION_COLUMNS = ("dataset", "method", "seed", *ASSOCIATION_FIELDS, "commit")


#: Per deep cell: the scores of the clustering its head started from (``init_labels_``), the
#: optimiser steps of the clustering phase and why it stopped: how much of a row is its start.
TRAINING_COLUMNS = ("dataset", "method", "seed", "start_acc", "start_nmi", "start_ari", "steps", "stop_reason", "commit")
INTERNAL_COLUMNS = ("dataset", "method", "seed", "space_dims", "silhouette", "davies_bouldin", "calinski_harabasz", "commit")


def internal_path(results: Path) -> Path:
    """``results/x.csv`` -> ``results/x_internal.csv``: internal metrics per cell (config ``internal_metrics = true``)."""
    return results.with_name(results.stem + "_internal.csv")


def training_path(results: Path) -> Path:
    """``results/x.csv`` -> ``results/x_training.csv``: each deep cell's start and stop (:data:`TRAINING_COLUMNS`)."""
    return results.with_name(results.stem + "_training.csv")


def associations_path(results: Path) -> Path:
    """``results/x.csv`` -> ``results/x_associations.csv``: cluster-covariate associations per cell."""
    return results.with_name(results.stem + "_associations.csv")


def cell_spec(cfg, d, m, seed: int, pretrain_dir=None) -> dict:
    """What :func:`deepclust.bench.cell.run_cell` needs to run one cell (JSON-serialisable)."""
    return {
        "dataset": {"key": d.key, "name": d.name, "path": d.path, "subset": d.subset, "scale": d.scale, "options": d.options, "n_clusters": d.n_clusters,
                    **{k: list(getattr(d, k)) for k in ("preprocess", "technical", "biological") if getattr(d, k)}},
        "method": {"name": m.name, "params": m.params_for(d.key), "pretrain": m.pretrain},
        "seed": seed,
        "internal_metrics": cfg.internal_metrics,
        # keyed by dataset, seed and settings: safe to share across configs
        "pretrain_dir": str(pretrain_dir or cfg.results.parent / "_pretrained"),
    }


def record_cell(cfg, d, m, seed: int, out: dict, *, commit: str, command: str) -> None:
    """Append a cell's outcome ``out`` (run_cell's result with a ``status``) to the results file,
    and its internal metrics, training record and associations to their side files, so the
    results schema stays as it is."""
    params = m.params_for(d.key)
    row = {
        "dataset": d.key, "method": m.key, "seed": seed,
        "n_samples": out.get("n_samples", ""), "acc": out.get("acc", ""), "nmi": out.get("nmi", ""), "ari": out.get("ari", ""),
        "seconds": round(out["seconds"], 2) if "seconds" in out else "", "peak_rss_mb": round(out["peak_rss_mb"], 1) if "peak_rss_mb" in out else "",
        "device": device_description(out.get("torch_device", "cpu")), "commit": commit, "command": command,
        "status": out["status"], "error": out.get("error", ""),
        "params": json.dumps({**params, "pretrain": "shared"} if m.pretrain == "shared" else params, sort_keys=True),
    }
    append_rows(cfg.results, [row], columns=HARNESS_COLUMNS)
    keys = {"dataset": d.key, "method": m.key, "seed": seed, "commit": commit}
    if out.get("internal"):
        append_rows(internal_path(cfg.results), [{**keys, **out["internal"]}], columns=INTERNAL_COLUMNS)
    if out.get("training"):
        append_rows(training_path(cfg.results), [{**keys, **out["training"]}], columns=TRAINING_COLUMNS)
    if out.get("associations"):
        append_rows(associations_path(cfg.results), [{**keys, **{c: a[c] for c in ASSOCIATION_FIELDS}} for a in out["associations"]], columns=ASSOCIATION_COLUMNS)


def _finished(results: Path) -> set[tuple[str, str, int]]:
    return {(r["dataset"], r["method"], int(r["seed"])) for r in read_rows(results) if r.get("status", "ok") == "ok"}


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent dies.

    Without it, a ``deepclust bench`` stopped by SIGTERM or SIGKILL (a scheduler, ``kill``)
    left its cell training on as an orphan, holding a core, with nobody to record its result
    (seen on a 2-core machine: the orphan halved the next run's speed). Ctrl-C reaches the
    whole process group and needs no help. No-op where ``prctl`` is not available.
    """
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def _run_child(spec: dict, time_limit: float) -> dict:
    """Run one cell in a fresh interpreter; a crash, a timeout or garbage output is a failed cell."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "deepclust.bench.cell"],
            input=json.dumps(spec), capture_output=True, text=True, timeout=time_limit, env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "error": f"exceeded the time limit of {time_limit:g} s", "seconds": time.perf_counter() - t0}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"status": "failed", "error": f"process exited with status {proc.returncode}: {tail}"}


def _selection(kind: str, wanted: Sequence[str] | None, keys: list[str]) -> set[str]:
    """The keys to run: all of them, or the ``wanted`` ones, each of which must be in the config."""
    if not wanted:
        return set(keys)
    unknown = [w for w in wanted if w not in keys]
    if unknown:
        raise ValueError(f"{kind} {', '.join(map(repr, unknown))} is not in the config; its {kind}s are {', '.join(keys)}")
    return set(wanted)


def run(config, *, command: str | None = None, dry_run: bool = False,
        datasets: Sequence[str] | None = None, methods: Sequence[str] | None = None,
        seeds: Sequence[int] | None = None, pretrain_dir=None) -> pd.DataFrame:
    """Run every unfinished cell of ``config`` and return all rows of its results file.

    Parameters
    ----------
    config : path, dict or BenchConfig
        See :mod:`deepclust.bench.config`.
    command : str, optional
        The command line recorded in each row (default: this process's).
    dry_run : bool
        List the cells that would run, run nothing.
    datasets, methods : sequence of str, optional
        Run only the cells of these dataset and method keys (labels where the config gives
        them). The results file is the config's own, so a part run this way and the rest run
        later make one table; an unknown key is an error that lists the config's keys.
    seeds : sequence of int, optional
        Run only these of the configured seeds (a seed the config does not have is an error).
    pretrain_dir : path, optional
        Folder of the shared pretrainings (``pretrain = "shared"``); default ``_pretrained``
        beside the results file. A new, empty folder makes every cell train its
        autoencoder inside the run, so that the run's wall time is a time from scratch.

    Returns
    -------
    pandas.DataFrame
        The results file's rows (with :data:`HARNESS_COLUMNS`), finished cells included; in a
        dry run, the pending cells.

    Notes
    -----
    Cells already finished (status ``ok``) are skipped, so an interrupted benchmark resumes by
    re-running the same command. A failed or timed-out cell is recorded with its error and
    does not stop the others; it is tried again on the next run.
    """
    cfg = config if isinstance(config, BenchConfig) else load_config(config)
    if pretrain_dir:
        if Path(pretrain_dir).exists() and not Path(pretrain_dir).is_dir():
            raise ValueError(f"pretrain_dir {str(pretrain_dir)!r} is a file, not a folder")
        pretrain_dir = Path(pretrain_dir).resolve()  # once: every cell's child gets the same absolute path
    keep_d = _selection("dataset", datasets, [d.key for d in cfg.datasets])
    keep_m = _selection("method", methods, [m.key for m in cfg.methods])
    configured = sorted({s for _, _, s in cfg.cells()})
    keep_s = _selection("seed", None if seeds is None else [str(s) for s in seeds], [str(s) for s in configured])
    done = _finished(cfg.results)
    pending = [(d, m, s) for d, m, s in cfg.cells()
               if (d.key, m.key, s) not in done and d.key in keep_d and m.key in keep_m and str(s) in keep_s]
    if dry_run:
        return pd.DataFrame([{"dataset": d.key, "method": m.key, "seed": s, "params": json.dumps(m.params_for(d.key), sort_keys=True)} for d, m, s in pending])
    logger.info("%s: %d cells, %d already finished, %d to run", cfg.name, len(list(cfg.cells())), len(done & {(d.key, m.key, s) for d, m, s in cfg.cells()}), len(pending))
    command = command or command_line()
    for i, (d, m, seed) in enumerate(pending, 1):
        logger.info("[%d/%d] %s / %s / seed %d", i, len(pending), d.key, m.key, seed)
        out = _run_child(cell_spec(cfg, d, m, seed, pretrain_dir), cfg.time_limit)  # the child imports the tree as it is now: record that commit
        record_cell(cfg, d, m, seed, out, commit=git_commit(), command=command)
        if out["status"] == "ok":
            logger.info("    acc %.4f nmi %.4f ari %.4f in %.1f s, %.0f MiB", out["acc"], out["nmi"], out["ari"], out["seconds"], out["peak_rss_mb"])
        else:
            logger.warning("    %s: %s", out["status"], out.get("error", ""))
    return pd.DataFrame(read_rows(cfg.results))
