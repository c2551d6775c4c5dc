"""The results schema every benchmark writes, and where a row comes from (commit, machine).

One row per (dataset, method, seed) cell with :data:`COLUMNS`; the harness adds
:data:`HARNESS_COLUMNS` (status, error, parameters) after them.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import platform
import resource
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

COLUMNS = ("dataset", "method", "seed", "n_samples", "acc", "nmi", "ari", "seconds", "peak_rss_mb", "device", "commit", "command")
HARNESS_COLUMNS = COLUMNS + ("status", "error", "params")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux: ``VmHWM`` from ``/proc/self/status``, which starts afresh at ``exec`` (unlike
    ``ru_maxrss``, which a child inherits from the image it was forked from).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024.0 * 1024.0) if sys.platform == "darwin" else maxrss / 1024.0


def git_commit(repo: str | os.PathLike | None = None) -> str:
    """``git rev-parse --short HEAD`` of ``repo`` (default: this package's checkout), plus
    ``-dirty`` when ``src/`` has uncommitted changes; ``"unknown"`` outside a checkout.

    ``DEEPCLUST_COMMIT`` overrides it, for a copy of the tree without its ``.git`` (e.g. a
    working tree sent to a GPU machine) whose commit the caller knows."""
    if os.environ.get("DEEPCLUST_COMMIT"):
        return os.environ["DEEPCLUST_COMMIT"]
    repo = Path(repo) if repo is not None else Path(__file__).resolve().parents[3]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def cpu_description() -> str:
    """E.g. ``"cpu (2 cores, AMD EPYC)"``."""
    model = None
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown"
    return f"cpu ({os.cpu_count()} cores, {model})"


def device_description(torch_device: str | None = None) -> str:
    """The CUDA device name when torch computes on CUDA, else :func:`cpu_description`.

    ``torch_device`` is what the run used; None means "CUDA if available" (``device="auto"``).
    """
    if torch_device != "cpu":
        try:
            import torch

            if torch.cuda.is_available():
                return f"cuda ({torch.cuda.get_device_name(torch.device(torch_device or 'cuda'))})"
        except ImportError:
            pass
    return cpu_description()


def command_line(argv: Iterable[str] | None = None) -> str:
    """The command that invoked this process, shell-quoted."""
    argv = list(sys.argv if argv is None else argv)
    if argv and argv[0].endswith(".py"):
        return "python " + shlex.join(argv)
    return shlex.join([Path(argv[0]).name, *argv[1:]]) if argv else ""


def append_rows(csv_path: str | os.PathLike, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] = COLUMNS) -> None:
    """Append ``rows`` to ``csv_path`` with exactly ``columns``, writing the header if new.

    The rows are formatted first and written with one ``write`` under an exclusive ``flock``,
    so an interrupted or concurrent writer never leaves a partial line.
    """
    rows = list(rows)
    for row in rows:
        if set(row) != set(columns):
            raise ValueError(f"row keys {sorted(row)} differ from the results columns {list(columns)}")
    path = Path(csv_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
        if os.fstat(fd).st_size == 0:
            writer.writeheader()
        writer.writerows(rows)
        data = buf.getvalue().encode()
        if os.write(fd, data) != len(data):
            raise OSError(f"short write to {path}")
        os.fsync(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_rows(csv_path: str | os.PathLike) -> list[dict[str, str]]:
    """All rows of a results CSV (empty when the file does not exist)."""
    path = Path(csv_path)
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5"`` and ``"1-2,7"`` work too."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(p) for p in part.split("-", 1))
                if hi < lo:
                    raise ValueError(f"seed range {part!r} is empty")
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
        except ValueError as exc:
            if "empty" in str(exc):
                raise
            raise ValueError(f"seeds must look like '0-4' or '0,2,5', got {text!r}") from None
    if not seeds:
        raise ValueError(f"no seeds in {text!r}")
    return seeds
