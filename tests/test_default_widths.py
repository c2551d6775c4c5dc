"""Every deep method fits with its default network widths (``hidden_dims="auto"``).

The pinned-settings tests (test_same_labels.py and most method tests) pass explicit widths, so
a method that mishandles the default string went unseen until a full benchmark run (VaDE, the
contrastive embeddings). Here each registered deep method fits a small table with the default
widths and a two-step budget, and its network has the widths of the rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from deepclust.methods.registry import METHODS, _params_of, build_method
from deepclust.nn.sizing import default_hidden_dims

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DEEP = [name for name, spec in METHODS.items() if spec.deep]


def _widths(estimator) -> list | None:
    """The MLP widths the fitted network was built with, where its architecture records them."""
    for obj in (estimator, getattr(estimator, "embedding_", None)):
        arch = getattr(obj, "_arch", None)
        if arch and "hidden_dims" in arch:
            return list(arch["hidden_dims"])
    return None


@pytest.mark.parametrize("name", DEEP)
def test_deep_method_fits_with_the_default_widths(name):
    X = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    spec = METHODS[name]
    wanted = {"steps": 2, "batch_size": 32, "precision": "float32", "device": "cpu"}
    options = {k: v for k, v in wanted.items() if k in _params_of(spec.embedding)}
    assert "hidden_dims" not in options
    est = build_method(name, 3, 0, embedding=options)
    phase = {"epochs": 2, "max_iter": 4}  # the clustering phase: DCN, VaDE, SCAN count epochs; DEC, IDEC steps
    est.set_params(**{k: v for k, v in phase.items() if k in est.get_params(deep=False)})
    est.fit(X)
    assert est.labels_.shape == (64,)
    widths = _widths(est)
    if widths is not None:
        assert widths == list(default_hidden_dims(8)), widths
