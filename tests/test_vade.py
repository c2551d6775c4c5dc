"""VAE, GMM prior and VaDE: hand-computed maths, tiny fits on separated blobs, reproducibility,
sampling and save/load."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from conftest import for_sklearn_checks, make_blobs32, tiny_autoencoder
from deepclust.heads.gmm_prior import GMMPrior, vade_loss
from deepclust.methods import AutoencoderEmbedding
from deepclust.methods.vade import VaDE
from deepclust.methods.vae import VAEClustering, VAEEmbedding
from deepclust.metrics import cluster_accuracy
from deepclust.nn import mlp_autoencoder
from deepclust.nn.vae import elbo_loss, gaussian_kl, mlp_vae, vae_from_autoencoder

N, D, K, LATENT = 300, 10, 3, 3


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def blobs():
    return make_blobs32(N, D, K)


def ae(**kw) -> AutoencoderEmbedding:
    return tiny_autoencoder(**{"hidden_dims": (32,), "latent_dim": LATENT, "epochs": 20, **kw})


def vade(**kw) -> VaDE:
    params = dict(embedding=ae(), epochs=10, batch_size=32, recon="mse", random_state=0)
    return VaDE(K, **{**params, **kw})


def vae_emb(**kw) -> VAEEmbedding:
    params = dict(hidden_dims=(16,), latent_dim=LATENT, epochs=20, batch_size=32, precision="float32", device="cpu")
    return VAEEmbedding(**{**params, **kw})


@pytest.fixture(scope="module")
def fitted(blobs):
    X, _ = blobs
    return vade().fit(X)


# -- maths ----------------------------------------------------------------------------------
def test_gaussian_kl_by_hand():
    assert gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).tolist() == [0.0, 0.0]
    # 1-D: KL(N(1, 2) || N(0, 1)) = (2 + 1 - 1 - ln 2) / 2
    kl = gaussian_kl(torch.tensor([[1.0]]), torch.tensor([[math.log(2.0)]]))
    assert kl.item() == pytest.approx((2.0 + 1.0 - 1.0 - math.log(2.0)) / 2.0, rel=1e-6)
    # sums over dimensions
    kl2 = gaussian_kl(torch.tensor([[1.0, 0.0]]), torch.tensor([[math.log(2.0), 0.0]]))
    assert kl2.item() == pytest.approx(kl.item(), rel=1e-6)


def test_elbo_loss_parts():
    x = torch.tensor([[1.0, 0.0]])
    out = elbo_loss(x, torch.tensor([[0.0, 0.0]]), torch.zeros(1, 2), torch.zeros(1, 2), recon="mse")
    assert out["reconstruction"].item() == pytest.approx(1.0) and out["kl"].item() == 0.0
    out = elbo_loss(x, torch.zeros(1, 2), torch.ones(1, 2), torch.zeros(1, 2), recon="bce", beta=2.0)
    assert out["reconstruction"].item() == pytest.approx(2 * math.log(2.0), rel=1e-6)  # logits 0 -> p = 1/2
    assert out["loss"].item() == pytest.approx(2 * math.log(2.0) + 2.0 * 1.0, rel=1e-6)  # KL = 2 * 1/2
    with pytest.raises(ValueError, match="recon"):
        elbo_loss(x, x, torch.zeros(1, 2), torch.zeros(1, 2), recon="l1")


def _prior_1d() -> GMMPrior:
    prior = GMMPrior(2, 1)
    with torch.no_grad():
        prior.pi_logits.copy_(torch.log(torch.tensor([0.25, 0.75])))
        prior.means.copy_(torch.tensor([[0.0], [2.0]]))
        prior.log_vars.copy_(torch.log(torch.tensor([[1.0], [4.0]])))
    return prior


def test_soft_assign_by_hand():
    prior = _prior_1d()

    def normal_pdf(z, m, v):
        return math.exp(-((z - m) ** 2) / (2 * v)) / math.sqrt(2 * math.pi * v)

    a, b = 0.25 * normal_pdf(1.0, 0.0, 1.0), 0.75 * normal_pdf(1.0, 2.0, 4.0)
    gamma = prior.soft_assign(torch.tensor([[1.0]])).detach()
    np.testing.assert_allclose(gamma.numpy(), [[a / (a + b), b / (a + b)]], rtol=1e-5)
    z = torch.linspace(-50, 50, 11)[:, None]  # far-away points must not underflow to NaN
    g = prior.soft_assign(z).detach()
    assert torch.isfinite(g).all()
    np.testing.assert_allclose(g.sum(1).numpy(), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(prior.predict(z).numpy(), g.argmax(1).numpy())
    np.testing.assert_allclose(prior.weights.detach().numpy(), [0.25, 0.75], rtol=1e-6)


def test_prior_loss_is_the_kl_of_the_paper():
    prior = _prior_1d()
    mu, logvar = torch.tensor([[0.5], [1.5]]), torch.tensor([[-1.0], [0.3]])
    # E_q[log q(z, c|x) - log p(z, c)] = sum_c g_c [KL(q(z|x) || p(z|c)) + log(g_c / pi_c)], g = p(c|mu)
    g = prior.soft_assign(mu).detach()
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    expected = torch.zeros(2)
    for c in range(2):
        p_c = torch.distributions.Normal(prior.means[c].detach(), torch.exp(0.5 * prior.log_vars[c].detach()))
        kl_c = torch.distributions.kl_divergence(q, p_c).sum(1)
        expected += g[:, c] * (kl_c + torch.log(g[:, c] / prior.weights[c].detach()))
    np.testing.assert_allclose(prior.loss(mu, logvar).detach().numpy(), expected.numpy(), rtol=1e-5)
    # one component at N(0, I): the ordinary VAE KL
    one = GMMPrior(1, 3)
    mu3, lv3 = torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), torch.full((4, 3), -0.5)
    np.testing.assert_allclose(one.loss(mu3, lv3).detach().numpy(), gaussian_kl(mu3, lv3).numpy(), rtol=1e-5, atol=1e-6)


def test_vade_loss_finite_and_decreasing(blobs):
    X, _ = blobs
    x = torch.from_numpy((X - X.mean(0)) / X.std(0))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        vae = mlp_vae(D, (16,), LATENT)
        prior = GMMPrior(K, LATENT)
        with torch.no_grad():
            prior.init_from_embedding(vae.encode(x)[0], np.random.default_rng(0))
        opt = torch.optim.Adam([*vae.parameters(), *prior.parameters()], lr=5e-3)
        losses = []
        for _ in range(40):
            x_hat, mu, logvar, z = vae(x)
            out = vade_loss(x, x_hat, mu, logvar, prior, z=z, recon="mse")
            assert all(torch.isfinite(v) for v in out.values())
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
            losses.append(out["loss"].item())
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_vae_from_autoencoder_copies_the_pretrained_weights():
    base = mlp_autoencoder(6, (8,), 2)
    vae = vae_from_autoencoder(base)
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(vae.encode(x)[0], base.encode(x))
    torch.testing.assert_close(vae.decode(base.encode(x)), base(x))
    assert torch.all(vae.encode(x)[1] == 0)  # fresh log-variance layer: zero
    assert set(vae.state_dict()) == set(mlp_vae(6, (8,), 2).state_dict())  # saved as mlp_vae


# -- VAE estimators -------------------------------------------------------------------------
def test_vae_embedding_shapes_and_save(blobs, tmp_path):
    X, _ = blobs
    emb = vae_emb(random_state=0).fit(X)
    Z = emb.transform(X)
    assert Z.shape == (N, LATENT) and Z.dtype == np.float32
    assert emb.inverse_transform(Z).shape == (N, D) and emb.reconstruct(X[:7]).shape == (7, D)
    s = emb.sample(11, random_state=0)
    assert s.shape == (11, D)
    np.testing.assert_array_equal(s, emb.sample(11, random_state=0))
    assert {"loss", "reconstruction", "kl"} <= set(emb.history_) and len(emb.history_["loss"]) == 20
    loaded = VAEEmbedding.load(emb.save(tmp_path / "vae"))
    np.testing.assert_array_equal(loaded.transform(X), Z)
    np.testing.assert_array_equal(vae_emb(random_state=0).fit_transform(X), Z)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vae_emb(recon="bce").fit(X)
    Xb = (X - X.min()) / (X.max() - X.min())
    bern = vae_emb(recon="bce", epochs=2, random_state=0).fit(Xb)
    r = bern.reconstruct(Xb)
    assert r.min() >= 0.0 and r.max() <= 1.0  # Bernoulli means


def test_vae_clustering_recovers_blobs(blobs, tmp_path):
    X, y = blobs
    model = VAEClustering(K, embedding=vae_emb(), random_state=0).fit(X)
    assert cluster_accuracy(y, model.labels_) >= 0.9
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    path = model.save(tmp_path / "vaec")
    np.testing.assert_array_equal(VAEClustering.load(path).predict(X), model.labels_)
    # warm start from a saved VAE embedding
    warm = VAEClustering(K, embedding=str(path / ".." / "vaec"), random_state=0)
    with pytest.raises(ValueError, match="not a pretrained embedding"):
        warm.fit(X)
    emb_path = model.embedding_.save(tmp_path / "vemb")
    again = VAEClustering(K, embedding=emb_path, random_state=0).fit(X)
    np.testing.assert_array_equal(again.labels_, model.labels_)


# -- the Bernoulli autoencoder VaDE pretrains ---------------------------------------------------
def test_reconstruction_bce_by_hand():
    from deepclust.losses import reconstruction_bce

    # logits 0 -> p = 1/2 for every one of 3 features: 3 log 2 per sample, whatever the targets
    assert reconstruction_bce(torch.zeros(4, 3), torch.ones(4, 3)).item() == pytest.approx(3 * math.log(2.0), rel=1e-6)
    # summed over features, averaged over the batch: one sample with cost 2 log 2, one with 0 (big logits)
    logits = torch.tensor([[0.0, 0.0], [50.0, -50.0]])
    assert reconstruction_bce(logits, torch.tensor([[1.0, 0.0], [1.0, 0.0]])).item() == pytest.approx(math.log(2.0), rel=1e-6)


def test_autoencoder_embedding_bernoulli_trains_reconstructs_and_saves(tmp_path):
    X = np.random.default_rng(0).random((60, D)).astype(np.float32)
    e = ae(recon="bce", epochs=2, random_state=0).fit(X)
    net = e.autoencoder_
    assert net.output == "bernoulli" and e._arch["output"] == "bernoulli"
    x = torch.from_numpy(X)
    with torch.no_grad():
        logits = net(x)
        expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / X.shape[0]
        assert net.loss(x)["loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    r = e.reconstruct(X)
    np.testing.assert_allclose(r, torch.sigmoid(logits).numpy(), rtol=1e-5, atol=1e-6)  # probabilities, not logits
    loaded = AutoencoderEmbedding.load(e.save(tmp_path / "ae"))
    assert loaded.recon == "bce" and loaded.autoencoder_.output == "bernoulli"
    np.testing.assert_array_equal(loaded.reconstruct(X), r)
    np.testing.assert_array_equal(loaded.transform(X), e.transform(X))
    # an architecture saved before recon existed is a squared-error autoencoder
    assert AutoencoderEmbedding._build({"type": "mlp", "n_features": D, "hidden_dims": [4], "latent_dim": 2}).output == "linear"
    assert ae(epochs=1, random_state=0).fit(X).autoencoder_.output == "linear"  # the default
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae(recon="bce", epochs=1).fit(X * 2)
    with pytest.raises(ValueError, match="recon"):
        ae(recon="l1", epochs=1).fit(X)


# -- VaDE -----------------------------------------------------------------------------------
def test_vade_recovers_blobs(fitted, blobs):
    X, y = blobs
    assert cluster_accuracy(y, fitted.labels_) >= 0.9
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    proba = fitted.predict_proba(X)
    assert proba.shape == (N, K)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(proba.argmax(1), fitted.labels_)
    Z = fitted.transform(X)
    assert Z.shape == (N, LATENT) and Z.dtype == np.float32
    assert fitted.cluster_centers_.shape == (K, LATENT)
    h = fitted.history_
    assert len(h["loss"]) == 10 and all(np.isfinite(h["loss"]))
    assert len(h["cluster_sizes"]) == 10 and all(sum(s) == N for s in h["cluster_sizes"])
    assert h["lr"][0] == pytest.approx(2e-4) and "pretrain_loss" in h
    assert cluster_accuracy(y, fitted.init_labels_) >= 0.9 and fitted.stop_reason_ == "completed 10 epochs"  # the start it kept


def test_vade_lr_step_decay_stops_at_the_floor(blobs):
    X, _ = blobs
    m = vade(epochs=6, lr=2e-3, decay_every=2, lr_decay=0.5, min_lr=6e-4, embedding=ae(epochs=2)).fit(X)
    np.testing.assert_allclose(m.history_["lr"], [2e-3, 2e-3, 1e-3, 1e-3, 6e-4, 6e-4])  # 5e-4 floored
    assert min(m.history_["lr"]) >= 6e-4
    # the rate actually used is the one logged (not only the log): read back from the optimiser
    from deepclust.methods.vade import StepDecay

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    decay = StepDecay(opt, 1.0, 1, 0.1, min_lr=0.05)
    assert [decay.rate(e) for e in range(4)] == pytest.approx([1.0, 0.1, 0.05, 0.05])
    assert StepDecay(opt, 1e-4, 1, 0.5, min_lr=2e-4).rate(0) == pytest.approx(1e-4)  # the floor never raises lr


def test_vade_logs_acc_free_diagnostics_per_epoch(fitted):
    h = fitted.history_
    for key in ("loss", "reconstruction", "kl", "lr", "posterior_logvar", "prior_logvar", "pi_min", "label_change", "cluster_sizes", "min_cluster_size"):
        assert len(h[key]) == 10, key
    assert all(0.0 <= c <= 1.0 for c in h["label_change"])
    assert all(0.0 < p <= 1.0 / K + 1e-6 for p in h["pi_min"])
    assert all(np.isfinite(h["posterior_logvar"])) and all(np.isfinite(h["prior_logvar"]))


def test_vade_prior_starts_from_the_best_of_gmm_n_init_starts(blobs, monkeypatch):
    from deepclust.methods._clusterers import GMM_N_INIT

    starts, init = [], GMMPrior.init_from_embedding

    def spy(self, z, rng, n_init=1):
        starts.append(n_init)
        return init(self, z, rng, n_init)

    monkeypatch.setattr(GMMPrior, "init_from_embedding", spy)
    X, _ = blobs
    vade(epochs=1, embedding=ae(epochs=2), init="gmm").fit(X)
    assert starts == [GMM_N_INIT] and GMM_N_INIT > 1  # one start kept a poor optimum (exposures, seed 1: 0.79 vs 0.98)


def test_prior_init_from_labels_is_each_clusters_moments():
    z = torch.tensor([[0.0, 1.0], [2.0, 3.0], [10.0, 10.0], [12.0, 10.0], [14.0, 13.0]])
    labels = np.array([0, 0, 1, 1, 1])
    prior = GMMPrior(2, 2)
    out = prior.init_from_labels(z, labels)
    np.testing.assert_array_equal(out.numpy(), labels)
    np.testing.assert_allclose(prior.weights.detach().numpy(), [0.4, 0.6], rtol=1e-6)
    np.testing.assert_allclose(prior.means.detach().numpy(), [[1.0, 2.0], [12.0, 11.0]], rtol=1e-6)
    np.testing.assert_allclose(prior.log_vars.detach().exp().numpy(), [[1.0, 1.0], [8 / 3, 2.0]], rtol=1e-5)  # population variances
    with pytest.raises(ValueError, match="empty"):
        GMMPrior(3, 2).init_from_labels(z, labels)
    with pytest.raises(ValueError, match="entries"):
        prior.init_from_labels(z, labels[:3])


def test_vade_manifold_start_is_n2ds_partition_of_the_codes(blobs, monkeypatch):
    import deepclust.methods.vade as vade_module

    X, y = blobs
    seen = {}
    partition = vade_module.manifold_partition

    def spy(Z, k, seed):
        seen["labels"] = partition(Z, k, seed)
        seen["codes"] = Z
        return seen["labels"]

    monkeypatch.setattr(vade_module, "manifold_partition", spy)
    m = vade(init="manifold").fit(X)
    np.testing.assert_array_equal(m.init_labels_, seen["labels"])  # the start is the manifold step's labels
    assert cluster_accuracy(y, m.init_labels_) >= 0.9 and cluster_accuracy(y, m.labels_) >= 0.9
    again = vade(init="manifold").fit(X)
    np.testing.assert_array_equal(again.labels_, m.labels_)  # same seed, same labels
    with pytest.raises(ValueError, match="init"):
        vade(init="kmeans").fit(X)


def test_vade_manifold_start_falls_back_when_a_component_is_empty(blobs, monkeypatch):
    import deepclust.methods.vade as vade_module

    X, _ = blobs
    monkeypatch.setattr(vade_module, "manifold_partition", lambda Z, k, seed: np.zeros(len(Z), dtype=np.int64))
    with pytest.warns(RuntimeWarning, match="left a component empty"):
        m = vade(init="manifold", epochs=1).fit(X)
    assert len(np.unique(m.init_labels_)) == K  # the diagonal GMM's start instead


def test_vade_posterior_starts_narrow(blobs):
    X, _ = blobs
    m = vade(epochs=1, lr=1e-12, min_lr=0.0, embedding=ae(epochs=2)).fit(X)  # (almost) no step: the initial state
    prior_mean = float(m.head_.log_vars.detach().mean())
    assert m.history_["posterior_logvar"][0] == pytest.approx(prior_mean - 4.0, abs=1e-3)


def test_default_vade_pretrains_with_its_likelihood(tmp_path):
    rng = np.random.default_rng(0)
    X = np.clip(np.repeat(rng.random((3, D)), N // 3, axis=0) + 0.1 * rng.standard_normal((N, D)), 0, 1).astype(np.float32)
    default = VaDE(K)
    default._start_fit(X)  # recon="auto" is resolved from the data: in [0, 1], Bernoulli
    assert default.recon_ == "bce" and default._embedding_to_fit().recon == "bce"  # the default embedding
    m = VaDE(K, embedding=ae(), epochs=1, batch_size=32, random_state=0).fit(X)  # an unfitted "mse" one
    assert m.embedding.recon == "mse"  # the parameter is left alone (cloned)
    assert m.history_["pretrain_loss"][0] > 1.0  # BCE summed over 10 features; an MSE of [0, 1] data is below 1
    pretrained, _ = m._fit_embedding(X, 0)  # the pretraining fit runs
    assert pretrained.recon == "bce" and pretrained.autoencoder_.output == "bernoulli"
    mse = VaDE(K, embedding=ae(), epochs=1, batch_size=32, recon="mse", random_state=0)
    mse._start_fit(X)
    assert mse._embedding_to_fit().recon == "mse"


def test_vade_refuses_a_saved_autoencoder_of_another_likelihood(blobs, tmp_path):
    X, _ = blobs
    Xb = (X - X.min()) / (X.max() - X.min())
    mse_path = ae(epochs=1, random_state=0).fit(Xb).save(tmp_path / "mse")
    with pytest.raises(ValueError, match=r"VaDE\(recon='bce'\).*recon='mse'"):
        vade(embedding=mse_path, recon="bce").fit(Xb)
    bce_path = ae(epochs=1, recon="bce", random_state=0).fit(Xb).save(tmp_path / "bce")
    with pytest.raises(ValueError, match=r"VaDE\(recon='mse'\).*recon='bce'"):
        vade(embedding=bce_path, recon="mse").fit(Xb)
    assert vade(embedding=bce_path, recon="bce", epochs=1).fit(Xb).labels_.shape == (N,)


def test_vade_save_load_keeps_the_likelihood(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.random((60, D)).astype(np.float32)
    m = VaDE(K, embedding=ae(epochs=2), epochs=1, batch_size=32, random_state=0).fit(X)
    loaded = VaDE.load(m.save(tmp_path / "v"))
    assert loaded.recon == "auto" and loaded.embedding_.autoencoder_.output == "bernoulli"  # "auto" chose Bernoulli for [0, 1] data
    np.testing.assert_array_equal(loaded.embedding_.reconstruct(X), m.embedding_.reconstruct(X))


def test_vade_sample_from_a_cluster(fitted, blobs):
    X, _ = blobs
    blob_means = np.stack([X[fitted.labels_ == k].mean(0) for k in range(K)])
    for k in range(K):
        s = fitted.sample(40, cluster=k, random_state=0)
        assert s.shape == (40, D)
        nearest = ((s[:, None, :] - blob_means[None]) ** 2).sum(-1).argmin(1)
        assert np.mean(nearest == k) > 0.5
    assert fitted.sample(5, random_state=1).shape == (5, D)
    np.testing.assert_array_equal(fitted.sample(5, random_state=1), fitted.sample(5, random_state=1))
    with pytest.raises(ValueError, match="cluster"):
        fitted.sample(3, cluster=K)


def test_vade_same_seed_same_labels_and_global_rng_untouched(fitted, blobs):
    X, _ = blobs
    np_state, torch_state = np.random.get_state(), torch.random.get_rng_state()
    again = vade().fit(X)
    after = np.random.get_state()
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1]) and np_state[2:] == after[2:]
    assert torch.equal(torch_state, torch.random.get_rng_state())
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    np.testing.assert_array_equal(again.transform(X), fitted.transform(X))


def test_vade_save_load_and_warm_start(fitted, blobs, tmp_path):
    X, _ = blobs
    loaded = VaDE.load(fitted.save(tmp_path / "vade"))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.sample(6, cluster=1, random_state=0), fitted.sample(6, cluster=1, random_state=0))
    pre = ae(random_state=0).fit(X).save(tmp_path / "ae")
    warm = vade(embedding=pre, epochs=2).fit(X)
    assert warm.labels_.shape == (N,) and "pretrain_loss" in warm.history_


def test_vade_validation(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vade(recon="bce").fit(X)
    with pytest.raises(ValueError, match="lr_decay"):
        vade(lr_decay=1.5).fit(X)
    with pytest.raises(ValueError, match="min_lr"):
        vade(min_lr=-1.0).fit(X)
    with pytest.raises(ValueError, match="AutoencoderEmbedding"):
        vade(embedding=vae_emb()).fit(X)


def test_get_params_are_the_constructor_arguments():
    assert set(VaDE().get_params()) == {
        "n_clusters", "embedding", "epochs", "batch_size", "lr", "lr_decay", "decay_every", "min_lr", "recon", "init", "random_state", "verbose",
    }
    assert VaDE().lr == 2e-4 and VaDE().min_lr == 2e-4 and VaDE().recon == "auto" and VAEEmbedding().recon == "mse"
    assert VaDE().init == "manifold"  # chosen on held-out data (NOTES_vade_dec.md section 10); "gmm" is the paper's


# --- scikit-learn estimator checks ----------------------------------------------------------
def _tiny_estimators():
    v = lambda: VAEEmbedding(hidden_dims=(8,), latent_dim=2, epochs=2)  # noqa: E731
    a = AutoencoderEmbedding(hidden_dims=(8,), latent_dim=2, epochs=2)
    return [v(), VAEClustering(2, embedding=v()), VaDE(2, embedding=a, epochs=1, recon="mse")]


from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

_checks = parametrize_with_checks(for_sklearn_checks(_tiny_estimators()))  # n_clusters=1 -> 2: see conftest


@pytest.mark.slow
@_checks
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


# -- networks from a spec or the user's own modules -------------------------------------------
_CONV = {"input_shape": [1, 8, 8], "encoder": [
    {"type": "Conv2D", "filters": 4, "kernel": 3, "stride": 2}, {"type": "Flatten"}, {"type": "Dense", "units": 3}]}


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    # two kinds of 8x8 "images": bright left half or bright right half
    X = rng.random((120, 1, 8, 8)).astype(np.float32) * 0.2
    X[:60, :, :, :4] += 0.7
    X[60:, :, :, 4:] += 0.7
    return np.clip(X.reshape(120, 64), 0, 1), np.repeat([0, 1], 60)


def test_vae_embedding_with_a_conv_spec_fits_saves_and_loads(images, tmp_path):
    X, _ = images
    emb = VAEEmbedding(network=_CONV, recon="bce", epochs=3, batch_size=32, precision="float32", random_state=0).fit(X)
    assert isinstance(emb.autoencoder_.mu_layer, torch.nn.Linear) and emb.autoencoder_.mu_layer.out_features == 3
    assert any(isinstance(m, torch.nn.Conv2d) for m in emb.autoencoder_.encoder_body.modules())
    Z = emb.transform(X)
    assert Z.shape == (120, 3) and emb.reconstruct(X[:4]).shape == (4, 64)
    loaded = VAEEmbedding.load(emb.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.transform(X), Z)


def test_vae_embedding_with_user_modules_trains_but_is_not_saved(images, tmp_path):
    X, _ = images
    enc = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    dec = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 64))
    emb = VAEEmbedding(network=(enc, dec), epochs=2, batch_size=32, precision="float32", random_state=0).fit(X)
    assert emb.transform(X).shape == (120, 2)
    with pytest.raises(ValueError, match="user-supplied torch modules"):
        emb.save(tmp_path / "m")
    with pytest.raises(ValueError, match="ending in nn.Linear"):
        VAEEmbedding(network=(torch.nn.Sequential(torch.nn.Linear(64, 2), torch.nn.ReLU()), dec), epochs=1).fit(X)


def test_vade_with_a_conv_autoencoder(images, tmp_path):
    X, y = images
    emb = AutoencoderEmbedding(network=_CONV, epochs=15, batch_size=32, lr=3e-3, precision="float32", random_state=0)
    model = VaDE(2, embedding=emb, epochs=5, batch_size=32, random_state=0).fit(X)
    assert model.embedding_._arch["type"] == "spec-vae"
    assert cluster_accuracy(y, model.labels_) > 0.9
    assert model.sample(3, cluster=1, random_state=0).shape == (3, 64)
    again = VaDE.load(model.save(tmp_path / "v"))
    np.testing.assert_array_equal(again.predict(X), model.labels_)


def test_vade_with_the_default_widths_builds_its_vae_from_the_resolved_ones(tmp_path):
    # hidden_dims="auto" (the default) once reached the VAE as the string's letters and failed
    # after the whole pretraining; the VAE must take the widths the autoencoder was built with.
    X = np.random.default_rng(0).random((60, 8)).astype(np.float32)
    vade = VaDE(3, embedding=AutoencoderEmbedding(latent_dim=2, steps=3, recon="bce"), epochs=1, random_state=0).fit(X)
    from deepclust.nn.sizing import default_hidden_dims

    assert vade.embedding_._arch["hidden_dims"] == list(default_hidden_dims(8, 60)) == [32, 32, 128]
    back = VaDE.load(vade.save(tmp_path / "m"))
    np.testing.assert_array_equal(back.predict(X), vade.predict(X))


def test_vade_auto_likelihood_follows_the_data():
    from deepclust.methods.vade import likelihood_for

    pixels = np.random.default_rng(0).random((60, 8)).astype(np.float32)
    assert likelihood_for("auto", pixels) == "bce" and likelihood_for("auto", pixels - 0.5) == "mse"
    assert likelihood_for("mse", pixels) == "mse"  # an explicit choice stays
    table = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)  # a standardised table: Gaussian, not a refusal
    vade = VaDE(3, embedding=AutoencoderEmbedding(latent_dim=2, hidden_dims=(16,), steps=3), epochs=1, random_state=0).fit(table)
    assert vade.recon_ == "mse" and vade.embedding_._arch["output"] == "linear"
    with pytest.raises(ValueError, match=r"needs data in \[0, 1\]"):
        VaDE(3, recon="bce", epochs=1).fit(table)
