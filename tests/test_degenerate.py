"""Degenerate cases: collapsed clusters are reported (history and one warning with the sizes),
never a crash; O(n^2) clusterers are refused above their limit before anything is trained;
every registered method gives the same labels for the same seed and leaves the global random
states alone."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import torch
from sklearn.cluster import AffinityPropagation, SpectralClustering

from conftest import make_blobs32, tiny_autoencoder
from deepclust.heads import GMMPrior, KMeansHead, StudentTHead
from deepclust.methods import DCN, DEC, IDEC, METHODS, AutoencoderClustering, AutoencoderEmbedding, RawClustering, VaDE, build_method
from deepclust.methods import _clusterers

N, D, K = 90, 5, 3


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return make_blobs32(N, D, K)[0]


def emb(**kw):
    return tiny_autoencoder(**{"latent_dim": 3, "epochs": 5, **kw})


# -- collapsed clusters ---------------------------------------------------------------------------
COLLAPSE = {
    "DEC": (StudentTHead, lambda: DEC(K, embedding=emb(), max_iter=30, update_interval=5, batch_size=32, init="kmeans", random_state=0), "target update at step 0"),  # the patched start
    "IDEC": (StudentTHead, lambda: IDEC(K, embedding=emb(), max_iter=30, update_interval=5, batch_size=32, init="kmeans", random_state=0), "target update at step 0"),  # the patched start
    "DCN": (KMeansHead, lambda: DCN(K, embedding=emb(), epochs=2, batch_size=32, random_state=0), "epoch 0"),
    "VaDE": (GMMPrior, lambda: VaDE(K, embedding=emb(), epochs=2, batch_size=32, recon="mse", init="gmm", random_state=0), "epoch 0"),  # the patched start
}


@pytest.mark.parametrize("name", COLLAPSE)
def test_an_emptied_cluster_is_reported_with_the_sizes_not_a_crash(X, monkeypatch, name):
    head_cls, make, where = COLLAPSE[name]
    original = head_cls.init_from_embedding

    def init_with_a_lost_centre(self, z, rng, *args, **kw):
        labels = original(self, z, rng, *args, **kw)
        with torch.no_grad():
            self.centers[-1] = 1e3  # no point is nearest to it: the cluster is empty from the start
            if isinstance(self, GMMPrior):
                self.pi_logits[-1] = -30.0
        return labels

    monkeypatch.setattr(head_cls, "init_from_embedding", init_with_a_lost_centre)
    pattern = rf"{name}: 1 of {K} clusters became empty \({re.escape(where)}; cluster sizes \[\d+, \d+, 0\]\)"
    with pytest.warns(RuntimeWarning, match=pattern) as record:
        model = make().fit(X)
    assert sum("became empty" in str(w.message) for w in record) == 1  # once, not at every record
    h = model.history_
    assert h["n_empty_clusters"][0] == 1 and h["min_cluster_size"][0] == 0
    assert h["cluster_sizes"][0][-1] == 0 and sum(h["cluster_sizes"][0]) == N
    assert len(h["cluster_sizes"]) == len(h["n_empty_clusters"]) == len(h["min_cluster_size"])
    assert np.isfinite(h["loss"]).all()
    assert set(np.unique(model.labels_)) <= {0, 1} and model.cluster_centers_.shape[0] == K
    np.testing.assert_array_equal(model.predict(X), model.labels_)


# -- O(n^2) steps -------------------------------------------------------------------------------
@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(_clusterers, "QUADRATIC_MAX_SAMPLES", 50)
    monkeypatch.setattr(_clusterers, "AGGLOMERATIVE_MAX_SAMPLES", 50)

    def no_training(self, X, y=None):
        raise AssertionError("the autoencoder was trained although the clusterer was going to be refused")

    monkeypatch.setattr(AutoencoderEmbedding, "fit", no_training)


@pytest.mark.parametrize(
    "clusterer, pattern",
    [
        ("agglomerative", rf"agglomerative clustering of {N} points needs O\(n\^2\) memory; it is limited to 50 points"),
        (SpectralClustering(K), rf"SpectralClustering of {N} points builds a dense {N} x {N} matrix .* limited to 50 points.*affinity='nearest_neighbors'"),
        (AffinityPropagation(), rf"AffinityPropagation of {N} points builds a dense {N} x {N} matrix .* limited to 50 points"),
    ],
    ids=["agglomerative", "spectral", "affinity-propagation"],
)
def test_quadratic_clusterers_are_refused_above_their_limit_before_training(X, small_limit, clusterer, pattern):
    with pytest.raises(ValueError, match=pattern):
        AutoencoderClustering(K, clusterer=clusterer, embedding=emb()).fit(X)
    with pytest.raises(ValueError, match=pattern):
        RawClustering(K, clusterer=clusterer).fit(X)


@pytest.mark.filterwarnings("ignore:Graph is not fully connected")  # three far-apart blobs: it is not
def test_quadratic_clusterers_run_below_the_limit_and_sparse_spectral_above_it(X, small_limit):
    labels = RawClustering(K, clusterer=SpectralClustering(K, random_state=0)).fit(X[:50]).labels_
    assert len(np.unique(labels)) == K
    sparse = SpectralClustering(K, affinity="nearest_neighbors", n_neighbors=10, random_state=0)
    assert RawClustering(K, clusterer=sparse).fit(X).labels_.shape == (N,)  # a k-NN graph is not O(n^2)


def test_the_limits_are_documented():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for number in (_clusterers.AGGLOMERATIVE_MAX_SAMPLES, _clusterers.QUADRATIC_MAX_SAMPLES, 10000):
        assert f"{number:,}" in readme, number


# -- same seed, same labels; global random states untouched: every registered method ------------------
TINY_EMBEDDING = {"epochs": 2, "hidden_dims": (8,), "latent_dim": 2, "batch_size": 32, "device": "cpu", "precision": "float32"}
TINY = {
    "dec": {"max_iter": 12, "update_interval": 5, "batch_size": 32},
    "idec": {"max_iter": 12, "update_interval": 5, "batch_size": 32},
    "dcn": {"epochs": 2, "batch_size": 32},
    "vade": {"epochs": 2, "batch_size": 32, "recon": "mse"},
}


def _tiny(name: str, seed):
    spec = METHODS[name]
    embedding = None
    if spec.deep:
        embedding = dict(TINY_EMBEDDING)
        if "recon" in spec.embedding().get_params():  # VAEs: the blobs are not in [0, 1]
            embedding["recon"] = "mse"
    return build_method(name, K, seed, embedding=embedding, **TINY.get(name, {}))


def _global_states():
    return np.random.get_state(), torch.random.get_rng_state(), random.getstate()


def _same_states(a, b) -> bool:
    (na, ta, ra), (nb, tb, rb) = a, b
    return na[0] == nb[0] and np.array_equal(na[1], nb[1]) and na[2:] == nb[2:] and torch.equal(ta, tb) and ra == rb


@pytest.mark.parametrize("name", METHODS)
def test_same_seed_same_labels_and_global_random_states_untouched(X, name):
    np.random.seed(1)
    torch.manual_seed(1)
    random.seed(1)
    before = _global_states()
    first = _tiny(name, 0).fit(X).labels_
    assert _same_states(before, _global_states()), "fit changed a global random state"
    again = _tiny(name, 0).fit(X).labels_
    np.testing.assert_array_equal(first, again)
    _tiny(name, None).fit(X)  # an unseeded fit draws fresh entropy without touching them either
    assert _same_states(before, _global_states())
