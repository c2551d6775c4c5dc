"""Shared test set-up: the local benchmark data, one torch thread, blobs, tiny autoencoders,
and the scikit-learn estimator checks' set-up for clusterers.

Test modules ask for one torch thread with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``;
helpers that modules call at import time (inside ``parametrize`` lists) are plain functions,
imported with ``from conftest import tiny_autoencoder``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

if "DEEPCLUST_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["DEEPCLUST_DATA"] = str(SHARED_DATA)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for the module's tests, restored afterwards.

    On a shared 2-core machine, torch's default thread pool turns a millisecond step of the
    tests' tiny networks into ~100 ms of thread contention; one thread is faster.
    """
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def exposome_or_skip(*files: str) -> None:
    """Skip the test unless the data folder holds the exposome tables (``files`` of them, default
    the serum metabolome's sample annotation)."""
    from deepclust.datasets import data_home

    if not all((data_home() / "exposome" / f).is_file() for f in files or ("metabol_serum_pData.csv",)):
        pytest.skip("needs DEEPCLUST_DATA (../shared/data) with the exposome tables")


def make_blobs32(n_samples: int, n_features: int, centers: int, *, random_state: int = 0, **kw) -> tuple[np.ndarray, np.ndarray]:
    """``sklearn.datasets.make_blobs`` with float32 features (what the networks train on): (X, y)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples, n_features=n_features, centers=centers, random_state=random_state, **kw)
    return X.astype(np.float32), y


def tiny_autoencoder(**kw):
    """An ``AutoencoderEmbedding`` small enough to train in milliseconds, on the CPU in float32;
    keywords override the defaults."""
    from deepclust.methods import AutoencoderEmbedding

    params = dict(hidden_dims=(16,), latent_dim=2, epochs=3, batch_size=32, precision="float32", device="cpu")
    return AutoencoderEmbedding(**{**params, **kw})



# -- scikit-learn's estimator checks ------------------------------------------------------------
class _TwoClustersAtLeast:
    """Mixin for the estimator checks: an assignment ``n_clusters = 1`` becomes 2.

    Four of scikit-learn's checks (check_dont_overwrite_parameters, check_fit2d_1feature,
    check_fit2d_predict1d, check_methods_subset_invariance) assign ``estimator.n_clusters = 1``
    to any estimator with that attribute, so that a 1-feature or 1-sample fit stays possible.
    deepclust refuses one cluster on purpose (test_bad_n_clusters), so for these checks the
    estimator is set up the way scikit-learn sets up its own estimators for checking
    (``_set_checking_parameters``): with the smallest valid value, 2. What the checks test
    (no public attribute changes in fit, 1-feature and 1-D input, batch invariance) is then
    tested for real instead of being an expected failure. Nothing else changes: the class keeps
    its name, parameters and validation.
    """

    def __setattr__(self, name, value):
        if name == "n_clusters" and isinstance(value, int) and not isinstance(value, bool) and value == 1:
            value = 2
        super().__setattr__(name, value)


def for_sklearn_checks(estimators: list) -> list:
    """``estimators``, the clusterers among them re-classed with :class:`_TwoClustersAtLeast`.

    The subclasses are module attributes of this file, so pickling (check_estimators_pickle)
    finds them.
    """
    out = []
    for est in estimators:
        if hasattr(est, "n_clusters"):
            cls = type(est)
            qualname = f"_Checked{cls.__name__}"
            sub = globals().get(qualname)
            if sub is None:
                sub = type(cls.__name__, (_TwoClustersAtLeast, cls), {"__module__": __name__, "__qualname__": qualname})
                globals()[qualname] = sub
            est = sub(**est.get_params(deep=False))
        out.append(est)
    return out
