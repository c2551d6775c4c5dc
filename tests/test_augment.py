"""Training-time augmentation of tabular minibatches (noise, mixup, marginal resampling)."""

import numpy as np
import pytest
import torch

from deepclust.methods import AutoencoderEmbedding, build_method
from deepclust.nn.cohort_augment import TabularAugmenter
from deepclust.preprocess.augment_text import check_augment, parse_augment


def test_spec_checks():
    assert check_augment(None) is None
    assert check_augment({"noise": 0}) is None  # everything off
    assert check_augment("noise=0.1,mixup=0.2") == {"noise": 0.1, "mixup": 0.2, "marginal": 0.0}
    assert parse_augment("marginal=0.3") == {"marginal": 0.3}
    with pytest.raises(ValueError, match="did you mean 'noise'"):
        check_augment({"nosie": 0.1})
    with pytest.raises(ValueError, match="non-negative"):
        check_augment({"mixup": -1})
    with pytest.raises(ValueError, match="below 1"):
        check_augment({"marginal": 1.0})
    with pytest.raises(ValueError, match="key=value"):
        parse_augment("noise")


def _data():
    # column j holds values in [100 j, 100 j + 1): a drawn value shows which column it came from
    rng = np.random.default_rng(0)
    return torch.from_numpy((np.arange(5)[None, :] * 100 + rng.random((200, 5))).astype(np.float32))


def test_mixup_targets_are_convex_combinations_of_two_batch_rows():
    X = _data()
    batch = X[:32]
    x_in, target = TabularAugmenter(check_augment({"mixup": 0.4}), X, seed=0)(batch)
    assert torch.equal(x_in, target)  # mixup alone corrupts nothing
    # every mixed row lies on the segment between its own row and one other row of the batch
    for i in range(32):
        d = batch - batch[i]  # (B, d)
        t = target[i] - batch[i]
        lam = (d @ t) / (d * d).sum(1).clamp_min(1e-12)
        resid = (t[None, :] - lam[:, None] * d).norm(dim=1)
        assert float(resid.min()) < 1e-4
    assert not torch.allclose(target, batch)


def test_marginal_draws_each_entry_from_its_own_column():
    X = _data()
    batch = X[:64]
    x_in, target = TabularAugmenter(check_augment({"marginal": 0.3}), X, seed=1)(batch)
    assert torch.equal(target, batch)
    changed = x_in != batch
    assert 0.2 < changed.float().mean() < 0.4
    cols = (x_in // 100).long()
    assert torch.equal(cols, torch.arange(5).expand_as(cols))  # never crosses columns
    assert set(x_in[changed].tolist()) <= set(X.flatten().tolist())  # values of real samples


def test_noise_is_scaled_to_each_feature():
    rng = np.random.default_rng(2)
    X = torch.from_numpy((rng.normal(size=(5000, 2)) * [1.0, 100.0]).astype(np.float32))
    x_in, target = TabularAugmenter(check_augment({"noise": 0.2}), X, seed=2)(X)
    sd = (x_in - target).std(0)
    assert sd[0] == pytest.approx(0.2, rel=0.05) and sd[1] == pytest.approx(20.0, rel=0.05)


def test_same_seed_same_batches_other_seed_other_batches():
    X = _data()
    spec = check_augment({"noise": 0.1, "mixup": 0.2, "marginal": 0.1})
    a = TabularAugmenter(spec, X, seed=5)(X[:16])
    b = TabularAugmenter(spec, X, seed=5)(X[:16])
    c = TabularAugmenter(spec, X, seed=6)(X[:16])
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def _blobs():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(120, 6)) + np.repeat(np.eye(3, 6) * 4, 40, axis=0)).astype(np.float32)


def test_autoencoder_trains_with_augmentation_reproducibly(tmp_path):
    X = _blobs()
    aug = {"noise": 0.1, "mixup": 0.3, "marginal": 0.1}
    state = torch.get_rng_state()
    kwargs = dict(latent_dim=2, hidden_dims=(32,), epochs=5, batch_size=32, precision="float32", random_state=0)
    a = AutoencoderEmbedding(augment=aug, **kwargs).fit(X)
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is untouched
    b = AutoencoderEmbedding(augment=aug, **kwargs).fit(X)
    plain = AutoencoderEmbedding(**kwargs).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not np.allclose(a.transform(X), plain.transform(X))
    assert a.history_["loss"][-1] < a.history_["loss"][0]
    again = AutoencoderEmbedding.load(a.save(tmp_path / "m"))
    assert again.augment == aug
    np.testing.assert_allclose(again.transform(X), a.transform(X), atol=1e-6)


@pytest.mark.parametrize("method", ["ae-kmeans", "n2d", "dec", "vade", "vae-kmeans"])
def test_every_deep_method_takes_augment_through_its_embedding(method):
    model = build_method(method, 3, 0, augment={"noise": 0.1}, epochs=2)
    assert model.embedding.augment == {"noise": 0.1}


def test_dec_pretrains_with_augmentation():
    X = _blobs()
    model = build_method("dec", 3, 0, augment={"mixup": 0.2}, epochs=3, hidden_dims=(16,), latent_dim=2, batch_size=32, max_iter=20)
    model.fit(X)
    assert model.labels_.shape == (120,) and "pretrain_loss" in model.history_
