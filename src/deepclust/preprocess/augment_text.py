"""Augmentation settings written as text (the CLI's and the estimators' ``augment="noise=0.1"``).

The augmentations themselves are torch code in :mod:`deepclust.nn.cohort_augment`, which
validates a mapping; parsing text belongs here, above the network layer.
"""

from __future__ import annotations


def check_augment(spec) -> dict[str, float] | None:
    """Validate an augmentation spec given as None, a mapping, or text like ``"noise=0.1,mixup=0.2"``.

    Returns the spec with every key filled in (0 = off), or None when everything is off; see
    :func:`deepclust.nn.cohort_augment.check_augment`.

    Examples
    --------
    >>> check_augment("noise=0.1")
    {'noise': 0.1, 'mixup': 0.0, 'marginal': 0.0}
    """
    from deepclust.nn.cohort_augment import check_augment as check_mapping  # here: importing preprocess stays torch-free

    if isinstance(spec, str):
        spec = parse_augment(spec)
    return check_mapping(spec)


def parse_augment(text: str) -> dict[str, float | list[float]]:
    """``"noise=0.1,mixup=0.2"`` -> ``{"noise": 0.1, "mixup": 0.2}`` (the CLI's form).

    A value ``LOW:HIGH`` is a range, for the contrastive views' options such as
    ``crop_scale=0.2:1``; switches are numbers (``flip=1``).

    Examples
    --------
    >>> parse_augment("flip=1,crop_scale=0.2:1")
    {'flip': 1.0, 'crop_scale': [0.2, 1.0]}
    """
    out: dict[str, float | list[float]] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"augment: expected key=value pairs like 'noise=0.1,mixup=0.2', got {part!r}")
        try:
            numbers = [float(v) for v in value.split(":")]
        except ValueError:
            raise ValueError(f"augment: {key.strip()!r} must be a number or a LOW:HIGH range, got {value!r}") from None
        if len(numbers) > 2:
            raise ValueError(f"augment: {key.strip()!r} must be a number or a LOW:HIGH range, got {value!r}")
        out[key.strip()] = numbers[0] if len(numbers) == 1 else numbers
    return out
