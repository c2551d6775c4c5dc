"""File helpers below every layer: atomic output, and reading a JSON or YAML mapping.

Every file deepclust writes goes through these helpers: the content is written to a temporary
file in the destination folder and renamed over the target, so a crash never leaves a
half-written file and never destroys the previous version.

:func:`read_mapping_file` reads configuration documents (network specs) so that the layers
that only parse dicts (``deepclust.nn``) contain no file code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator, Mapping


def _current_umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


def _ordinary_mode(fd_or_path, *, directory: bool) -> None:
    # mkstemp/mkdtemp create private (0600/0700) entries; the files deepclust writes should get
    # the permissions any other new file of the user gets (0644/0755 with the usual umask).
    mode = (0o777 if directory else 0o666) & ~_current_umask()
    os.chmod(fd_or_path, mode)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open ``path`` for writing; the file appears under its name only if the block succeeds.

    Parameters
    ----------
    path : path-like
        Destination file. Its folder must exist.
    mode : {"w", "wb"}
        Text or binary mode.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open supports mode 'w' or 'wb', got {mode!r}")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _ordinary_mode(fd, directory=False)
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays appear in metrics and parameters.
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name and move it to ``path`` only when the block succeeds.

    On failure the temporary folder is removed and an existing ``path`` is left untouched.
    With ``overwrite=True`` an existing ``path`` is replaced only after the new one is complete.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    PermissionError
        If the parent folder cannot be written.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"output folder {str(path)!r} already exists; pass --overwrite to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    blocker = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise NotADirectoryError(f"cannot write to folder {str(parent)!r}: {str(blocker)!r} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(parent, os.W_OK)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=parent)) if writable else None
    except OSError as exc:  # permissions, a read-only file system, no space, ...
        raise PermissionError(f"cannot write to folder {str(parent)!r}: {exc.strerror or exc}") from None
    if tmp is None:
        raise PermissionError(f"cannot write to folder {str(parent)!r}")
    try:
        _ordinary_mode(tmp, directory=True)
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=parent))
            os.replace(path, old / "x")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


MAPPING_SUFFIXES = (".json", ".yaml", ".yml")


def read_mapping_file(path: str | os.PathLike, what: str = "file") -> Mapping:
    """Read one mapping from a ``.json``, ``.yaml`` or ``.yml`` file.

    Parameters
    ----------
    path : path-like
    what : str
        What the file holds, for messages (e.g. "network spec").

    Returns
    -------
    Mapping
        The parsed document, not validated further.

    Raises
    ------
    ValueError
        A suffix other than the three above, a document that does not parse, or one that
        is not a single mapping; the message names the file.
    FileNotFoundError
        The file does not exist.
    ImportError
        A YAML file was given but PyYAML is not installed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MAPPING_SUFFIXES:
        raise ValueError(f"{what} {str(path)!r}: expected a file ending in {', '.join(MAPPING_SUFFIXES)}")
    if not path.is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    doc = _parse_json(text, path, what) if suffix == ".json" else _parse_yaml(text, path, what)
    if isinstance(doc, list):
        raise ValueError(
            f"{what} {str(path)!r} holds a list of {len(doc)} entries; it must hold one spec "
            "(a mapping with an 'encoder' list): load the file yourself and pass the one you want"
        )
    if not isinstance(doc, Mapping):
        raise ValueError(f"{what} {str(path)!r} must hold a mapping, got {type(doc).__name__}")
    return doc


def _parse_json(text: str, path: Path, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} {str(path)!r} is not valid JSON: {exc}") from None


def _parse_yaml(text: str, path: Path, what: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ImportError(
            f"reading the YAML {what} {str(path)!r} needs PyYAML (pip install pyyaml); "
            "or write the same spec as a .json file, which needs nothing extra"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{what} {str(path)!r} is not valid YAML: {exc}") from None
