"""The shared base of the neural embedding estimators (methods/_neural.py).

Models saved before the redesign (tests/data/legacy_models, written by
tests/make_legacy_models.py on the old code) must still load and give the same codes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deepclust.methods import load_model

LEGACY = Path(__file__).parent / "data" / "legacy_models"
LEGACY_NAMES = ["ae_mlp", "ae_spec", "vae_mlp", "vae_spec", "simclr_mlp", "mae_mlp", "aekmeans_mlp"]


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("name", LEGACY_NAMES)
def test_models_saved_before_the_redesign_load_with_the_same_codes(name):
    X = np.load(LEGACY / "inputs.npy")
    model = load_model(LEGACY / name)
    np.testing.assert_allclose(model.transform(X), np.load(LEGACY / f"{name}_codes.npy"), rtol=1e-5, atol=1e-6)
