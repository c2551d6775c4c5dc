"""Image benchmarks of the deep-clustering literature: digits, MNIST, Fashion-MNIST, USPS.

Every loader returns a :class:`~deepclust.datasets.Dataset` with ``X`` of shape
``(n_samples, C * H * W)`` in float32 scaled to [0, 1], integer labels ``y`` and
``image_shape = (C, H, W)``.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from deepclust.datasets._base import Dataset
from deepclust.datasets._fetch import fetch_file

_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# The USPS file recorded in the data folder's SOURCE.md: the widely shared Kaggle ``usps.h5``,
# pinned to one commit of github.com/niuers/Learning-From-Data-A-Short-Course.
_USPS_URL = (
    "https://raw.githubusercontent.com/niuers/Learning-From-Data-A-Short-Course/"
    "879a698b960e5867f7c2b11f8938fa89c3d21839/data/usps.h5"
)

IDX_FILES = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}
_IDX_URLS = {"mnist": _MNIST_URL, "fashion-mnist": _FASHION_URL}
USPS_FILE = ("usps/usps.h5", _USPS_URL, "734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36")

_SUBSETS = ("train", "test", "all")
_IDX_SIZES = {"train": 60000, "test": 10000}
_IDX_PREFIX = {"train": "train", "test": "t10k"}
_IMAGE_MAGIC = 0x00000803
_LABEL_MAGIC = 0x00000801


def _check_subset(subset: str, allowed: tuple[str, ...], name: str) -> None:
    if subset not in allowed:
        raise ValueError(f"{name}: subset must be one of {list(allowed)}, got {subset!r}")


def _parts(subset: str) -> list[str]:
    return ["train", "test"] if subset == "all" else [subset]


def load_digits(subset: str = "all") -> Dataset:
    """Load scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).

    Parameters
    ----------
    subset : {"all"}, default="all"
        The set has no train/test split; any other value raises ValueError.

    Returns
    -------
    Dataset
        ``X`` of shape (1797, 64), float32 in [0, 1] (pixel values divided by 16), ``y`` in 0..9,
        ``image_shape=(1, 8, 8)``.

    Examples
    --------
    >>> from deepclust.datasets import load_digits
    >>> load_digits().X.shape
    (1797, 64)
    """
    _check_subset(subset, ("all",), "digits")
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = (np.asarray(bunch.data, dtype=np.float32) / 16.0).astype(np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    return Dataset(
        name="digits",
        X=X,
        y=y,
        feature_names=[f"pixel_{i}" for i in range(X.shape[1])],
        sample_ids=np.array([str(i) for i in range(len(y))], dtype=object),
        image_shape=(1, 8, 8),
        info={"source": "sklearn.datasets.load_digits", "subset": subset},
    )


def load_mnist(subset: str = "all", data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load MNIST handwritten digits (LeCun et al., 1998), 28x28 grayscale.

    The four original idx files are read from ``<data_home>/mnist/`` and downloaded from
    ``https://ossci-datasets.s3.amazonaws.com/mnist/`` (sha256-verified) when missing.

    Parameters
    ----------
    subset : {"all", "train", "test"}, default="all"
        ``"train"`` is 60000 images, ``"test"`` 10000, ``"all"`` train followed by test.
    data_dir : path-like, optional
        Data folder; defaults to :func:`~deepclust.datasets.data_home`.

    Returns
    -------
    Dataset
        ``X`` of shape (n, 784) float32 in [0, 1], ``y`` int64 in 0..9, ``image_shape=(1, 28, 28)``,
        sample ids ``"train-0"``, ..., ``"test-0"``, ...

    Examples
    --------
    >>> from deepclust.datasets import load_mnist
    >>> ds = load_mnist(subset="test")  # doctest: +SKIP
    >>> ds.X.shape  # doctest: +SKIP
    (10000, 784)

    References
    ----------
    Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to document
    recognition. Proc. IEEE 86(11), 1998.
    """
    return _load_idx_dataset("mnist", subset, data_dir)


def load_fashion_mnist(subset: str = "all", data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load Fashion-MNIST (Xiao et al., 2017): 28x28 grayscale images of 10 clothing classes.

    Files are read from ``<data_home>/fashion-mnist/`` and downloaded from
    ``http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/`` when missing.

    Parameters
    ----------
    subset : {"all", "train", "test"}, default="all"
        ``"train"`` is 60000 images, ``"test"`` 10000, ``"all"`` train followed by test.
    data_dir : path-like, optional
        Data folder; defaults to :func:`~deepclust.datasets.data_home`.

    Returns
    -------
    Dataset
        Same layout as :func:`load_mnist`.

    Examples
    --------
    >>> from deepclust.datasets import load_fashion_mnist
    >>> load_fashion_mnist(subset="test").image_shape  # doctest: +SKIP
    (1, 28, 28)

    References
    ----------
    H. Xiao, K. Rasul, R. Vollgraf. Fashion-MNIST: a novel image dataset for benchmarking
    machine learning algorithms. arXiv:1708.07747, 2017.
    """
    return _load_idx_dataset("fashion-mnist", subset, data_dir)


def _load_idx_dataset(name: str, subset: str, data_dir: str | os.PathLike | None) -> Dataset:
    _check_subset(subset, _SUBSETS, name)
    files = IDX_FILES[name]
    Xs, ys, ids = [], [], []
    for part in _parts(subset):
        prefix = _IDX_PREFIX[part]
        paths = {}
        for kind in ("images-idx3", "labels-idx1"):
            fname = f"{prefix}-{kind}-ubyte.gz"
            paths[kind] = fetch_file(f"{name}/{fname}", _IDX_URLS[name] + fname, files[fname], data_dir)
        n = _IDX_SIZES[part]
        images = read_idx(paths["images-idx3"], _IMAGE_MAGIC, (n, 28, 28))
        labels = read_idx(paths["labels-idx1"], _LABEL_MAGIC, (n,))
        Xs.append(images.reshape(n, -1))
        ys.append(labels.astype(np.int64))
        ids.extend(f"{part}-{i}" for i in range(n))
    X = np.concatenate(Xs).astype(np.float32)
    X /= 255.0
    return Dataset(
        name=name,
        X=X,
        y=np.concatenate(ys),
        feature_names=[f"pixel_{i}" for i in range(X.shape[1])],
        sample_ids=np.array(ids, dtype=object),
        image_shape=(1, 28, 28),
        info={"subset": subset, "source": _IDX_URLS[name]},
    )


def read_idx(path: str | os.PathLike, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    """Read a gzip-compressed idx file of uint8 values and check its header.

    Parameters
    ----------
    path : path-like
        The ``.gz`` file.
    magic : int
        Expected magic number (``0x00000803`` for images, ``0x00000801`` for labels).
    shape : tuple of int
        Expected dimensions stored in the header.

    Returns
    -------
    ndarray of uint8 with shape ``shape``

    Raises
    ------
    ValueError
        If the file is not valid gzip, is truncated, or has an unexpected header or size.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"{str(path)!r} is corrupt or truncated (cannot decompress gzip: {exc}); "
            "delete it so it is downloaded again"
        ) from exc
    header_len = 4 * (1 + len(shape))
    if len(raw) < header_len:
        raise ValueError(f"{str(path)!r} is truncated: {len(raw)} bytes, shorter than the idx header")
    header = np.frombuffer(raw, dtype=">u4", count=1 + len(shape))
    if int(header[0]) != magic:
        raise ValueError(
            f"{str(path)!r} is not the expected idx file: magic number {int(header[0]):#010x}, "
            f"expected {magic:#010x}"
        )
    dims = tuple(int(d) for d in header[1:])
    if dims != tuple(shape):
        raise ValueError(f"{str(path)!r} has dimensions {dims} in its header, expected {tuple(shape)}")
    expected = int(np.prod(shape))
    if len(raw) - header_len != expected:
        raise ValueError(
            f"{str(path)!r} holds {len(raw) - header_len} data bytes, expected {expected}; "
            "the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def load_usps(subset: str = "all", data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load the USPS handwritten digits (Hull, 1994): 7291 train + 2007 test, 16x16 grayscale.

    Reads ``<data_home>/usps/usps.h5`` (the widely shared Kaggle file: groups ``train`` and
    ``test`` with ``data`` (n, 256) in [0, 1] and ``target``), downloading it when missing from a
    pinned GitHub copy (github.com/niuers/Learning-From-Data-A-Short-Course, ``data/usps.h5``),
    verified by sha256.

    Parameters
    ----------
    subset : {"all", "train", "test"}, default="all"
    data_dir : path-like, optional
        Data folder; defaults to :func:`~deepclust.datasets.data_home`.

    Returns
    -------
    Dataset
        ``X`` of shape (n, 256) float32 in [0, 1], ``y`` int64 in 0..9, ``image_shape=(1, 16, 16)``.

    Examples
    --------
    >>> from deepclust.datasets import load_usps
    >>> load_usps(subset="test").X.shape  # doctest: +SKIP
    (2007, 256)

    References
    ----------
    J. J. Hull. A database for handwritten text recognition research. IEEE TPAMI 16(5), 1994.
    """
    _check_subset(subset, _SUBSETS, "usps")
    import h5py

    path = fetch_file(*USPS_FILE, data_dir=data_dir)
    Xs, ys, ids = [], [], []
    try:
        with h5py.File(path, "r") as h5:
            for part in _parts(subset):
                if part not in h5 or "data" not in h5[part] or "target" not in h5[part]:
                    raise ValueError(
                        f"{str(path)!r} lacks the dataset '{part}/data' or '{part}/target'; "
                        f"found groups {sorted(h5.keys())}"
                    )
                data = np.asarray(h5[part]["data"], dtype=np.float32)
                target = np.asarray(h5[part]["target"], dtype=np.int64)
                if data.ndim != 2 or data.shape[1] != 256 or len(target) != len(data):
                    raise ValueError(
                        f"{str(path)!r}: '{part}/data' has shape {data.shape} and '{part}/target' "
                        f"{target.shape}, expected (n, 256) and (n,)"
                    )
                Xs.append(data)
                ys.append(target)
                ids.extend(f"{part}-{i}" for i in range(len(target)))
    except OSError as exc:
        raise ValueError(f"{str(path)!r} is not a readable HDF5 file ({exc})") from exc
    X = np.concatenate(Xs)
    return Dataset(
        name="usps",
        X=X,
        y=np.concatenate(ys),
        feature_names=[f"pixel_{i}" for i in range(X.shape[1])],
        sample_ids=np.array(ids, dtype=object),
        image_shape=(1, 16, 16),
        info={"subset": subset, "source": _USPS_URL},
    )
