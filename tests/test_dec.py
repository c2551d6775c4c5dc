"""Tiny fits of DEC, IDEC and DCN on well-separated blobs: accuracy, labels from the head,
reproducibility, stopping, history, save/load, warm start and collapsed clusters."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from conftest import for_sklearn_checks, make_blobs32, tiny_autoencoder
from deepclust.heads import KMeansHead, StudentTHead
from deepclust.methods import AutoencoderEmbedding
from deepclust.methods.dcn import DCN
from deepclust.methods.dec import DEC, IDEC
from deepclust.metrics import cluster_accuracy

N, D, K = 300, 10, 3
METHODS = {
    "DEC": lambda **kw: DEC(K, **{"max_iter": 60, "update_interval": 10, "batch_size": 32, **kw}),
    "IDEC": lambda **kw: IDEC(K, **{"max_iter": 60, "update_interval": 10, "batch_size": 32, **kw}),
    "DCN": lambda **kw: DCN(K, **{"epochs": 3, "batch_size": 32, **kw}),
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def emb(**kw) -> AutoencoderEmbedding:
    return tiny_autoencoder(**{"hidden_dims": (32,), "latent_dim": 3, "epochs": 20, **kw})


@pytest.fixture(scope="module")
def blobs():
    return make_blobs32(N, D, K)


@pytest.fixture(scope="module")
def fitted(blobs):
    X, _ = blobs
    return {name: make(embedding=emb(), random_state=0).fit(X) for name, make in METHODS.items()}


@pytest.mark.parametrize("name", METHODS)
def test_blobs_are_recovered_and_labels_come_from_the_head(fitted, blobs, name):
    X, y = blobs
    model = fitted[name]
    assert cluster_accuracy(y, model.labels_) >= 0.95
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    Z = model.transform(X)
    assert Z.shape == (N, 3) and Z.dtype == np.float32
    head_labels = model.head_.predict(torch.from_numpy(Z)).numpy()
    np.testing.assert_array_equal(head_labels, model.labels_)  # the head's own assignments
    assert model.cluster_centers_.shape == (K, 3)
    np.testing.assert_array_equal(model.fit_predict(X), model.labels_)  # refit, same seed
    proba = model.predict_proba(X)
    assert proba.shape == (N, K)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(proba.argmax(1), model.labels_)


def test_heads_and_fine_tuned_embedding(fitted, blobs):
    X, _ = blobs
    assert isinstance(fitted["DEC"].head_, StudentTHead) and isinstance(fitted["DCN"].head_, KMeansHead)
    for model in fitted.values():
        # embedding_ holds the fine-tuned network: its transform is the model's transform
        np.testing.assert_array_equal(model.embedding_.transform(X), model.transform(X))
    pre = emb(random_state=0)  # DEC fine-tunes, so its codes differ from the pretrained ones
    assert not np.allclose(pre.fit_transform(X), fitted["DEC"].transform(X))


def test_history_keys(fitted):
    h = fitted["DEC"].history_
    for key in ("pretrain_loss", "loss", "delta_label", "update_step", "min_cluster_size"):
        assert key in h and len(h[key]) > 0, key
    assert len(h["pretrain_loss"]) == 20
    assert h["update_step"][0] == 0 and len(h["delta_label"]) == len(h["update_step"])
    assert {"reconstruction", "clustering", "delta_label"} <= set(fitted["IDEC"].history_)
    hd = fitted["DCN"].history_
    assert len(hd["loss"]) == 3 and len(hd["min_cluster_size"]) == 3 and {"reconstruction", "clustering"} <= set(hd)
    assert fitted["DCN"].n_iter_ == 3 * int(np.ceil(N / 32))


def test_tol_stops_early_and_tol_zero_runs_to_max_iter(blobs):
    X, _ = blobs
    early = DEC(K, embedding=emb(epochs=5), max_iter=500, update_interval=10, batch_size=32, random_state=0).fit(X)
    assert early.n_iter_ < 500 and early.stop_reason_.startswith("converged")
    assert early.history_["delta_label"][-1] < 0.001
    full = DEC(K, embedding=emb(epochs=5), tol=0.0, max_iter=25, update_interval=10, batch_size=32, random_state=0).fit(X)
    assert full.n_iter_ == 25 and full.history_["update_step"] == [0, 10, 20]


@pytest.mark.parametrize("name", ["DEC", "DCN"])
def test_same_seed_same_result(fitted, blobs, name):
    X, _ = blobs
    again = METHODS[name](embedding=emb(), random_state=0).fit(X)
    np.testing.assert_array_equal(again.labels_, fitted[name].labels_)
    np.testing.assert_array_equal(again.transform(X), fitted[name].transform(X))


@pytest.mark.parametrize("random_state", [0, None])
def test_fit_leaves_global_rng_states_alone(blobs, random_state):
    X, _ = blobs
    np_state, torch_state = np.random.get_state(), torch.get_rng_state()
    DEC(K, embedding=emb(epochs=2), max_iter=5, random_state=random_state).fit(X)
    IDEC(K, embedding=emb(epochs=2), max_iter=5, random_state=random_state).fit(X)
    DCN(K, embedding=emb(epochs=2), epochs=1, random_state=random_state).fit(X)
    assert np.array_equal(np.random.get_state()[1], np_state[1])
    assert torch.equal(torch.get_rng_state(), torch_state)


@pytest.mark.parametrize("name", METHODS)
def test_save_load_round_trip(fitted, blobs, tmp_path, name):
    X, _ = blobs
    model = fitted[name]
    X_new = X[:17] + 0.5
    path = model.save(tmp_path / name)
    loaded = type(model).load(path)
    assert type(loaded) is type(model) and loaded.get_params()["lr"] == model.lr
    np.testing.assert_array_equal(loaded.predict(X_new), model.predict(X_new))
    np.testing.assert_array_equal(loaded.predict_proba(X_new), model.predict_proba(X_new))
    np.testing.assert_array_equal(loaded.labels_, model.labels_)
    np.testing.assert_array_equal(loaded.cluster_centers_, model.cluster_centers_)
    assert loaded.history_ == model.history_ and loaded.n_iter_ == model.n_iter_
    np.testing.assert_array_equal(loaded.init_labels_, model.init_labels_)
    for key, v in model.head_.state_dict().items():  # DCN's counts too
        torch.testing.assert_close(loaded.head_.state_dict()[key], v)


@pytest.mark.parametrize("name", ["DEC", "DCN"])
def test_warm_start_from_saved_embedding_skips_pretraining(blobs, tmp_path, monkeypatch, name):
    X, y = blobs
    pre = emb(random_state=0).fit(X)
    path = pre.save(tmp_path / "ae")

    def no_pretraining(self, X, y=None):
        raise AssertionError("pretraining ran although a pretrained embedding was given")

    monkeypatch.setattr(AutoencoderEmbedding, "fit", no_pretraining)
    model = METHODS[name](embedding=str(path), random_state=0).fit(X)
    assert model.history_["pretrain_loss"] == pre.history_["loss"]
    assert cluster_accuracy(y, model.labels_) >= 0.95
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    # the saved embedding itself is not modified by the fine-tuning
    np.testing.assert_array_equal(AutoencoderEmbedding.load(path).transform(X), pre.transform(X))


@pytest.mark.parametrize("name,head_cls", [("DEC", StudentTHead), ("DCN", KMeansHead)])
def test_collapsed_cluster_warns_and_is_recorded(blobs, monkeypatch, name, head_cls):
    X, _ = blobs
    original = head_cls.init_from_embedding

    def init_with_a_lost_centre(self, z, rng, n_init=20):
        labels = original(self, z, rng, n_init)
        with torch.no_grad():
            self.centers[-1] = 1e4  # no point is nearest to it: an empty cluster from the start
        return labels

    monkeypatch.setattr(head_cls, "init_from_embedding", init_with_a_lost_centre)
    with pytest.warns(RuntimeWarning, match="became empty") as record:
        start = {"init": "kmeans"} if name == "DEC" else {}  # the patched k-means start (DEC's default is the manifold's)
        model = METHODS[name](embedding=emb(epochs=5), random_state=0, **start).fit(X)
    assert sum("became empty" in str(w.message) for w in record) == 1  # warned once
    assert model.history_["min_cluster_size"][0] == 0 and model.history_["n_empty_clusters"][0] == 1
    assert len(np.unique(model.labels_)) == K - 1
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_no_warning_on_healthy_fit(fitted):
    for model in fitted.values():
        assert min(model.history_["min_cluster_size"]) > 0


def test_bad_parameters_and_embeddings_are_refused(blobs):
    X, _ = blobs
    for bad, match in [
        (DEC(K, tol=-1), "tol"),
        (DEC(K, update_interval=0), "update_interval"),
        (DEC(K, momentum=-0.5), "momentum"),
        (IDEC(K, gamma=-1), "gamma"),
        (DCN(K, lambd=-1), "lambd"),
        (DCN(K, epochs=0), "epochs"),
        (DEC(1), "n_clusters"),
    ]:
        with pytest.raises(ValueError, match=match):
            bad.fit(X)
    with pytest.raises(ValueError, match="has none"):
        DEC(K, embedding=PCA(3), max_iter=5).fit(X)
    with pytest.raises(ValueError, match="is expecting 10 features"):
        DEC(K, embedding=emb(epochs=1), max_iter=2).fit(X).predict(X[:, :5])


def test_get_params_are_the_constructor_arguments():
    assert set(IDEC().get_params()) == {
        "n_clusters", "embedding", "alpha", "gamma", "update_interval", "tol", "max_iter", "batch_size", "lr", "init", "random_state", "verbose",
    }
    assert "momentum" in DEC().get_params() and IDEC().lr == 0.001 and DEC().lr == 0.01
    assert set(DCN().get_params()) == {"n_clusters", "embedding", "lambd", "epochs", "batch_size", "lr", "normalize", "random_state", "verbose"}


# --- scikit-learn estimator checks ----------------------------------------------------------
def _tiny_estimators():
    e = lambda: AutoencoderEmbedding(hidden_dims=(8,), latent_dim=2, epochs=2)  # noqa: E731
    return [DEC(2, embedding=e(), max_iter=10), IDEC(2, embedding=e(), max_iter=10), DCN(2, embedding=e(), epochs=1)]


from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

_checks = parametrize_with_checks(for_sklearn_checks(_tiny_estimators()))  # n_clusters=1 -> 2: see conftest


@pytest.mark.slow
@_checks
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_encode_all_under_autocast_is_float32_close_and_keeps_the_training_mode():
    from deepclust.methods._deep import encode_all
    from deepclust.nn import mlp_autoencoder

    torch.manual_seed(0)
    ae = mlp_autoencoder(20, (16,), 3).train()
    X = torch.randn(50, 20)
    full = encode_all(ae, X, chunk_size=16)
    half = encode_all(ae, X, chunk_size=16, autocast_dtype=torch.bfloat16)
    assert half.dtype == torch.float32 and ae.training
    torch.testing.assert_close(half, full, rtol=0.05, atol=0.05)
    assert not torch.equal(half, full)  # it really ran in bfloat16


def test_dec_saved_before_the_redesign_loads_and_predicts_the_same():
    """tests/data/dec_saved_v1 was written by the code before issue 14's redesign (format 1)."""
    from pathlib import Path

    here = Path(__file__).parent / "data"
    ref = np.load(here / "dec_saved_v1_data.npz")
    model = DEC.load(here / "dec_saved_v1")
    np.testing.assert_array_equal(model.labels_, ref["labels"])
    np.testing.assert_array_equal(model.predict(ref["X"]), ref["labels"])
    np.testing.assert_allclose(model.transform(ref["X"]), ref["Z"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.predict_proba(ref["X"]), ref["proba"], rtol=1e-5, atol=1e-6)
    assert not hasattr(model, "init_labels_")  # not saved then: absent, not made up


def test_idec_and_dcn_refuse_a_bernoulli_autoencoder_dec_takes_it(blobs):
    X, _ = blobs
    Xb = (X - X.min()) / (X.max() - X.min())  # in [0, 1], as recon="bce" needs
    bern = emb(recon="bce", epochs=1)
    for cls in (IDEC, DCN):
        with pytest.raises(ValueError, match=r"Bernoulli logits \(recon='bce'\)"):
            cls(K, embedding=bern, random_state=0).fit(Xb)
    assert DEC(K, embedding=bern, max_iter=5, random_state=0).fit(Xb).labels_.shape == (N,)  # DEC drops the decoder


@pytest.mark.parametrize("name", METHODS)
def test_init_labels_are_the_heads_start_on_the_codes(fitted, blobs, name):
    from deepclust.metrics import cluster_accuracy

    X, y = blobs
    model = fitted[name]
    assert model.init_labels_.shape == (X.shape[0],) and set(np.unique(model.init_labels_)) <= set(range(K))
    assert cluster_accuracy(y, model.init_labels_) > 0.9  # k-means on the pretrained codes of separated blobs
    assert np.mean(model.init_labels_ == model.labels_) > 0.5  # the head's ids carry over: fine-tuning starts there


def test_student_t_init_from_labels_puts_each_centre_at_its_clusters_mean():
    z = torch.tensor([[0.0, 1.0], [2.0, 3.0], [10.0, 10.0], [12.0, 10.0], [14.0, 13.0]])
    labels = np.array([0, 0, 1, 1, 1])
    head = StudentTHead(2, 2)
    out = head.init_from_labels(z, labels)
    np.testing.assert_array_equal(out.numpy(), labels)
    np.testing.assert_allclose(head.centers.detach().numpy(), [[1.0, 2.0], [12.0, 11.0]], rtol=1e-6)
    with pytest.raises(ValueError, match="empty"):
        StudentTHead(3, 2).init_from_labels(z, labels)
    with pytest.raises(ValueError, match="lie in"):
        head.init_from_labels(z, np.array([0, 0, 1, 1, 2]))


@pytest.mark.parametrize("name", ["DEC", "IDEC"])
def test_manifold_start_is_n2ds_partition_of_the_codes(blobs, monkeypatch, name):
    import deepclust.methods.dec as dec_module

    X, y = blobs
    seen = {}
    partition = dec_module.manifold_partition

    def spy(Z, k, seed):
        seen["labels"] = partition(Z, k, seed)
        seen["codes"] = Z
        return seen["labels"]

    monkeypatch.setattr(dec_module, "manifold_partition", spy)
    m = METHODS[name](embedding=emb(), init="manifold", random_state=0).fit(X)
    np.testing.assert_array_equal(m.init_labels_, seen["labels"])  # the start is the manifold step's labels
    assert seen["codes"].shape == (N, 3)  # the pretrained codes, not the input
    assert cluster_accuracy(y, m.init_labels_) >= 0.95 and cluster_accuracy(y, m.labels_) >= 0.95
    again = METHODS[name](embedding=emb(), init="manifold", random_state=0).fit(X)
    np.testing.assert_array_equal(again.labels_, m.labels_)  # same seed, same labels
    with pytest.raises(ValueError, match="init"):
        METHODS[name](init="gmm").fit(X)


def test_manifold_start_falls_back_to_kmeans_when_a_cluster_is_empty(blobs, monkeypatch):
    import deepclust.methods.dec as dec_module

    X, y = blobs
    monkeypatch.setattr(dec_module, "manifold_partition", lambda Z, k, seed: np.zeros(len(Z), dtype=np.int64))
    with pytest.warns(RuntimeWarning, match="left a cluster empty"):
        m = METHODS["DEC"](embedding=emb(), init="manifold", random_state=0).fit(X)
    assert len(np.unique(m.init_labels_)) == K and cluster_accuracy(y, m.init_labels_) > 0.9  # k-means's start instead
