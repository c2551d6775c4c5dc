"""The default MLP width for the data in front of it.

DEC's ``d-500-500-2000-10`` (Xie et al. 2016) was designed for 784-pixel images and 2000-term
documents. For a 64-feature table it is ~20 times more arithmetic per step than needed, and
the training budget in steps (:mod:`deepclust.train.budget`) makes small data run as many
steps as MNIST, so the width sets the time. The rule scales the widths with the input size and
keeps a floor, measured on the 8x8 digits (64 features; N2D, seed 0, 11,000 steps; commands and
numbers in benchmarks/NOTES_defaults.md):

    hidden widths 64-64-128   -> ACC 0.797
    hidden widths 128-128-256 -> ACC 0.872
    hidden widths 256-256-512 -> ACC 0.884    (the rule's choice for 64 features)
    DEC's 500-500-2000, 800 steps -> 0.859    (the old default's budget); 0.888 at 12,000 steps, ~4x the time

    widths = (w, w, v) with w = clip(4 d, 256, 500) and v = clip(8 d, 512, 2000)

which is DEC's network from d = 250 features up (USPS's 256, MNIST's 784, omics panels of
hundreds or thousands of features) and ``256-256-512`` for d <= 64.
"""

from __future__ import annotations

MIN_WIDTH, MAX_WIDTH, MAX_LAST = 256, 500, 2000


def default_hidden_dims(n_features: int) -> tuple[int, int, int]:
    """Hidden widths of the encoder for ``n_features`` inputs (the decoder mirrors them).

    Examples
    --------
    >>> default_hidden_dims(784), default_hidden_dims(64), default_hidden_dims(100)
    ((500, 500, 2000), (256, 256, 512), (400, 400, 800))
    """
    d = int(n_features)
    if d < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features!r}")
    width = min(max(4 * d, MIN_WIDTH), MAX_WIDTH)
    last = min(max(8 * d, 2 * MIN_WIDTH), MAX_LAST)
    return width, width, last
