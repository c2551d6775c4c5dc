"""The one rule for ``scale="auto"``: which per-feature scaling a dataset gets before the model.

Every caller (``deepclust fit``, ``select-k``, benchmark cells) asks :func:`auto_scaling`, so
the rule exists once. It follows what the columns are (``Dataset.kind``):

* ``"image"``: never rescaled. The loaders already put pixels in [0, 1] over the whole array;
  standardising each pixel would blow up the near-constant border pixels and would break the
  [0, 1] range that Bernoulli likelihoods (VaDE's BCE) and image augmentations expect.
* ``"embedding"`` (an ``.h5ad`` loaded with ``obsm=``, e.g. ``X_pca``): never rescaled. The
  relative scales of its axes carry meaning (the first principal components explain the most
  variance); standardising re-weights them, as scanpy users never do.
* ``"table"``: each feature standardised to mean 0 and variance 1, unless the preprocessing
  steps already end with a scaling.
"""

from __future__ import annotations

from deepclust.preprocess.pipeline import ends_with_scaling

SCALE_CHOICES = ("auto", "none", "standard", "minmax")


def auto_scaling(scale: str, dataset, steps=()) -> tuple[str, str]:
    """Resolve ``scale`` for ``dataset`` after the preprocessing ``steps``.

    Parameters
    ----------
    scale : {"auto", "none", "standard", "minmax"}
    dataset : deepclust.datasets.Dataset
        Its ``kind`` ("table", "image" or "embedding") decides ``"auto"``; ``info["intensity"]``
        (how an image loader mapped pixels to [0, 1]) goes into the reason.
    steps : sequence of str
        The preprocessing steps that run before the scaling.

    Returns
    -------
    scale : {"none", "standard", "minmax"}
    reason : str
        One sentence saying what was done and why, for ``metrics.json``.

    Examples
    --------
    >>> from deepclust.datasets import load_dataset
    >>> auto_scaling("auto", load_dataset("digits"))[0]
    'none'
    """
    if scale not in SCALE_CHOICES:
        raise ValueError(f"unknown scaling {scale!r}; expected one of {list(SCALE_CHOICES)}")
    if scale != "auto":
        return scale, "set by the user"
    kind = dataset.kind
    if kind == "image":
        loaded = dataset.info.get("intensity")
        how = f" ({loaded} when loaded)" if loaded else ""
        return "none", f"images: pixel values kept as loaded, in [0, 1]{how}; standardising each pixel would distort them"
    if kind == "embedding":
        return "none", "an embedding (e.g. an .h5ad obsm entry such as X_pca): kept as it is, since the relative scales of its axes carry meaning"
    if ends_with_scaling(steps):
        return "none", "a table whose preprocessing ends with a scaling step: not scaled again"
    return "standard", "a table: each feature standardised to mean 0 and variance 1"
