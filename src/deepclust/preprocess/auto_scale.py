"""The one rule for ``scale="auto"``: which per-feature scaling a dataset gets before the model.

Every caller (``deepclust fit``, ``select-k``, benchmark cells) asks :func:`auto_scaling`, so
the rule exists once.
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
    steps : sequence of str
        The preprocessing steps that run before the scaling.

    Returns
    -------
    scale : {"none", "standard", "minmax"}
    reason : str
        One sentence saying why, for ``metrics.json``.
    """
    if scale not in SCALE_CHOICES:
        raise ValueError(f"unknown scaling {scale!r}; expected one of {list(SCALE_CHOICES)}")
    if scale != "auto":
        return scale, "set by the user"
    if dataset.image_shape is not None:
        return "none", "images are kept as they are"
    if ends_with_scaling(steps):
        return "none", "the preprocessing ends with a scaling step"
    return "standard", "a table: each feature standardised to mean 0 and variance 1"
