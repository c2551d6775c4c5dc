"""A folder of PNG / JPEG images as an image :class:`Dataset`.

The rules, chosen so that a folder a user already has (a class per sub-folder, as torchvision's
``ImageFolder`` reads it, or just a heap of pictures) loads without options:

* **Files.** Every ``.png``, ``.jpg`` and ``.jpeg`` file under the folder, at any depth, in
  sorted order. Hidden files and folders (a leading ``.``) and the operating system's
  ``Thumbs.db`` / ``desktop.ini`` are skipped; any other file is refused with its name, so that
  nothing is silently left out of the clustering.
* **Labels** (used only for scoring) come from the first-level sub-folder names when every image
  sits in a sub-folder: sorted names become 0..K-1, the names are in ``info["classes"]``. When
  some images sit directly in the folder, there are no labels (and a warning says why).
* **Colour.** All images become grey (1 channel) when every one of them is grey, else RGB (3
  channels; grey images are repeated into the three channels, an alpha channel is dropped).
* **Size.** Every image is resized (bilinear, with Pillow's antialiasing when shrinking) to the
  most common size in the folder (ties: the one met first in sorted order), or to
  ``image_size``.
* **Values** in [0, 1]: 8-bit pixels divided by 255, 16-bit grey pixels by 65535.
* **Sample ids** are the paths relative to the folder, with ``/`` separators.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from deepclust.datasets._base import Dataset
from deepclust.datasets._images import image_stack_dataset

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_SKIPPED = {"thumbs.db", "desktop.ini"}  # written by file browsers, not data
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N"}
_SIXTEEN_BIT = {"I", "I;16", "I;16L", "I;16B", "I;16N"}  # Pillow reads 16-bit PNGs into these


def load_image_folder(path: str | os.PathLike, *, image_size=None, name: str | None = None) -> Dataset:
    """Load every PNG / JPEG image under a folder (see the module docstring for the rules).

    Parameters
    ----------
    path : path-like
        The folder.
    image_size : int or (int, int), optional
        ``(height, width)`` every image is resized to (an int for a square); default: the most
        common size among the images.
    name : str, optional
        Dataset name; defaults to the folder name.

    Returns
    -------
    Dataset
        ``kind="image"``, ``X`` float32 (n_images, C*H*W) in [0, 1], channels first,
        ``image_shape=(C, H, W)``, ``y`` from the sub-folder names or None, ``sample_ids`` the
        relative paths.

    Raises
    ------
    ValueError
        An empty folder, a file that is not a PNG/JPEG image or cannot be decoded (named), an
        unsupported pixel type, or a bad ``image_size``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for cls in ("cats", "dogs"):
    ...     (root / cls).mkdir()
    ...     Image.fromarray(np.zeros((4, 6), np.uint8)).save(root / cls / "a.png")
    >>> ds = load_image_folder(root)
    >>> ds.image_shape, ds.info["classes"], list(ds.sample_ids)
    ((1, 4, 6), ['cats', 'dogs'], ['cats/a.png', 'dogs/a.png'])
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{str(root)!r} is not a folder")
    size = _check_image_size(image_size)
    files = _list_images(root)
    headers = [_header(root / f) for f in files]  # (mode, (width, height)) without decoding pixels
    grey = all(mode in _GREY_MODES for mode, _ in headers)
    if size is None:
        width, height = Counter(s for _, s in headers).most_common(1)[0][0]
    else:
        height, width = size
    stack = np.empty((len(files), 1 if grey else 3, height, width), dtype=np.float32)
    for i, f in enumerate(files):
        stack[i] = _decode(root / f, grey, (width, height))
    y, classes = _folder_labels(files, root)
    info = {
        "image_mode": "grey" if grey else "RGB",
        "image_size": [height, width],
        "resized": sum(s != (width, height) for _, s in headers),
    }
    if classes is not None:
        info.update(classes=classes, label="sub-folder")
    ds = image_stack_dataset(stack, source=str(root), name=name or root.name, y=y, ids=list(files), info=info)
    ds.info["layout"] = "folder of images"
    sixteen = any(mode in _SIXTEEN_BIT for mode, _ in headers)
    ds.info["intensity"] = "8-bit pixels divided by 255" + (", 16-bit ones by 65535" if sixteen else "")
    return ds


def _check_image_size(image_size):
    if image_size is None:
        return None
    pair = (image_size, image_size) if isinstance(image_size, (int, np.integer)) else tuple(image_size)
    if len(pair) != 2 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in pair):
        raise ValueError(f"image_size must be a positive int or a (height, width) pair of them, got {image_size!r}")
    return int(pair[0]), int(pair[1])


def _list_images(root: Path) -> list[str]:
    """Relative posix paths of the images, sorted; other visible files are refused."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for n in sorted(names):
            if n.startswith(".") or n.lower() in _SKIPPED:
                continue
            rel = (Path(folder) / n).relative_to(root).as_posix()
            if Path(n).suffix.lower() not in IMAGE_SUFFIXES:
                raise ValueError(
                    f"{str(root / rel)!r} is not a PNG or JPEG image ({', '.join(IMAGE_SUFFIXES)}); an image folder "
                    "may hold only images: move other files out"
                )
            found.append(rel)
    if not found:
        raise ValueError(f"folder {str(root)!r} holds no images: expected PNG or JPEG files ({', '.join(IMAGE_SUFFIXES)})")
    return sorted(found)


def _header(file: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as img:
            return img.mode, img.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"{str(file)!r} cannot be read as an image ({exc})") from exc


def _decode(file: Path, grey: bool, size: tuple[int, int]) -> np.ndarray:
    """(C, H, W) float32 in [0, 1] of one image, converted and resized."""
    from PIL import Image

    try:
        with Image.open(file) as img:
            img.load()
            if img.mode == "F":
                raise ValueError("32-bit float pixels (mode 'F') are not supported; save the image with 8 or 16 bits")
            if img.mode in _SIXTEEN_BIT:
                planes = np.asarray(img, dtype=np.float32)[None] / 65535.0
            elif img.mode in _GREY_MODES:
                planes = np.asarray(img.convert("L"), dtype=np.float32)[None] / 255.0
            else:
                planes = np.moveaxis(np.asarray(img.convert("RGB"), dtype=np.float32), 2, 0) / 255.0
    except (OSError, ValueError) as exc:
        raise ValueError(f"{str(file)!r} cannot be read as an image ({exc})") from exc
    if not grey and planes.shape[0] == 1:
        planes = np.repeat(planes, 3, axis=0)
    if planes.shape[1:] != (size[1], size[0]):
        # float planes: one resize for 8- and 16-bit alike, without rounding to integers
        planes = np.stack([np.asarray(Image.fromarray(p).resize(size, Image.Resampling.BILINEAR)) for p in planes])
    return np.clip(planes, 0.0, 1.0)


def _folder_labels(files: list[str], root: Path):
    """Labels from the first-level sub-folders when every image sits in one, else ``(None, None)``."""
    tops = [f.split("/")[0] if "/" in f else None for f in files]
    if all(t is not None for t in tops):
        classes = sorted(set(tops))
        index = {c: i for i, c in enumerate(classes)}
        return np.array([index[t] for t in tops], dtype=np.int64), classes
    loose = sum(t is None for t in tops)
    if loose < len(files):
        warnings.warn(
            f"{str(root)!r}: {loose} of {len(files)} images sit directly in the folder, not in a class sub-folder; "
            "the sub-folder names are not used as labels",
            UserWarning,
            stacklevel=3,
        )
    return None, None
