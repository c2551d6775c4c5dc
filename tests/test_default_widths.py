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
        assert widths == list(default_hidden_dims(8, 64)) == [32, 32, 128], widths  # 64 rows: the few-rows floor


def test_width_rule_caps_the_network_for_few_rows_and_keeps_decs_for_many():
    # DEC's network from ~8,000 rows of 784 (or 256) features, as without n_samples
    assert default_hidden_dims(784, 70_000) == default_hidden_dims(784) == (500, 500, 2000)
    assert default_hidden_dims(256, 9_298) == (500, 500, 2000)
    # few rows: width n_samples // 16 (at least 32), last layer 4x it, never above the feature rule
    assert default_hidden_dims(222, 1_152) == (72, 72, 288)
    assert default_hidden_dims(64, 1_797) == (112, 112, 448)
    assert default_hidden_dims(4, 150) == (32, 32, 128)
    assert default_hidden_dims(8, 6_000) == (256, 256, 512)  # the cap (375) is above the feature rule's 256
    for n in (2, 500, 5_000, 50_000):
        w = default_hidden_dims(100, n)
        assert w[0] == w[1] <= default_hidden_dims(100)[0] and w[2] <= default_hidden_dims(100)[2]
        assert default_hidden_dims(100, n) <= default_hidden_dims(100, 2 * n)  # never narrower with more rows
    with pytest.raises(ValueError, match="n_samples"):
        default_hidden_dims(10, 0)
