"""Where benchmark files live, and how a missing one is downloaded and verified.

A file is looked up under :func:`data_home`. If it is there, its sha256 is checked (once per
size and modification time, so repeated loads do not re-hash large files). If it is missing,
it is downloaded from its canonical URL into a temporary file in the same folder, verified,
and only then renamed to its final name, so an interrupted download never leaves a
half-written file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

ENV_VAR = "DEEPCLUST_DATA"
_TIMEOUT_S = 60
_CHUNK = 1 << 20

# (resolved path, size, mtime_ns) -> sha256 hex digest already computed.
_VERIFIED: dict[tuple[str, int, int], str] = {}


class DataNotAvailableError(OSError):
    """A data file is neither present locally nor downloadable."""


def data_home(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the folder where datasets are looked up and cached.

    Parameters
    ----------
    data_dir : path-like, optional
        Explicit folder. If None, the environment variable ``DEEPCLUST_DATA`` is used, else
        ``$XDG_CACHE_HOME/deepclust`` or ``~/.cache/deepclust``.

    Returns
    -------
    pathlib.Path
        The folder (not created here).

    Examples
    --------
    >>> from deepclust.datasets import data_home
    >>> data_home("/tmp/my-data").name
    'my-data'
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "deepclust"


def file_sha256(path: str | os.PathLike) -> str:
    """Return the hex sha256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_file(
    relpath: str,
    url: str | None,
    sha256: str | None,
    data_dir: str | os.PathLike | None = None,
) -> Path:
    """Return the local path of a data file, downloading it first if it is missing.

    Parameters
    ----------
    relpath : str
        Path relative to :func:`data_home`, e.g. ``"mnist/t10k-images-idx3-ubyte.gz"``.
    url : str or None
        Canonical direct download URL. None when the file cannot be downloaded automatically
        (the user must place it in the data folder).
    sha256 : str or None
        Expected hex digest; None accepts the file without a check.
    data_dir : path-like, optional
        Overrides :func:`data_home`.

    Returns
    -------
    pathlib.Path
        Path to the verified file.

    Raises
    ------
    ValueError
        If the file's sha256 differs from ``sha256``.
    DataNotAvailableError
        If the file is missing and cannot be downloaded.
    """
    path = data_home(data_dir) / relpath
    if path.is_file():
        _verify(path, sha256)
        return path
    if url is None:
        raise DataNotAvailableError(
            f"data file {relpath!r} was not found at {str(path)!r} and has no direct download URL; "
            f"set {ENV_VAR} to a folder holding {relpath!r}"
        )
    _download(url, path, relpath)
    _verify(path, sha256, downloaded_from=url)
    return path


def _verify(path: Path, sha256: str | None, downloaded_from: str | None = None) -> None:
    if sha256 is None:
        return
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    actual = _VERIFIED.get(key)
    if actual is None:
        actual = file_sha256(path)
    if actual.lower() != sha256.lower():
        _VERIFIED.pop(key, None)
        if downloaded_from is not None:
            with contextlib.suppress(OSError):
                path.unlink()  # a bad download must not look like a cached file next time
            raise ValueError(
                f"file downloaded from {downloaded_from} has sha256 {actual}, expected {sha256}; "
                "the download was deleted, try again later"
            )
        raise ValueError(
            f"checksum mismatch for {str(path)!r}: expected sha256 {sha256}, got {actual}; "
            "the file is corrupt or a different version: delete it so it is downloaded again"
        )
    _VERIFIED[key] = actual


def _download(url: str, path: Path, relpath: str) -> None:
    hint = f"set {ENV_VAR} to a folder holding {relpath!r}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise DataNotAvailableError(
            f"cannot download data file {relpath!r} from {url}: cannot write to "
            f"{str(path.parent)!r} ({exc}); {hint}"
        ) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise DataNotAvailableError(
            f"data file {relpath!r} is not in {str(path.parent)!r} and downloading it from {url} "
            f"failed ({exc}); {hint}"
        ) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
