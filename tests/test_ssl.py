"""Tests of the self-supervised route: augmentations, NT-Xent and SCAN losses, the contrastive
and masked embeddings, the SCAN head and Leiden clustering."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sklearn
import torch

from conftest import for_sklearn_checks, make_blobs32
from deepclust.heads import SCANHead
from deepclust.losses import nt_xent, scan_loss
from deepclust.methods import (
    AutoencoderClustering,
    ContrastiveEmbedding,
    LeidenClustering,
    MaskedEmbedding,
    RawFeatures,
    SCANClustering,
    build_method,
    load_model,
)
from deepclust.metrics import evaluate
from deepclust.nn import ImageAugment, TabularAugment, build_autoencoder, load_spec
from deepclust.nn.augment import blur, crop_affine_matrices, marginal_draws, random_mask, scarf_corrupt
from deepclust.nn.sizing import default_conv_spec, default_hidden_dims

N, D, K = 150, 6, 3


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def blobs():
    return (*make_blobs32(N, D, K), make_blobs32(20, D, K, random_state=1)[0])


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def simclr(**kw):
    params = dict(latent_dim=3, hidden_dims=(16,), projection_dims=(8,), epochs=3, batch_size=32, precision="float32", device="cpu")
    return ContrastiveEmbedding(**{**params, **kw})


def mae(**kw):
    params = dict(latent_dim=2, hidden_dims=(16,), epochs=3, batch_size=32, precision="float32", device="cpu")
    return MaskedEmbedding(**{**params, **kw})


# --- augmentations -----------------------------------------------------------------------------
def test_image_augment_keeps_shape_is_seeded_and_changes_the_image():
    x = torch.rand(5, 2 * 8 * 8)
    aug = ImageAugment((2, 8, 8))
    a, b = aug(x, gen(0)), aug(x, gen(0))
    assert a.shape == x.shape and a.dtype == torch.float32
    torch.testing.assert_close(a, b)  # same generator state, same views
    assert not torch.allclose(a, aug(x, gen(1)))
    assert not torch.allclose(a, x)


#: views that move no pixel: only the intensity jitter (on by default) is left to change an image
STILL = dict(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), degrees=0, translate=0, noise=0, blur_prob=0)


def test_identity_crop_with_nothing_else_returns_the_image():
    x = torch.rand(4, 36)
    aug = ImageAugment((1, 6, 6), **STILL, brightness=0, contrast=0)
    torch.testing.assert_close(aug(x, gen()), x, atol=1e-5, rtol=0)


def test_default_views_jitter_intensity():
    # the default since stop 32: without it Fashion-MNIST's clusters follow brightness
    x = torch.rand(400, 36) * 0.5 + 0.25
    out = ImageAugment((1, 6, 6), **STILL)(x, gen())
    means = out.mean(1) / x.mean(1)
    moved = (means - 1).abs() > 1e-4
    assert 0.7 < moved.float().mean() < 0.9  # jitter_prob 0.8
    assert 0.6 - 1e-4 <= means.min() and means.max() <= 1.4 + 1e-4


def test_intensity_jitter_scales_brightness_and_contrast_per_image():
    x = torch.rand(200, 36) + 0.1
    still = {**STILL, "jitter_prob": 1.0}
    out = ImageAugment((1, 6, 6), brightness=0.4, contrast=0, **still)(x, gen())
    factor = out / x  # one factor per image, within 1 +- 0.4, not all the same
    torch.testing.assert_close(factor, factor[:, :1].expand_as(factor))
    assert 0.6 <= factor.min() and factor.max() <= 1.4 and factor[:, 0].std() > 0.1
    out = ImageAugment((1, 6, 6), brightness=0, contrast=0.5, **still)(x, gen())
    torch.testing.assert_close(out.mean(1), x.mean(1))  # contrast keeps each image's mean
    ratio = out.std(1) / x.std(1)
    assert 0.5 - 1e-4 <= ratio.min() and ratio.max() <= 1.5 + 1e-4 and ratio.std() > 0.1
    half = ImageAugment((1, 6, 6), brightness=0.4, contrast=0, **{**still, "jitter_prob": 0.5})(x, gen())
    unchanged = torch.isclose(half, x).all(1).float().mean()
    assert 0.35 < unchanged < 0.65  # about half the images left alone
    with pytest.raises(ValueError, match="brightness and contrast"):
        ImageAugment((1, 6, 6), contrast=1.5)


def test_crop_matrices_stay_inside_the_image():
    theta = crop_affine_matrices(500, generator=gen(), scale=(0.2, 1.0))
    # corners of the output map to points inside [-1, 1]^2 without rotation or shift
    corners = torch.tensor([[-1.0, -1.0, 1.0], [1.0, 1.0, 1.0], [-1.0, 1.0, 1.0], [1.0, -1.0, 1.0]])
    mapped = torch.einsum("nij,cj->nci", theta, corners)
    assert mapped.abs().max() <= 1.0 + 1e-5
    area = theta[:, 0, 0] * theta[:, 1, 1]  # half-widths w*h = area fraction
    assert area.min() >= 0.2 - 1e-5 and area.max() <= 1.0 + 1e-5


def test_blur_preserves_a_constant_image_and_smooths_a_spike():
    flat = torch.full((2, 1, 7, 7), 0.3)
    torch.testing.assert_close(blur(flat, torch.tensor([0.5, 1.0])), flat)
    spike = torch.zeros(1, 1, 7, 9)
    spike[0, 0, 3, 4] = 1.0
    out = blur(spike, torch.tensor([1.0]))
    assert out.shape == spike.shape
    # away from the border the weights are the normalised Gaussian: neighbour / centre = e^(-1/2)
    assert float(out[0, 0, 3, 5] / out[0, 0, 3, 4]) == pytest.approx(math.exp(-0.5), rel=1e-3)  # up to the border renormalisation
    assert float(out[0, 0, 3, 4]) < 0.5 and float(out.sum()) == pytest.approx(1.0, abs=0.02)
    sharp = blur(spike, torch.tensor([0.01]))
    torch.testing.assert_close(sharp, spike)  # tiny sigma: no change


def test_scarf_corruption_draws_from_each_features_marginal():
    ref = torch.stack([torch.zeros(50), torch.full((50,), 7.0), torch.arange(50.0)], dim=1)  # (50, 3)
    x = torch.full((200, 3), -1.0)
    out = scarf_corrupt(x, ref, 0.5, gen())
    changed = out != -1
    assert 0.35 < changed.float().mean() < 0.65
    assert (out[:, 0][changed[:, 0]] == 0).all() and (out[:, 1][changed[:, 1]] == 7).all()
    assert set(out[:, 2][changed[:, 2]].tolist()) <= set(range(50))
    draws = marginal_draws(ref, (4, 3), gen())
    assert draws.shape == (4, 3) and (draws[:, 1] == 7).all()


def test_tabular_augment_is_seeded_and_needs_a_reference_for_corruption():
    X = torch.randn(40, 5)
    aug = TabularAugment(corruption=0.3, noise=0.1, mask=0.2)
    a = aug(X[:8], gen(3), reference=X)
    torch.testing.assert_close(a, aug(X[:8], gen(3), reference=X))
    assert a.shape == (8, 5)
    with pytest.raises(ValueError, match="reference"):
        aug(X[:8], gen())
    with pytest.raises(ValueError, match="corruption"):
        TabularAugment(corruption=1.5)


def test_random_mask_hides_at_least_one_feature_per_row():
    m = random_mask((100, 4), 0.01, gen())
    assert m.dtype == torch.bool and m.any(dim=1).all()


# --- losses -------------------------------------------------------------------------------------
def test_nt_xent_hand_computed_two_pairs():
    # Orthogonal samples, identical views: each anchor has cosine 1 with its positive and 0 with
    # its two negatives, so the loss is -log(e^(1/t) / (e^(1/t) + 2)).
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    for t in (1.0, 0.5):
        expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2))
        assert float(nt_xent(z, 3 * z, t)) == pytest.approx(expected, rel=1e-6)  # lengths do not matter
    # swapping the positives makes each positive a negative: a larger loss
    assert float(nt_xent(z, z.flip(0), 1.0)) > float(nt_xent(z, z, 1.0))


def test_nt_xent_against_an_explicit_sum():
    z1, z2 = torch.randn(3, 4, generator=gen(1)), torch.randn(3, 4, generator=gen(2))
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    s = (z @ z.T) / 0.5
    total = 0.0
    for a in range(6):
        p = (a + 3) % 6
        denom = sum(math.exp(s[a, b]) for b in range(6) if b != a)
        total += -math.log(math.exp(s[a, p]) / denom)
    assert float(nt_xent(z1, z2, 0.5)) == pytest.approx(total / 6, rel=1e-5)


def test_scan_loss_toy_cases():
    big = 30.0
    agree = torch.tensor([[big, -big], [-big, big]])
    out = scan_loss(agree, agree, entropy_weight=2.0)
    assert float(out["consistency"]) == pytest.approx(0.0, abs=1e-6)
    assert float(out["entropy"]) == pytest.approx(math.log(2), rel=1e-6)
    assert float(out["loss"]) == pytest.approx(-2 * math.log(2), rel=1e-6)
    # uniform predictions: <p, q> = 1/2 for every pair
    uniform = torch.zeros(4, 2)
    assert float(scan_loss(uniform, uniform)["consistency"]) == pytest.approx(math.log(2), rel=1e-6)
    # everything in one cluster: consistent but zero entropy
    one = torch.tensor([[big, -big]] * 2)
    assert float(scan_loss(one, one)["entropy"]) == pytest.approx(0.0, abs=1e-6)


def test_scan_head_starts_from_kmeans():
    z = torch.tensor([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0], [5.0, 5.2]])
    head = SCANHead(n_clusters=2, latent_dim=2)
    labels = head.init_from_embedding(z, np.random.default_rng(0))
    np.testing.assert_array_equal(head.predict(z).numpy(), labels.numpy())
    assert head.soft_assign(z).max(dim=1).values.min() > 0.9  # well-separated: confident


# --- estimators ---------------------------------------------------------------------------------
def test_contrastive_embedding_tabular_and_image(blobs):
    X, y, X_new = blobs
    model = simclr(random_state=0).fit(X)
    Z = model.transform(X_new)
    assert Z.shape == (20, 3) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-5)  # normalize=True
    assert len(model.history_["loss"]) == 3
    np.testing.assert_array_equal(model.transform(X), simclr(random_state=0).fit(X).transform(X))
    imgs = np.random.default_rng(0).random((40, 64)).astype(np.float32)
    m = simclr(input_shape=(1, 8, 8), epochs=1, random_state=0).fit(imgs)
    assert m.transform(imgs).shape == (40, 3)
    with pytest.raises(ValueError, match="input_shape"):
        simclr(input_shape=(1, 7, 7)).fit(imgs)
    with pytest.raises(ValueError, match="augment options"):
        simclr(augment={"crop": 1}).fit(X)


def test_contrastive_embedding_auto_widths_on_a_table(blobs):
    # hidden_dims="auto" (the default) is the width rule of nn.sizing, as for the autoencoders
    X, _, _ = blobs
    model = ContrastiveEmbedding(latent_dim=3, projection_dims=(8,), epochs=1, batch_size=64, precision="float32", device="cpu", random_state=0).fit(X)
    assert model._arch["type"] == "mlp" and model._arch["hidden_dims"] == list(default_hidden_dims(D, len(X)))


def _modules(model):
    return {type(m) for m in model.net_.encoder.modules()}


def _conv_simclr(**kw):  # the default encoder (hidden_dims="auto") with a tiny budget
    params = dict(latent_dim=5, projection_dims=(8,), steps=2, batch_size=16, precision="float32", device="cpu", random_state=0)
    return ContrastiveEmbedding(**{**params, **kw})


def test_images_get_the_default_conv_encoder_and_save_it(tmp_path):
    imgs = np.random.default_rng(0).random((32, 64)).astype(np.float32)  # 8x8 images, one channel
    model = _conv_simclr(input_shape=(1, 8, 8)).fit(imgs)
    assert {torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.ReLU} <= _modules(model) and torch.nn.BatchNorm1d not in _modules(model)
    arch = model._arch
    assert arch["type"] == "spec" and arch["spec"]["name"] == "default-conv" and arch["latent_dim"] == 5
    assert [layer["type"] for layer in arch["spec"]["encoder"]] == ["Conv2D", "Conv2D", "Conv2D", "Flatten", "Dense"]
    assert arch["spec"] == load_spec(default_conv_spec((1, 8, 8), 5))  # the rule, recorded as it was resolved
    Z = model.transform(imgs)
    assert Z.shape == (32, 5)
    again = load_model(model.save(tmp_path / "m"))
    assert again._arch == arch and _modules(again) == _modules(model)
    np.testing.assert_array_equal(again.transform(imgs), Z)
    np.testing.assert_array_equal(_conv_simclr(input_shape=(1, 8, 8)).fit(imgs).transform(imgs), Z)  # same seed, same codes


def test_conv_default_only_for_auto_widths_on_images(blobs):
    X, _, _ = blobs
    imgs = np.random.default_rng(0).random((32, 64)).astype(np.float32)
    table = _conv_simclr().fit(X)
    assert table._arch["type"] == "mlp" and torch.nn.Conv2d not in _modules(table)
    asked = _conv_simclr(input_shape=(1, 8, 8), hidden_dims=(16,)).fit(imgs)  # the user asked for an MLP
    assert asked._arch["type"] == "mlp" and asked._arch["hidden_dims"] == [16] and torch.nn.Conv2d not in _modules(asked)
    plain = _conv_simclr(input_shape=(1, 8, 8), batch_norm=False).fit(imgs)
    assert torch.nn.Conv2d in _modules(plain) and torch.nn.BatchNorm2d not in _modules(plain)


def test_conv_default_trains_under_bf16_autocast():
    imgs = np.random.default_rng(0).random((24, 3 * 28 * 28)).astype(np.float32)  # 28x28 colour images
    model = _conv_simclr(input_shape=(3, 28, 28), precision="bf16").fit(imgs)
    Z = model.transform(imgs)
    assert Z.dtype == np.float32 and np.isfinite(Z).all() and np.isfinite(model.history_["loss"]).all()
    assert [layer.get("filters") for layer in model._arch["spec"]["encoder"][:3]] == [32, 64, 128]


@pytest.mark.parametrize(
    ("shape", "widths", "flat"),
    [((1, 28, 28), [32, 64, 128], 128 * 4 * 4), ((1, 16, 16), [32, 64, 128], 128 * 2 * 2), ((1, 2, 3), [32, 64, 128], 128),
     ((3, 64, 64), [32, 64, 128], 128 * 8 * 8), ((3, 96, 96), [32, 64, 128, 256], 256 * 6 * 6), ((3, 224, 224), [32, 64, 128, 256, 256], 256 * 7 * 7)],
)
def test_default_conv_rule(shape, widths, flat):
    spec = default_conv_spec(shape, 7)
    assert [layer["filters"] for layer in spec["encoder"] if layer["type"] == "Conv2D"] == widths
    encoder = build_autoencoder(spec, int(np.prod(shape))).encoder
    linear = [m for m in encoder if isinstance(m, torch.nn.Linear)]
    assert len(linear) == 1 and linear[0].in_features == flat and linear[0].out_features == 7
    assert encoder(torch.zeros(2, int(np.prod(shape)))).shape == (2, 7)
    with pytest.raises(ValueError, match="input_shape"):
        default_conv_spec((28, 28), 7)


def test_contrastive_embedding_with_a_conv_spec(tmp_path):
    spec = {"input_shape": [1, 8, 8], "encoder": [{"type": "Conv2D", "filters": 4, "kernel": 3, "stride": 2}, {"type": "Flatten"}, {"type": "Dense", "units": 5}]}
    imgs = np.random.default_rng(0).random((32, 64)).astype(np.float32)
    model = simclr(network=spec, epochs=1, random_state=0).fit(imgs)  # image views from the spec's shape
    assert model.transform(imgs).shape == (32, 5)
    again = ContrastiveEmbedding.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(again.transform(imgs), model.transform(imgs))


def test_contrastive_embedding_with_an_input_layer_spec(tmp_path):
    # a spec whose shape comes from an Input layer: load_spec writes input_shape=None, which
    # must read back (the saved model rebuilds the network from the normalised spec)
    spec = {"encoder": [{"type": "Input", "shape": [1, 8, 8]}, {"type": "Conv2D", "filters": 2, "kernel": 3, "stride": 2}, {"type": "Dense", "units": 3}]}
    imgs = np.random.default_rng(1).random((16, 64)).astype(np.float32)
    model = simclr(network=spec, epochs=1, batch_size=8, random_state=0).fit(imgs)
    again = ContrastiveEmbedding.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(again.transform(imgs), model.transform(imgs))


def test_contrastive_learns_blob_structure(blobs):
    X, y, _ = blobs
    model = AutoencoderClustering(K, embedding=simclr(epochs=40, lr=1e-2), random_state=0).fit(X)
    assert evaluate(model.labels_, y_true=y)["ari"] > 0.9


def test_masked_embedding_fits_and_reconstructs_masked_features():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((300, 1)).astype(np.float32)
    X = np.hstack([base, base, base, base]) + 0.05 * rng.standard_normal((300, 4)).astype(np.float32)
    model = mae(latent_dim=1, epochs=40, mask_ratio=0.25, random_state=0).fit(X)
    hist = model.history_
    assert hist["masked"][-1] < 0.5 * hist["masked"][0]  # learns to fill in a hidden copy
    assert model.transform(X).shape == (300, 1)
    with pytest.raises(ValueError, match="mask_fill"):
        mae(mask_fill="noise").fit(X)


def test_scan_clustering_on_blobs(blobs):
    X, y, X_new = blobs
    model = SCANClustering(K, embedding=RawFeatures(), epochs=10, self_label_epochs=2, confidence=0.9, random_state=0).fit(X)
    assert evaluate(model.labels_, y_true=y)["ari"] > 0.95
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    P = model.predict_proba(X_new)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-5)
    assert model.neighbors_.shape == (N, 20) and not (model.neighbors_ == np.arange(N)[:, None]).any()
    assert "scan" in model.history_ and "self_label" in model.history_
    again = SCANClustering(K, embedding=RawFeatures(), epochs=10, self_label_epochs=2, confidence=0.9, random_state=0).fit_predict(X)
    np.testing.assert_array_equal(again, model.labels_)


@pytest.mark.slow  # UMAP's graph weights compile numba code (about 20 s) on first use
def test_leiden_with_umap_weights_finds_blobs(blobs):
    X, y, _ = blobs
    model = LeidenClustering(n_clusters=K, connectivity="umap", random_state=0).fit(X)
    assert model.n_clusters_ == K and evaluate(model.labels_, y_true=y)["ari"] > 0.95


def test_leiden_finds_blobs_and_labels_new_points(blobs):
    X, y, X_new = blobs
    model = LeidenClustering(n_clusters=K, connectivity="binary", random_state=0).fit(X)
    assert model.n_clusters_ == K and model.resolution_ > 0
    assert evaluate(model.labels_, y_true=y)["ari"] > 0.95
    np.testing.assert_array_equal(model.predict(X), model.labels_)  # exact matches keep their label
    assert set(model.predict(X_new)) <= set(range(K))
    free = LeidenClustering(resolution=1.0, connectivity="binary", random_state=0).fit(X)
    assert free.n_clusters_ >= K  # no target: as many as the resolution gives
    with pytest.raises(ValueError, match="connectivity"):
        LeidenClustering(connectivity="knn").fit(X)


@pytest.mark.parametrize(
    "make",
    [
        lambda: simclr(random_state=0),
        lambda: mae(random_state=0),
        lambda: SCANClustering(K, embedding=simclr(), epochs=2, self_label_epochs=1, confidence=0.5, random_state=0),
        lambda: LeidenClustering(K, connectivity="binary", embedding=mae(), random_state=0),
    ],
    ids=["simclr", "mae", "scan", "leiden"],
)
def test_save_load_round_trip(make, blobs, tmp_path):
    X, _, X_new = blobs
    model = make().fit(X)
    loaded = load_model(model.save(tmp_path / "m"))
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.transform(X_new), model.transform(X_new))
    if hasattr(model, "labels_"):
        np.testing.assert_array_equal(loaded.labels_, model.labels_)
        np.testing.assert_array_equal(loaded.predict(X_new), model.predict(X_new))
    assert not list(tmp_path.rglob("*.pkl"))


def test_same_seed_same_labels_and_global_rng_untouched(blobs):
    X, _, _ = blobs
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    a = SCANClustering(K, embedding=simclr(), epochs=2, random_state=5).fit_predict(X)
    b = SCANClustering(K, embedding=simclr(), epochs=2, random_state=5).fit_predict(X)
    np.testing.assert_array_equal(a, b)
    m1, m2 = mae(random_state=1).fit(X).transform(X), mae(random_state=1).fit(X).transform(X)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_registry_builds_the_ssl_methods():
    m = build_method("simclr-scan", 4, 0, epochs=7, image_shape=(1, 28, 28))
    assert isinstance(m, SCANClustering) and m.epochs == 7 and m.embedding.input_shape == [1, 28, 28]
    m = build_method("simclr-kmeans", 4, 0, embedding={"epochs": 3}, temperature=0.2)
    assert isinstance(m.embedding, ContrastiveEmbedding) and m.embedding.epochs == 3 and m.embedding.temperature == 0.2
    assert isinstance(build_method("mae-gmm", 4, 0, mask_ratio=0.5).embedding, MaskedEmbedding)
    leiden = build_method("leiden", 4, 0, resolution=0.5, epochs=3)  # autoencoder flags do not apply
    assert isinstance(leiden, LeidenClustering) and leiden.n_clusters == 4 and leiden.resolution == 0.5


def test_bad_parameters_are_named(blobs):
    X, _, _ = blobs
    for bad, match in [
        (simclr(temperature=0), "temperature"),
        (simclr(batch_size=1), "batch_size"),
        (mae(mask_ratio=1.0), "mask_ratio"),
        (SCANClustering(K, embedding=RawFeatures(), confidence=1.5), "confidence"),
        (SCANClustering(K, embedding=RawFeatures(), n_neighbors=0), "n_neighbors"),
        (LeidenClustering(resolution=-1), "resolution"),
    ]:
        with pytest.raises(ValueError, match=match):
            bad.fit(X)


# --- scikit-learn estimator checks ----------------------------------------------------------------
def _estimators():
    tiny = dict(hidden_dims=(8,), latent_dim=2, epochs=2)
    return [
        ContrastiveEmbedding(projection_dims=(4,), **tiny),
        MaskedEmbedding(**tiny),
        SCANClustering(2, embedding=RawFeatures(), epochs=2, self_label_epochs=1),
        LeidenClustering(2, n_neighbors=5, connectivity="binary"),
    ]


if tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 6):
    from sklearn.utils.estimator_checks import parametrize_with_checks

    @parametrize_with_checks(for_sklearn_checks(_estimators()))  # n_clusters=1 -> 2: see conftest
    def test_sklearn_compatible_estimator(estimator, check):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check(estimator)
