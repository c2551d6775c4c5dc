"""The default networks for the data in front of them: the MLP's widths for tables, a small
conv encoder for images.

**MLP widths.**

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

**Few rows.** The widths above read the features only: a 1,152-row table of 222 features got
DEC's network (2.5 M weights for 256 k values) and N2D lost children to UMAP + GMM there in 10x
the time. With ``n_samples`` known (every ``fit`` passes it), the width is capped:

    w = min(w, max(n_samples // 16, 32)), and then (w, w, min(4 w, v))

measured with ``benchmarks/diagnostics/n2d_widths.py`` (N2D, CLI defaults but the widths, seeds
0-2, ACC mean; ``benchmarks/results/n2d_widths.jsonl``, NOTES_defaults.md), first on tables the
suite does not hold, where the choice was made:

    data (rows x features)        32-32-128  64-64-256  128-128-512  the feature rule   UMAP + GMM
    iris (150 x 4)                  0.871      0.818      0.747       0.753 (256)        0.671
    wine (178 x 13)                 0.805      0.942      0.886       0.854 (256)        0.933
    breast cancer (569 x 30)        0.745      0.651      0.690       0.683 (256)        0.937
    MNIST-train 1,152 as a table    0.616        -        0.541       0.579 (500), 545 s  0.558  (seed 0)

then on the suite's rows, held out for it: exposures (1,152 x 222) 0.993 / 0.988 / 0.982 /
0.978 (500), digits (1,797 x 64) - / 0.886 / 0.870 / 0.886 (256), at a third to a tenth of the
time. Narrow networks are never worse on the mean at these sizes and the floor of 32 is what the
held-out tables choose; the slope (1/16) is not fixed by them (they are all below 1,200 rows):
it is chosen so that from ~8,000 rows (USPS, MNIST-test, MNIST-70k, where DEC's network was
measured at the papers' accuracy) nothing changes.

**Image encoder** (:func:`default_conv_spec`, the contrastive embeddings' default on images).
An MLP must learn every shifted copy of a stroke, while SimCLR's views are crops and shifts, which
a convolution is built to be indifferent to. The rule is the small encoder of the deep-clustering
literature for 28x28 digits (DCEC, Guo et al. 2017; Aljalbout et al. 2018; the project's
``examples/networks/conv_mnist.json``) with today's 3x3 kernels and batch norm:

    conv 3x3 stride 2, 32 -> conv 3x3 stride 2, 64 -> conv 3x3 stride 2, 128 -> flatten -> linear to latent_dim

with batch norm and ReLU after each convolution and a padding of 1 (28 -> 14 -> 7 -> 4; 16 -> 8
-> 4 -> 2; 8 -> 4 -> 2 -> 1). Images larger than 64 pixels on a side get one more stride-2
stage per doubling (widths doubling up to 256) until the last map is at most 8 pixels on its
longer side, so that the linear layer stays small. Every convolution strides because the
first layer at full resolution costs most on a CPU. Seconds per SimCLR step at batch 256 (512
views of 28x28), float32, one thread of the 2-core development machine while a benchmark used
the other core (three runs, so rough; ``benchmarks/NOTES_defaults.md``):

    MLP 784-500-500-2000-64                           0.10-0.17 s
    this encoder (strides 2-2-2)                      0.25-0.42 s   (about 2.5x the MLP)
    widths 32-64-128, strides 1-2-2 (a 28x28x32 map)  0.92-1.67 s   (about 10x)

bf16 autocast is several times slower than float32 on a CPU without native bf16 (this one), for
the MLP and the convolutions alike; precision="auto" keeps float32 there.

References: Guo, Liu, Zhu & Yin (2017), Deep clustering with convolutional autoencoders, ICONIP;
Chen, Kornblith, Norouzi & Hinton (2020), SimCLR, ICML.
"""

from __future__ import annotations

MIN_WIDTH, MAX_WIDTH, MAX_LAST = 256, 500, 2000
ROWS_PER_UNIT, MIN_SMALL_WIDTH = 16, 32  # few rows: width at most n_samples / 16, never below 32
CONV_WIDTHS, MAX_CONV_WIDTH = (32, 64, 128), 256  # the stride-2 stages of the image encoder
MAX_LAST_MAP = 8  # pixels on the longer side of the last map, from 64-pixel images up


def default_hidden_dims(n_features: int, n_samples: int | None = None) -> tuple[int, int, int]:
    """Hidden widths of the encoder for ``n_features`` inputs (the decoder mirrors them).

    ``n_samples``: the number of training rows (None: the rule for any number of rows).

    Examples
    --------
    >>> default_hidden_dims(784), default_hidden_dims(64), default_hidden_dims(100)
    ((500, 500, 2000), (256, 256, 512), (400, 400, 800))
    >>> default_hidden_dims(784, 70_000), default_hidden_dims(64, 1797), default_hidden_dims(222, 1152)
    ((500, 500, 2000), (112, 112, 448), (72, 72, 288))
    """
    d = int(n_features)
    if d < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features!r}")
    width = min(max(4 * d, MIN_WIDTH), MAX_WIDTH)
    last = min(max(8 * d, 2 * MIN_WIDTH), MAX_LAST)
    if n_samples is not None:
        if int(n_samples) < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples!r}")
        cap = max(int(n_samples) // ROWS_PER_UNIT, MIN_SMALL_WIDTH)
        if cap < width:  # few rows: the narrow network, shaped as measured (w-w-4w)
            width, last = cap, min(4 * cap, last)
    return width, width, last


def default_conv_spec(input_shape, latent_dim: int, *, batch_norm: bool = True) -> dict:
    """The default image encoder for ``input_shape`` (C, H, W), as a network spec.

    The rule is in the module docstring: stride-2 3x3 convolutions of 32, 64 and 128 channels
    (one more stage, up to 256 channels, per doubling of images larger than 64 pixels), batch
    norm and ReLU, then a linear layer to ``latent_dim``.

    Parameters
    ----------
    input_shape : (C, H, W)
    latent_dim : int
    batch_norm : bool, default=True
        Batch norm after each convolution (the linear embedding layer has none).

    Returns
    -------
    dict
        A spec for :func:`deepclust.nn.load_spec` (``name`` "default-conv").

    Examples
    --------
    >>> spec = default_conv_spec((1, 28, 28), 10)
    >>> [layer.get("filters", layer.get("units")) for layer in spec["encoder"]]
    [32, 64, 128, None, 10]
    >>> len(default_conv_spec((3, 224, 224), 10)["encoder"])  # 224 -> 112 -> 56 -> 28 -> 14 -> 7
    7
    """
    shape = [int(s) for s in input_shape]
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (channels, height, width) of positive sizes, got {tuple(input_shape)!r}")
    side, widths = max(shape[1:]), list(CONV_WIDTHS)
    while -(-side // 2 ** len(widths)) > MAX_LAST_MAP:  # ceil(side / 2^n): the map after n stages
        widths.append(min(2 * widths[-1], MAX_CONV_WIDTH))
    convs = [{"type": "Conv2D", "filters": w, "kernel": 3, "stride": 2} for w in widths]
    return {
        "name": "default-conv",
        "description": "deepclust's default image encoder (nn.sizing.default_conv_spec)",
        "input_shape": shape,
        "activation": "relu",
        "batch_norm": bool(batch_norm),
        "padding": 1,  # ceil(size / 2) out, as "same", without "same"'s extra pad layer on even sizes
        "encoder": [*convs, {"type": "Flatten"}, {"type": "Dense", "units": int(latent_dim)}],
    }
