"""Training-time augmentation of tabular minibatches, for cohorts of hundreds of samples.

Three corruptions, each optional, applied to every minibatch while an autoencoder trains:

- ``mixup``: each row becomes ``lam * x + (1 - lam) * x[perm]`` with another row of the same
  batch, ``lam ~ Beta(alpha, alpha)`` per row (Zhang et al. 2018). The mixed rows are the new
  training targets: convex combinations of real samples fill the space between them.
- ``noise``: Gaussian noise scaled to each feature, ``x + noise * sd_j * N(0, 1)`` with
  ``sd_j`` the feature's standard deviation in the training data (a denoising autoencoder,
  Vincent et al. 2008).
- ``marginal``: each entry is, with probability ``marginal``, replaced by the same feature of
  a random training sample: a draw from that feature's marginal distribution (SCARF, Bahri et
  al. 2022; the same corruption as the contrastive views, :func:`deepclust.nn.augment.scarf_corrupt`).

``noise`` and ``marginal`` corrupt the input only; the network must reconstruct the clean
(possibly mixed) rows. All draws come from generators seeded by the caller, so the same seed
gives the same training run.

References
----------
Zhang, Cisse, Dauphin & Lopez-Paz (2018). mixup: beyond empirical risk minimization. ICLR.
Vincent, Larochelle, Bengio & Manzagol (2008). Extracting and composing robust features with
denoising autoencoders. ICML.
Bahri, Jiang, Tay & Metzler (2022). SCARF: self-supervised contrastive learning using random
feature corruption. ICLR.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from deepclust.nn.augment import scarf_corrupt

KEYS = ("noise", "mixup", "marginal")


def check_augment(spec) -> dict[str, float] | None:
    """Validate an augmentation spec: None, or a mapping with some of :data:`KEYS`.

    The text form ``"noise=0.1,mixup=0.2"`` is parsed by :func:`deepclust.preprocess.check_augment`.

    Returns the spec with every key filled in (0 = off), or None when everything is off.

    Examples
    --------
    >>> check_augment({"noise": 0.1})
    {'noise': 0.1, 'mixup': 0.0, 'marginal': 0.0}
    """
    if spec is None:
        return None
    if isinstance(spec, str):  # text is parsed by the layers above nn
        raise ValueError(
            f"augment text {spec!r} must be parsed first: use deepclust.preprocess.check_augment, "
            "which takes 'noise=0.1,mixup=0.2' as well as a mapping"
        )
    if not isinstance(spec, Mapping):
        raise ValueError(f"augment must be None or a mapping like {{'noise': 0.1, 'mixup': 0.2, 'marginal': 0.1}}, got {spec!r}")
    unknown = [k for k in spec if k not in KEYS]
    if unknown:
        import difflib

        hint = difflib.get_close_matches(str(unknown[0]), KEYS, n=1)
        more = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"augment: unknown key {unknown[0]!r}{more}; known: {', '.join(KEYS)}")
    out = {}
    for key in KEYS:
        v = spec.get(key, 0.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"augment[{key!r}] must be a non-negative number, got {v!r}")
        out[key] = float(v)
    if out["marginal"] >= 1:
        raise ValueError(f"augment['marginal'] is a probability and must be below 1, got {out['marginal']}")
    return out if any(out.values()) else None


class TabularAugmenter:
    """Applies a checked spec to minibatches of rows of ``X``.

    Parameters
    ----------
    spec : dict
        From :func:`check_augment`.
    X : Tensor of shape (n_samples, n_features)
        The training data (for the feature scales and the marginals), on the training device.
    seed : int
        Seeds the torch generator (on ``X``'s device) and the numpy generator of the mixup
        weights.

    Calling it on a batch ``x`` (B, d) returns ``(x_in, x_target)``.
    """

    def __init__(self, spec: dict, X: torch.Tensor, seed: int) -> None:
        self.spec = spec
        self.X = X
        self.sd = X.float().std(dim=0, unbiased=False)  # (d,)
        self.gen = torch.Generator().manual_seed(int(seed))  # CPU draws, moved to the data: same stream on any device
        self.rng = np.random.default_rng(int(seed))

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spec, B = self.spec, x.shape[0]
        target = x
        if spec["mixup"] > 0 and B > 1:
            lam = torch.from_numpy(self.rng.beta(spec["mixup"], spec["mixup"], size=(B, 1)).astype(np.float32)).to(x.device, x.dtype)
            perm = torch.randperm(B, generator=self.gen).to(x.device)
            target = lam * x + (1 - lam) * x[perm]
        out = target
        if spec["marginal"] > 0:
            out = scarf_corrupt(out, self.X, spec["marginal"], self.gen)  # (B, d)
        if spec["noise"] > 0:
            eps = torch.randn(out.shape, generator=self.gen).to(x.device, out.dtype)
            out = out + spec["noise"] * self.sd.to(out.dtype) * eps
        return out, target
