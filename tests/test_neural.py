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


# -- the module layer: each network returns its loss as named terms ---------------------------------
def test_module_losses_are_named_terms_from_their_maths():
    from deepclust.losses import nt_xent, reconstruction_mse
    from deepclust.nn import ContrastiveNet, MaskedAutoencoder, mlp_autoencoder, mlp_vae

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(5, 6, generator=gen)
    ae = mlp_autoencoder(6, (8,), 2)
    assert set(ae.loss(x)) == {"loss"}
    assert torch.equal(ae.loss(x)["loss"], reconstruction_mse(ae(x), x))
    assert torch.equal(ae.loss(x, torch.zeros_like(x))["loss"], reconstruction_mse(ae(x), torch.zeros_like(x)))
    torch.manual_seed(0)
    vae_terms = mlp_vae(6, (8,), 2).loss(x, beta=2.0)
    assert set(vae_terms) == {"loss", "reconstruction", "kl"}
    assert torch.allclose(vae_terms["loss"], vae_terms["reconstruction"] + 2.0 * vae_terms["kl"])
    net = ContrastiveNet(torch.nn.Linear(6, 3), 3, (4,)).eval()
    z = net(torch.cat([x, x]))
    assert torch.allclose(net.loss(x, x, 0.5)["loss"], nt_xent(z[:5], z[5:], 0.5))
    mae = MaskedAutoencoder(ae.encoder, ae.decoder)
    terms = mae.loss(x, mask_ratio=0.5, generator=torch.Generator().manual_seed(1), fill="zero", visible_weight=0.25)
    assert set(terms) == {"loss", "masked", "visible"}
    assert torch.allclose(terms["loss"], terms["masked"] + 0.25 * terms["visible"])
    with pytest.raises(ValueError, match="fill must be one of"):
        mae.loss(x, mask_ratio=0.5, generator=gen, fill="mean")


def test_each_loss_term_is_logged_per_epoch():
    from deepclust.methods import MaskedEmbedding, VAEEmbedding

    X = np.random.default_rng(0).random((60, 6)).astype(np.float32)
    kw = dict(latent_dim=2, hidden_dims=(8,), epochs=3, batch_size=16, precision="float32", device="cpu", random_state=0)
    vae = VAEEmbedding(**kw).fit(X)
    assert {"loss", "reconstruction", "kl", "seconds"} <= set(vae.history_) and len(vae.history_["kl"]) == 3
    mae = MaskedEmbedding(**kw).fit(X)
    assert {"loss", "masked", "visible"} <= set(mae.history_) and len(mae.history_["masked"]) == 3


# -- the shared base ----------------------------------------------------------------------------------
def _tiny_estimators():
    from deepclust.methods import AutoencoderEmbedding, ContrastiveEmbedding, MaskedEmbedding, VAEEmbedding

    kw = dict(latent_dim=2, hidden_dims=(8,), epochs=2, batch_size=16, precision="float32", device="cpu", random_state=0)
    return [AutoencoderEmbedding(**kw), VAEEmbedding(**kw), ContrastiveEmbedding(projection_dims=(4,), **kw), MaskedEmbedding(**kw)]


@pytest.mark.parametrize("est", _tiny_estimators(), ids=lambda e: type(e).__name__)
def test_every_parameter_is_declared_and_bad_values_are_named(est):
    from sklearn.utils.estimator_checks import check_param_validation

    check_param_validation(type(est).__name__, est)  # every __init__ parameter has a constraint; bad ones raise


@pytest.mark.parametrize("est", _tiny_estimators(), ids=lambda e: type(e).__name__)
def test_user_modules_train_but_are_refused_by_save_with_one_message(est, tmp_path):
    enc = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    dec = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 6))
    network = enc if type(est).__name__ == "ContrastiveEmbedding" else (enc, dec)
    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    fitted = est.set_params(network=network).fit(X)
    assert fitted.transform(X).shape == (40, 2)
    assert fitted.history_["loss"] and enc[0].weight.grad is None  # trained a copy, not the user's module
    with pytest.raises(ValueError, match=f"cannot save a {type(est).__name__} whose network is made of user-supplied torch modules"):
        fitted.save(tmp_path / "m")


@pytest.mark.parametrize("est", _tiny_estimators(), ids=lambda e: type(e).__name__)
def test_save_load_round_trip_keeps_the_old_weight_keys(est, tmp_path):
    from safetensors.numpy import load_file

    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    est.fit(X)
    loaded = type(est).load(est.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    prefix = {"AutoencoderEmbedding": "autoencoder", "MaskedEmbedding": "autoencoder", "VAEEmbedding": "vae", "ContrastiveEmbedding": "net"}[type(est).__name__]
    assert all(k.startswith(prefix + "/") for k in load_file(str(tmp_path / "m" / "arrays.safetensors")))


def test_masked_embedding_streams_a_file(tmp_path):
    from deepclust.methods import MaskedEmbedding

    X = np.random.default_rng(0).standard_normal((200, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    kw = dict(latent_dim=2, hidden_dims=(8,), epochs=2, batch_size=50, precision="float32", device="cpu", random_state=0)
    # zero fill draws nothing from the data, so one window of blocks trains exactly as memory does
    mem, disk = MaskedEmbedding(mask_fill="zero", **kw).fit(X), MaskedEmbedding(mask_fill="zero", **kw).fit(str(tmp_path / "x.npy"))
    assert mem.history_["loss"] == disk.history_["loss"]
    np.testing.assert_array_equal(disk.transform(str(tmp_path / "x.npy")), mem.transform(X))
    # marginal fill draws from the minibatch when the data stay on disk
    streamed = MaskedEmbedding(**kw).fit(str(tmp_path / "x.npy"))
    assert np.isfinite(streamed.transform(X)).all() and len(streamed.history_["masked"]) == 2
