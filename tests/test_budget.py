"""The training budget rule (steps, not epochs) and the plateau stop."""

from __future__ import annotations

import pytest
import torch

from deepclust.train import fit_module
from deepclust.train.budget import DEFAULT_STEPS, MAX_EPOCHS, MIN_EPOCHS, PlateauStop, training_budget

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_auto_budget_gives_small_and_large_data_the_same_steps():
    small = training_budget(9298, 256)  # USPS: 37 steps a pass
    large = training_budget(70000, 256)  # MNIST: 274 steps a pass
    assert small.max_steps == large.max_steps == DEFAULT_STEPS
    assert small.epochs == 298 and large.epochs == 41
    assert "auto" in small.rule and small.patience_steps is None  # no plateau stop by default (NOTES_defaults.md)


def test_auto_budget_floor_and_ceiling():
    huge = training_budget(5_000_000, 256)
    assert huge.epochs == MIN_EPOCHS and huge.max_steps is None  # 2 passes, more than the step target
    tiny = training_budget(100, 256)  # one step a pass
    assert tiny.epochs == MAX_EPOCHS and tiny.max_steps is None


def test_user_epochs_or_steps_replace_the_rule():
    b = training_budget(1797, 256, epochs=7)
    assert (b.epochs, b.max_steps, b.patience_steps) == (7, None, None)
    b = training_budget(1797, 256, steps=50)  # 8 steps a pass
    assert (b.epochs, b.max_steps) == (7, 50)
    with pytest.raises(ValueError, match="not both"):
        training_budget(10, 2, epochs=1, steps=1)


def _fit(losses, patience_steps):
    """Run fit_module on a module whose 'loss' per epoch is scripted by ``losses``."""
    w = torch.nn.Parameter(torch.zeros(1))
    it = iter(losses)
    current = {}

    class Script(PlateauStop):
        def on_epoch_begin(self, state):
            current["v"] = next(it)

    cb = Script(patience_steps)
    loss_fn = lambda m, b, s: (w * 0).sum() + current["v"]  # noqa: E731
    state = fit_module(torch.nn.Module(), loss_fn, (torch.zeros(4, 1),), epochs=len(losses), batch_size=2,
                       optimizer=torch.optim.SGD([w], lr=0.1), generator=torch.Generator().manual_seed(0), callbacks=[cb])
    return state


def test_plateau_stop_ends_training_after_patience_steps_without_improvement():
    state = _fit([1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], patience_steps=4)  # 2 steps an epoch
    assert state.stop and "plateau" in state.stop_reason
    assert len(state.history["loss"]) == 4  # best at epoch 1 (step 4); stops at step 8
    state = _fit([1.0, 0.9, 0.8, 0.7, 0.6], patience_steps=4)  # always improving: runs to the end
    assert not state.stop and len(state.history["loss"]) == 5


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


def test_auto_widths_follow_the_number_of_features_and_survive_save_load(tmp_path):
    emb = VAEEmbedding(latent_dim=2, epochs=1, random_state=0).fit(_rows(d=6))
    assert emb._arch["hidden_dims"] == list(default_hidden_dims(6)) == [256, 256, 512]
    back = VAEEmbedding.load(emb.save(tmp_path / "m"))
    assert back.training_ == emb.training_
    np.testing.assert_array_equal(back.transform(_rows(d=6)), emb.transform(_rows(d=6)))
