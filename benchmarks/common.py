"""Shared helpers for the benchmark scripts: time and memory of one run, and the results CSV.

Every benchmark writes one row per (dataset, method, seed) cell with the columns in
:data:`COLUMNS`. Each cell runs in a fresh child process (:func:`run_in_child`) so that its
wall time and peak memory are its own and not those of the cells before it.
"""

from __future__ import annotations

import csv
import fcntl
import io
import logging
import multiprocessing as mp
import os
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

logger = logging.getLogger("benchmarks")

COLUMNS = (
    "dataset",
    "method",
    "seed",
    "n_samples",
    "acc",
    "nmi",
    "ari",
    "seconds",
    "peak_rss_mb",
    "device",
    "commit",
    "command",
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def setup_logging(level: int = logging.INFO) -> None:
    """Progress to stderr with a timestamp; used by the parent and by every child."""
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(processName)s %(levelname)s %(message)s")


# -- time and memory ------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux: ``VmHWM`` from ``/proc/self/status``, the high-water mark of the current address
    space. It starts afresh at ``exec``, unlike ``getrusage(RUSAGE_SELF).ru_maxrss``, which
    Linux carries over from the pre-exec image (a child forked from a large parent would
    otherwise report at least the parent's size). Elsewhere ``ru_maxrss`` (KiB on Linux,
    bytes on macOS).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB -> MiB
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024.0 * 1024.0) if sys.platform == "darwin" else maxrss / 1024.0


def measure(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """Run ``fn(*args, **kwargs)``; return ``(result, seconds, peak_rss_mb)``.

    ``seconds`` is the wall time of the call; ``peak_rss_mb`` is the process's peak RSS when
    the call returns, so it is the call's own peak only in a fresh process (see
    :func:`run_in_child`).
    """
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - t0
    return result, seconds, peak_rss_mb()


def _child_main(conn, fn, args, kwargs) -> None:
    setup_logging()
    try:
        out = measure(fn, *args, **kwargs)
        conn.send(("ok", out))
    except BaseException as exc:  # report every failure to the parent, then exit non-zero
        import traceback

        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        raise
    finally:
        conn.close()


def run_in_child(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """:func:`measure` ``fn`` in a fresh ``spawn`` process; ``fn`` must be importable (module level).

    Raises ``RuntimeError`` with the child's traceback if it fails or dies.
    """
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(send, fn, args, kwargs))
    proc.start()
    send.close()
    try:
        status, payload = recv.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(f"benchmark child died without a result (exit code {proc.exitcode})") from None
    finally:
        recv.close()
    proc.join()
    if status != "ok":
        raise RuntimeError(f"benchmark child failed:\n{payload}")
    return payload


# -- provenance ----------------------------------------------------------------------------------
def git_commit(repo: Path = REPO_ROOT) -> str:
    """``git rev-parse --short HEAD``, plus ``-dirty`` when ``src/`` has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def cpu_description() -> str:
    """E.g. ``"cpu (2 cores, AMD EPYC)"`` from ``/proc/cpuinfo`` and ``os.cpu_count()``."""
    model = None
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import platform

    model = model or platform.processor() or platform.machine() or "unknown"
    return f"cpu ({os.cpu_count()} cores, {model})"


def device_description(torch_device: str | None = None) -> str:
    """The CUDA device name when torch computes on CUDA, else :func:`cpu_description`.

    ``torch_device`` is the device the run used (``"cpu"``, ``"cuda:0"``); None means "cuda if
    available", as the library's ``device="auto"`` does. Methods that do not use torch pass "cpu".
    """
    if torch_device != "cpu":
        try:
            import torch

            if torch.cuda.is_available():
                dev = torch.device(torch_device or "cuda")
                return f"cuda ({torch.cuda.get_device_name(dev)})"
        except ImportError:
            pass
    return cpu_description()


def command_line(argv: Iterable[str] | None = None) -> str:
    """The command that invoked the script, ``"python " + argv`` (shell-quoted where needed)."""
    return "python " + shlex.join(list(sys.argv if argv is None else argv))


# -- results CSV ---------------------------------------------------------------------------------
def append_rows(csv_path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append ``rows`` to ``csv_path`` with exactly :data:`COLUMNS`, writing the header if new.

    The rows are formatted first and written with one ``write`` under an exclusive ``flock``,
    so concurrent writers never interleave partial lines.
    """
    rows = list(rows)
    for row in rows:
        if set(row) != set(COLUMNS):
            raise ValueError(f"row keys {sorted(row)} differ from the results columns {list(COLUMNS)}")
    path = Path(csv_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        if os.fstat(fd).st_size == 0:
            writer.writeheader()
        writer.writerows(rows)
        data = buf.getvalue().encode()
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_rows(csv_path: str | os.PathLike) -> list[dict[str, str]]:
    """All rows of a results CSV (empty list if the file does not exist)."""
    path = Path(csv_path)
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def done_cells(csv_path: str | os.PathLike) -> set[tuple[str, str, int]]:
    """The (dataset, method, seed) cells that already have a row."""
    return {(r["dataset"], r["method"], int(r["seed"])) for r in read_rows(csv_path)}


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5"`` and ``"1-2,7"`` work too."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            lo_i, hi_i = int(lo), int(hi)
            if hi_i < lo_i:
                raise ValueError(f"seed range {part!r} is empty")
            seeds.extend(range(lo_i, hi_i + 1))
        else:
            seeds.append(int(part))
    if not seeds:
        raise ValueError(f"no seeds in {text!r}")
    return seeds
