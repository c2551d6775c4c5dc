"""Random augmentations of whole batches, as tensor operations seeded by a ``torch.Generator``.

Contrastive learning (SimCLR, SCARF) and masked reconstruction need two random "views" of
every sample in a batch. Everything here works on flat rows ``(B, n_features)`` (images are
rows of ``C*H*W`` values, channels first, as everywhere in deepclust) and draws its random
numbers from an explicit CPU generator, so a run is reproducible and the global RNG is never
touched. No per-sample Python loops: crops and rotations are one ``affine_grid`` /
``grid_sample`` over the batch, blurs one grouped separable convolution.

References
----------
Chen, Kornblith, Norouzi & Hinton (2020). A simple framework for contrastive learning of
visual representations (SimCLR). ICML.
Bahri, Jiang, Tay & Metzler (2022). SCARF: self-supervised contrastive learning using random
feature corruption. ICLR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F


def _uniform(n: int, low: float, high: float, generator: torch.Generator, device) -> torch.Tensor:
    """(n,) uniform draws on the CPU generator, moved to ``device``."""
    return (low + (high - low) * torch.rand(n, generator=generator)).to(device)


def _bernoulli(shape, p: float, generator: torch.Generator, device) -> torch.Tensor:
    """Boolean mask of ``shape`` with ``P(True) = p``."""
    return (torch.rand(shape, generator=generator) < p).to(device)


# -- images ----------------------------------------------------------------------------------
def crop_affine_matrices(
    n: int,
    *,
    generator: torch.Generator,
    scale: tuple[float, float] = (0.5, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    degrees: float = 0.0,
    translate: float = 0.0,
    flip: bool = False,
    device=None,
) -> torch.Tensor:
    """(n, 2, 3) matrices for ``F.affine_grid``: random resized crop, rotation, shift, flip.

    In ``affine_grid``'s normalised coordinates ([-1, 1] across the image) a matrix maps
    output positions to input positions. A crop of area fraction ``s`` and aspect ratio ``r``
    has half-widths ``w = sqrt(s r)``, ``h = sqrt(s / r)`` (at most 1) and a centre placed
    uniformly so the crop stays inside the image; resampling it to the full size is the
    random resized crop of SimCLR. A rotation by up to ``degrees`` and a shift by up to
    ``translate`` (fraction of the image) are composed with it.
    """
    log_r = _uniform(n, math.log(ratio[0]), math.log(ratio[1]), generator, "cpu")
    s = _uniform(n, scale[0], scale[1], generator, "cpu")
    w = torch.sqrt(s * log_r.exp()).clamp(max=1.0)
    h = torch.sqrt(s / log_r.exp()).clamp(max=1.0)
    cx = (2 * torch.rand(n, generator=generator) - 1) * (1 - w)
    cy = (2 * torch.rand(n, generator=generator) - 1) * (1 - h)
    cx = cx + (2 * torch.rand(n, generator=generator) - 1) * 2 * translate
    cy = cy + (2 * torch.rand(n, generator=generator) - 1) * 2 * translate
    angle = (2 * torch.rand(n, generator=generator) - 1) * math.radians(degrees)
    sx = torch.where(torch.rand(n, generator=generator) < 0.5, -w, w) if flip else w
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([sx * cos, -h * sin, cx], dim=1), torch.stack([sx * sin, h * cos, cy], dim=1)], dim=1
    )  # (n, 2, 3): rotate, then scale to the crop, then move to its centre
    return theta.to(device)


def blur_matrices(sigma: torch.Tensor, size: int) -> torch.Tensor:
    """(n, size, size) row-normalised Gaussian smoothing matrices, one per ``sigma`` (n,).

    ``M[b, i, j]`` is proportional to ``exp(-(i - j)^2 / (2 sigma_b^2))``, each row summing
    to one: near the border the kernel is renormalised over the pixels that exist.
    """
    pos = torch.arange(size, dtype=torch.float32, device=sigma.device)
    d2 = (pos[:, None] - pos[None, :]) ** 2  # (size, size)
    m = torch.exp(-d2[None] / (2 * sigma.float()[:, None, None] ** 2))
    return m / m.sum(dim=2, keepdim=True)


def blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image of ``(B, C, H, W)`` with its own Gaussian ``sigma`` (B,).

    A Gaussian blur is separable, so it is two batched matrix products, ``Mh @ img @ Mw^T``
    with per-image smoothing matrices: much faster on a CPU than a grouped convolution with
    one group per image (measured: about 6x at 1024 images of 28x28).
    """
    b, c, h, w = images.shape
    mh = blur_matrices(sigma, h)[:, None]  # (B, 1, H, H)
    mw = blur_matrices(sigma, w)[:, None]  # (B, 1, W, W)
    return mh @ images.float() @ mw.transpose(-1, -2)


def jitter_intensity(images: torch.Tensor, brightness: float, contrast: float, prob: float, generator: torch.Generator) -> torch.Tensor:
    """Scale each image of ``(B, C, H, W)`` by ``U(1 - brightness, 1 + brightness)``, then
    its deviations from its own mean by ``U(1 - contrast, 1 + contrast)``, each image with
    probability ``prob`` (torchvision's brightness and contrast jitter, without clamping:
    deepclust's rows need not lie in [0, 1])."""
    b, dev = images.shape[0], images.device
    on = _bernoulli(b, prob, generator, dev)
    fb = torch.where(on, _uniform(b, 1 - brightness, 1 + brightness, generator, dev), torch.ones(b, device=dev))
    fc = torch.where(on, _uniform(b, 1 - contrast, 1 + contrast, generator, dev), torch.ones(b, device=dev))
    out = images * fb[:, None, None, None]
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (out - mean) * fc[:, None, None, None]


@dataclass(frozen=True)
class ImageAugment:
    """SimCLR-style views of images stored as flat rows.

    Parameters
    ----------
    input_shape : (C, H, W)
    crop_scale : (float, float), default=(0.5, 1.0)
        Area fraction of the random resized crop; with ``crop_ratio=(1, 1)``, ``(1, 1)``
        disables cropping.
    crop_ratio : (float, float), default=(3/4, 4/3)
        Range of the crop's aspect ratio (drawn log-uniformly).
    degrees : float, default=10
        Largest rotation, either way.
    translate : float, default=0.05
        Largest extra shift, as a fraction of the image.
    flip : bool, default=False
        Random horizontal flips (off: they change digits' meaning).
    noise : float, default=0.05
        Standard deviation of added Gaussian noise.
    blur_prob : float, default=0.3
        Probability of blurring an image, with ``sigma ~ U(blur_sigma)``.
    blur_sigma : (float, float), default=(0.1, 1.0)
    brightness, contrast : float, default=0.4
        Intensity jitter, as SimCLR's colour jitter does for grey images: with probability
        ``jitter_prob`` an image is multiplied by a factor drawn from ``U(1 - brightness, 1 +
        brightness)``, then moved from its own mean by a factor from ``U(1 - contrast, 1 +
        contrast)``; 0 turns either off. Without it, how bright an image is survives every other
        augmentation, so the contrastive loss can tell two views apart by it, and the clusters
        follow brightness: on held-out Fashion-MNIST train images ``simclr-n2d`` went from ACC
        0.584 to 0.708 with it (0.972 -> 0.975 on MNIST; NOTES_ssl.md section 7). On since
        stop 32 (before: off).
    jitter_prob : float, default=0.8
        Probability that an image is jittered (SimCLR's 0.8).

    Examples
    --------
    >>> aug = ImageAugment((1, 8, 8))
    >>> aug(torch.rand(4, 64), torch.Generator().manual_seed(0)).shape
    torch.Size([4, 64])
    """

    input_shape: tuple[int, int, int]
    crop_scale: tuple[float, float] = (0.5, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    degrees: float = 10.0
    translate: float = 0.05
    flip: bool = False
    noise: float = 0.05
    blur_prob: float = 0.3
    blur_sigma: tuple[float, float] = (0.1, 1.0)
    brightness: float = 0.4
    contrast: float = 0.4
    jitter_prob: float = 0.8

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.input_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"input_shape must be (channels, height, width), got {self.input_shape!r}")
        lo, hi = self.crop_scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {self.crop_scale!r}")
        if self.degrees < 0 or self.translate < 0 or self.noise < 0:
            raise ValueError("degrees, translate and noise must be non-negative")
        if not 0 <= self.blur_prob <= 1:
            raise ValueError(f"blur_prob must be in [0, 1], got {self.blur_prob!r}")
        if not (0 <= self.brightness <= 1 and 0 <= self.contrast <= 1):
            raise ValueError(f"brightness and contrast must be in [0, 1], got {self.brightness!r} and {self.contrast!r}")
        if not 0 <= self.jitter_prob <= 1:
            raise ValueError(f"jitter_prob must be in [0, 1], got {self.jitter_prob!r}")
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "flip", bool(self.flip))  # the CLI's flip=1

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One random view of every row of ``x`` (B, C*H*W)."""
        c, h, w = self.input_shape
        if x.shape[1] != c * h * w:
            raise ValueError(f"rows have {x.shape[1]} values, but input_shape {self.input_shape} needs {c * h * w}")
        b = x.shape[0]
        img = x.float().reshape(b, c, h, w)
        theta = crop_affine_matrices(
            b, generator=generator, scale=self.crop_scale, ratio=self.crop_ratio, degrees=self.degrees, translate=self.translate, flip=self.flip, device=x.device
        )
        grid = F.affine_grid(theta, [b, c, h, w], align_corners=False)
        img = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if self.blur_prob > 0:
            sigma = _uniform(b, *self.blur_sigma, generator, x.device)
            on = _bernoulli(b, self.blur_prob, generator, x.device)
            if on.any():  # blur only the chosen images
                img = img.clone()
                img[on] = blur(img[on], sigma[on])
        if self.brightness > 0 or self.contrast > 0:
            img = jitter_intensity(img, self.brightness, self.contrast, self.jitter_prob, generator)
        out = img.reshape(b, -1)
        if self.noise > 0:
            out = out + self.noise * torch.randn(out.shape, generator=generator).to(x.device)
        return out


# -- tabular data ------------------------------------------------------------------------------
def marginal_draws(reference: torch.Tensor, shape: Sequence[int], generator: torch.Generator) -> torch.Tensor:
    """Values of shape (B, d) whose column j is drawn from column j of ``reference`` (N, d).

    Each entry picks an independent random row, so each column follows that feature's
    empirical marginal distribution (SCARF's corruption distribution).
    """
    b, d = shape
    rows = torch.randint(0, reference.shape[0], (b, d), generator=generator).to(reference.device)
    return reference.gather(0, rows)


def scarf_corrupt(x: torch.Tensor, reference: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Replace each entry of ``x`` (B, d) with probability ``rate`` by a draw from its marginal."""
    mask = _bernoulli(x.shape, rate, generator, x.device)
    return torch.where(mask, marginal_draws(reference, x.shape, generator).to(x.dtype), x)


@dataclass(frozen=True)
class TabularAugment:
    """SCARF-style views of tabular rows: marginal corruption, Gaussian noise, masking.

    Parameters
    ----------
    corruption : float, default=0.3
        Fraction of features replaced by draws from their empirical marginal (SCARF uses 0.6
        on raw UCI tables; on standardised omics a smaller rate keeps more signal).
    noise : float, default=0.1
        Standard deviation of added Gaussian noise (in units of the scaled features).
    mask : float, default=0.0
        Fraction of features set to zero (the mean, after standard scaling).

    Examples
    --------
    >>> X = torch.randn(100, 5)
    >>> TabularAugment()(X[:8], torch.Generator().manual_seed(0), reference=X).shape
    torch.Size([8, 5])
    """

    corruption: float = 0.3
    noise: float = 0.1
    mask: float = 0.0

    def __post_init__(self) -> None:
        for name in ("corruption", "mask"):
            v = getattr(self, name)
            if not 0 <= v < 1:
                raise ValueError(f"{name} must be in [0, 1), got {v!r}")
        if self.noise < 0:
            raise ValueError(f"noise must be non-negative, got {self.noise!r}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator, *, reference: torch.Tensor | None = None) -> torch.Tensor:
        """One random view of every row of ``x`` (B, d); ``reference`` (N, d) holds the marginals."""
        out = x.float()
        if self.corruption > 0:
            if reference is None:
                raise ValueError("SCARF corruption needs the reference data whose marginals it draws from")
            out = scarf_corrupt(out, reference.float(), self.corruption, generator)
        if self.noise > 0:
            out = out + self.noise * torch.randn(out.shape, generator=generator).to(x.device)
        if self.mask > 0:
            out = out.masked_fill(_bernoulli(out.shape, self.mask, generator, x.device), 0.0)
        return out


def random_mask(shape: Sequence[int], rate: float, generator: torch.Generator, device=None) -> torch.Tensor:
    """Boolean (B, d) mask with ``P(True) = rate``, at least one True per row when ``rate > 0``.

    Used by masked reconstruction: the masked entries are hidden from the encoder and are
    what the decoder must predict, so a row with nothing masked would teach nothing.
    """
    b, d = shape
    m = torch.rand((b, d), generator=generator) < rate
    if rate > 0:
        forced = torch.randint(0, d, (b,), generator=generator)
        m[torch.arange(b), forced] = True
    return m.to(device)
