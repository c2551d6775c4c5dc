"""The training budget rule (steps, not epochs)."""

from __future__ import annotations

import pytest

from deepclust.train.budget import DEFAULT_STEPS, MAX_EPOCHS, MIN_EPOCHS, training_budget

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_auto_budget_gives_small_and_large_data_the_same_steps():
    small = training_budget(9298, 256)  # USPS: 37 steps a pass
    large = training_budget(70000, 256)  # MNIST: 274 steps a pass
    assert small.max_steps == large.max_steps == DEFAULT_STEPS
    assert small.epochs == 298 and large.epochs == 41
    assert "auto" in small.rule


def test_auto_budget_floor_and_ceiling():
    huge = training_budget(5_000_000, 256)
    assert huge.epochs == MIN_EPOCHS and huge.max_steps is None  # 2 passes, more than the step target
    tiny = training_budget(100, 256)  # one step a pass
    assert tiny.epochs == MAX_EPOCHS and tiny.max_steps is None


def test_user_epochs_or_steps_replace_the_rule():
    b = training_budget(1797, 256, epochs=7)
    assert (b.epochs, b.max_steps) == (7, None)
    b = training_budget(1797, 256, steps=50)  # 8 steps a pass
    assert (b.epochs, b.max_steps) == (7, 50)
    with pytest.raises(ValueError, match="not both"):
        training_budget(10, 2, epochs=1, steps=1)


# -- the budget through the estimators ----------------------------------------------------------
import numpy as np  # noqa: E402

from deepclust.methods import AutoencoderEmbedding, VAEEmbedding  # noqa: E402
from deepclust.nn.sizing import default_hidden_dims  # noqa: E402


def _rows(n=40, d=6):
    return np.random.default_rng(0).random((n, d)).astype(np.float32)


def test_default_budget_records_steps_and_why_training_stopped():
    emb = AutoencoderEmbedding(latent_dim=2, hidden_dims=(4,), precision="float32", random_state=0).fit(_rows())
    t = emb.training_
    assert t["budget"].startswith("auto: 11000 optimiser steps")
    assert 1 <= t["steps"] <= MAX_EPOCHS  # 40 rows: one step a pass, at most the epoch ceiling
    assert t["epochs"] == len(emb.history_["loss"])
    assert t["stop_reason"] == f"completed {MAX_EPOCHS} epochs" and t["steps"] == MAX_EPOCHS


def test_steps_option_and_epochs_and_steps_together():
    emb = AutoencoderEmbedding(latent_dim=2, hidden_dims=(4,), steps=7, batch_size=16, random_state=0).fit(_rows())
    assert emb.training_["steps"] == 7 and emb.training_["stop_reason"] == "reached max_steps=7"
    assert emb.training_["epochs"] == 3  # 3 steps a pass: the third pass stops after its first step
    with pytest.raises(ValueError, match="not both"):
        AutoencoderEmbedding(epochs=2, steps=3).fit(_rows())


def test_auto_widths_follow_the_data_and_survive_save_load(tmp_path):
    emb = VAEEmbedding(latent_dim=2, epochs=1, random_state=0).fit(_rows(d=6))
    assert emb._arch["hidden_dims"] == list(default_hidden_dims(6, len(_rows(d=6)))) == [32, 32, 128]
    back = VAEEmbedding.load(emb.save(tmp_path / "m"))
    assert back.training_ == emb.training_
    np.testing.assert_array_equal(back.transform(_rows(d=6)), emb.transform(_rows(d=6)))


def test_user_patience_stops_the_default_budget_early_and_says_why():
    # lr=1e-12 keeps the loss flat, so an epoch patience of 3 ends training after 4 epochs of the 2,000
    emb = AutoencoderEmbedding(latent_dim=2, hidden_dims=(4,), lr=1e-12, patience=3, precision="float32", random_state=0).fit(_rows())
    assert emb.training_["epochs"] == 4 and emb.training_["stop_reason"].startswith("early stopping: loss did not improve for 3 epochs")
