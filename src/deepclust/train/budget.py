"""How long to train: a budget in optimiser steps, not epochs.

Fixed epochs under-train small data: 100 epochs of the 1,797 digits are ~700 optimiser steps,
40 epochs of MNIST-70k ~11,000. The autoencoders of N2D/DEC reach the published accuracy on
MNIST-70k (N2D 0.978 at 40 epochs), USPS (0.954 at 300 epochs) and MNIST-test (0.959 at 275
epochs) after about the same number of steps, ~11,000 at batch 256, whatever the data size
(benchmarks/RESULTS.md and issue 15's measurements). So the default budget is a step count:

    steps  = DEFAULT_STEPS                                  (11,000)
    epochs = clip(ceil(steps / steps_per_epoch), MIN_EPOCHS, MAX_EPOCHS)

with ``steps_per_epoch = ceil(n_samples / batch_size)``. The floor keeps a few full passes on
very large data (2 epochs of 1M rows at batch 256 is ~7,800 steps); the ceiling stops tiny
tables from cycling for hours. There is no plateau stop by default: a stop after 20% of the
budget without a 0.1% gain never fired on the quick suite's digits and USPS rows (the labels
were identical with and without it, benchmarks/NOTES_defaults.md), so it bought nothing there
and was removed. Users who want one set ``patience`` (epochs,
:class:`~deepclust.train.loop.EarlyStopping`). ``epochs=`` or ``steps=`` set by the
user replace the rule.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

DEFAULT_STEPS = 11_000
MIN_EPOCHS = 2
MAX_EPOCHS = 2_000


@dataclass(frozen=True)
class Budget:
    """A resolved training budget.

    Attributes
    ----------
    epochs : int
        Passes over the data at most.
    max_steps : int or None
        Optimiser steps at most (None: all of ``epochs``).
    rule : str
        How the budget was chosen, for ``history_`` and ``metrics.json``.
    """

    epochs: int
    max_steps: int | None
    rule: str

    def to_dict(self) -> dict:
        return asdict(self)


def steps_per_epoch(n_samples: int, batch_size: int) -> int:
    return max(1, math.ceil(int(n_samples) / int(batch_size)))


def training_budget(n_samples: int, batch_size: int, *, epochs: int | None = None, steps: int | None = None) -> Budget:
    """Resolve the budget for ``n_samples`` rows at ``batch_size``.

    Parameters
    ----------
    n_samples, batch_size : int
    epochs : int or None
        Train exactly this many epochs.
    steps : int or None
        Train this many optimiser steps (over as many epochs as that takes).

    Returns
    -------
    Budget
    """
    if epochs is not None and steps is not None:
        raise ValueError(f"give epochs or steps, not both (got epochs={epochs!r}, steps={steps!r})")
    per_epoch = steps_per_epoch(n_samples, batch_size)
    if epochs is not None:
        return Budget(int(epochs), None, f"epochs={int(epochs)} set by the user")
    if steps is not None:
        n_epochs = math.ceil(int(steps) / per_epoch)
        return Budget(n_epochs, int(steps), f"steps={int(steps)} set by the user")
    wanted = math.ceil(DEFAULT_STEPS / per_epoch)
    n_epochs = min(max(wanted, MIN_EPOCHS), MAX_EPOCHS)
    max_steps = DEFAULT_STEPS if n_epochs == wanted else None  # at the floor or ceiling: whole passes
    rule = (
        f"auto: {DEFAULT_STEPS} optimiser steps ({per_epoch} a pass at batch {int(batch_size)}) "
        f"within {MIN_EPOCHS}-{MAX_EPOCHS} epochs -> {n_epochs} epochs"
    )
    return Budget(n_epochs, max_steps, rule)

