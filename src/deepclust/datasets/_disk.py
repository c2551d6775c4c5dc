"""Arrays larger than memory: read a file on disk in row blocks, write codes in chunks.

:class:`DiskArray` is a 2-D numeric array on disk (``.npy`` file, ``np.memmap``, parquet file,
or any sliceable array such as an h5py dataset or a zarr array), read in contiguous row
blocks that are validated as they are read (finite, numeric), never loaded whole.
:class:`~deepclust.train.batches.BlockBatches` feeds :func:`~deepclust.train.fit_module` from
it, and :func:`transform_to_npy` writes an estimator's output chunk by chunk.

``.npy`` files and ``np.memmap`` arrays are read with ``os.preadv`` into a buffer the reader
owns, not through a memory map: mapped file pages count towards a process's resident memory
(``VmRSS``), so reading a 6 GB memmap would "use" 6 GB even though the kernel could drop it.

This module sits in the data layer (it was ``deepclust.methods.streaming`` before, which still
re-exports its names): the training loop reads a :class:`DiskArray` through the small
interface :class:`~deepclust.train.batches.RowBlocks`, without importing this module.
"""

from __future__ import annotations

import mmap
import os
import weakref
from pathlib import Path
from typing import Iterator

import numpy as np

from deepclust._io import atomic_open

#: Rows per block when the caller does not say: about 32 MB of float32 per block.
BLOCK_BYTES = 32 * 2**20


class DiskArray:
    """A 2-D numeric array read in row blocks as float32, validated block by block.

    Use :func:`open_array` to build one from a path, a memmap or an array-like.

    Attributes
    ----------
    shape : tuple (n_samples, n_features)
    dtype : numpy dtype of the stored values (converted to float32 when read)
    name : str
        Where the data come from, for messages.
    """

    def __init__(self, read_fn, shape: tuple[int, int], dtype, name: str) -> None:
        self._read, self.shape, self.dtype, self.name = read_fn, (int(shape[0]), int(shape[1])), np.dtype(dtype), name

    @property
    def n_samples(self) -> int:
        return self.shape[0]

    @property
    def n_features(self) -> int:
        return self.shape[1]

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"DiskArray({self.name!r}, shape={self.shape}, dtype={self.dtype})"

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a C-contiguous float32 array (stop - start, n_features).

        Raises
        ------
        ValueError
            When a value is NaN or infinite, naming its row (in the whole array) and column.
        """
        start, stop = max(0, int(start)), min(int(stop), self.shape[0])
        block = np.ascontiguousarray(self._read(start, stop), dtype=np.float32)
        if block.shape != (stop - start, self.shape[1]):
            raise ValueError(f"{self.name}: read rows {start}:{stop} as shape {block.shape}, expected {(stop - start, self.shape[1])}")
        finite = np.isfinite(block)
        if not finite.all():
            r, c = np.argwhere(~finite)[0]
            raise ValueError(f"X contains NaN or infinity (first at row {start + r}, column {c}) in {self.name}; impute or drop them first")
        return block

    def head(self, n: int) -> "DiskArray":
        """The first ``n`` rows, still on disk (e.g. to time training on growing prefixes)."""
        if not 0 < n <= self.shape[0]:
            raise ValueError(f"n must be in 1..{self.shape[0]}, got {n}")
        return DiskArray(self._read, (n, self.shape[1]), self.dtype, f"{self.name}[:{n}]")

    def blocks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, block)`` for consecutive blocks of ``rows`` rows, in order."""
        for start in range(0, self.shape[0], rows):
            yield start, self.read(start, start + rows)

    def default_block_rows(self) -> int:
        return max(1, BLOCK_BYTES // (4 * self.shape[1]))


def _check_numeric(dtype: np.dtype, name: str) -> None:
    if not (np.issubdtype(dtype, np.number) or dtype == bool) or np.issubdtype(dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers; its dtype is {dtype}")


class _FileRows:
    """Reads rows of a C-ordered array stored at ``offset`` in a file; owns the open descriptor."""

    def __init__(self, path: str, offset: int, dtype: np.dtype, shape: tuple[int, int], name: str) -> None:
        self.offset, self.dtype, self.shape, self.name = offset, dtype, shape, name
        self.row_bytes = dtype.itemsize * shape[1]
        self.fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self.fd)  # closed when the last DiskArray using it goes

    def __call__(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, self.shape[1]), dtype=self.dtype)
        view, pos, done = memoryview(out).cast("B"), self.offset + start * self.row_bytes, 0
        while done < len(view):  # preadv may return less than asked for on very large reads
            got = os.preadv(self.fd, [view[done:]], pos + done)
            if got == 0:
                raise ValueError(f"{self.name} is shorter than its header says (rows {start}:{stop} of {self.shape[0]})")
            done += got
        return out


def _npy_array(path: str, offset: int, dtype: np.dtype, shape: tuple[int, int], name: str) -> DiskArray:
    return DiskArray(_FileRows(path, offset, dtype, shape, name), shape, dtype, name)


def _open_npy(path: Path) -> DiskArray:
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:  # 3.0 (utf-8 field names) has no public reader
                shape, fortran, dtype = np.lib.format._read_array_header(fh, version)
        except ValueError as exc:
            raise ValueError(f"{str(path)!r} is not a readable .npy file: {exc}") from None
        offset = fh.tell()
    if len(shape) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); {str(path)!r} holds an array of shape {shape}")
    if fortran and shape[0] > 1 and shape[1] > 1:
        raise ValueError(f"{str(path)!r} is stored in Fortran (column) order, which cannot be read by rows; save it with np.save(path, np.ascontiguousarray(X))")
    _check_numeric(dtype, str(path))
    return _npy_array(str(path), offset, dtype, shape, str(path))


def _open_parquet(path: Path) -> DiskArray:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError('reading parquet files needs pyarrow: pip install "deepclust[parquet]"') from None
    pf = pq.ParquetFile(path)
    schema = pf.schema_arrow
    for field in schema:
        if not (field.type.num_fields == 0 and (str(field.type).startswith(("int", "uint", "float", "double", "halffloat", "bool")))):
            raise ValueError(f"column {field.name!r} of {str(path)!r} is {field.type}, not numeric; streaming needs a table of numeric features only")
    sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    cache: dict[int, np.ndarray] = {}

    def group(i: int) -> np.ndarray:
        if i not in cache:
            cache.clear()  # one row group in memory at a time
            table = pf.read_row_group(i)
            cache[i] = np.column_stack([c.to_numpy(zero_copy_only=False) for c in table.columns]).astype(np.float32, copy=False)
        return cache[i]

    def read(start: int, stop: int) -> np.ndarray:
        first, last = int(np.searchsorted(starts, start, side="right") - 1), int(np.searchsorted(starts, stop, side="left"))
        parts = [group(i)[max(start - starts[i], 0) : stop - starts[i]] for i in range(first, last)]
        return np.concatenate(parts) if len(parts) != 1 else parts[0]

    return DiskArray(read, (int(starts[-1]), len(schema)), np.float32, str(path))


def as_input_for(estimator, X):
    """``X`` as ``estimator`` takes it: a :class:`DiskArray` stays on disk for estimators that
    stream (class attribute ``_streams_input = True``) and is read into memory for the others
    (a VAE or the raw features inside N2D), so composite estimators accept files either way."""
    if isinstance(X, DiskArray) and not getattr(estimator, "_streams_input", False):
        return X.read(0, X.n_samples)
    return X


def is_out_of_core(X) -> bool:
    """True for inputs read from disk in blocks: a path, an ``np.memmap``, a :class:`DiskArray`,
    or an h5py dataset / zarr array."""
    if isinstance(X, (str, os.PathLike, DiskArray, np.memmap)):
        return True
    return type(X).__module__.split(".")[0] in ("h5py", "zarr") and hasattr(X, "shape")


def open_array(X) -> DiskArray:
    """A :class:`DiskArray` over ``X``, checked for shape and dtype (values are checked as read).

    Parameters
    ----------
    X : str, path, np.memmap, DiskArray, h5py.Dataset or zarr.Array
        A ``.npy`` file (read by rows with ``os.preadv``), a ``.parquet`` file of numeric
        columns (read by row group), a memmap (its file is read like a ``.npy``), or any 2-D
        array that slices into numpy arrays.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> np.save(path, np.arange(12, dtype=np.float32).reshape(4, 3))
    >>> open_array(path).read(1, 3)
    array([[3., 4., 5.],
           [6., 7., 8.]], dtype=float32)
    """
    if isinstance(X, DiskArray):
        return X
    if isinstance(X, (str, os.PathLike)):
        path = Path(X)
        if not path.is_file():
            raise FileNotFoundError(f"data file {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            return _open_npy(path)
        if suffix == ".parquet":
            return _open_parquet(path)
        raise ValueError(f"cannot stream {str(path)!r}: expected a .npy or .parquet file (load other formats with deepclust.datasets.load_dataset)")
    if not hasattr(X, "shape") or len(X.shape) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {getattr(X, 'shape', None)}")
    dtype = np.dtype(X.dtype)
    _check_numeric(dtype, "X")
    shape = (int(X.shape[0]), int(X.shape[1]))
    if isinstance(X, np.memmap) and isinstance(X.base, mmap.mmap) and X.flags.c_contiguous and X.filename:
        return _npy_array(X.filename, int(X.offset), dtype, shape, str(X.filename))  # a whole mapped file
    return DiskArray(lambda a, b: np.asarray(X[a:b]), shape, dtype, f"{type(X).__name__} of shape {shape}")


def transform_to_npy(estimator, X, path, *, chunk_rows: int = 65536) -> Path:
    """Write ``estimator.transform(X)`` to the ``.npy`` file ``path``, ``chunk_rows`` rows at a time.

    ``X`` may be anything :func:`open_array` reads (a file larger than memory) or an in-memory
    array. Only one chunk of input and output is in memory at once; the file is written
    atomically (complete or not at all) and can be opened with ``np.load(path, mmap_mode="r")``.

    Returns
    -------
    pathlib.Path
    """
    data = open_array(X) if is_out_of_core(X) else DiskArray(lambda a, b: np.asarray(X[a:b]), np.shape(X), np.asarray(X[:1]).dtype, "X")
    path = Path(path)
    if data.n_samples == 0:
        raise ValueError("X has 0 samples")
    with atomic_open(path, "wb") as fh:
        first = True
        n_out = None
        for start, block in data.blocks(int(chunk_rows)):
            out = np.ascontiguousarray(estimator.transform(block), dtype=np.float32)
            if out.ndim != 2 or out.shape[0] != block.shape[0]:
                raise ValueError(f"transform returned shape {out.shape} for {block.shape[0]} rows")
            if first:
                n_out = out.shape[1]
                np.lib.format.write_array_header_1_0(fh, {"descr": np.lib.format.dtype_to_descr(out.dtype), "fortran_order": False, "shape": (data.n_samples, n_out)})
                first = False
            elif out.shape[1] != n_out:
                raise ValueError(f"transform returned {out.shape[1]} columns for rows {start}:, {n_out} before")
            fh.write(out.tobytes())
    return path
