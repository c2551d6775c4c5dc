"""FastKMeans: scikit-learn's k-means below the sample size, sampled restarts above it, torch iterations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from deepclust.methods import RawClustering
from deepclust.methods._clusterers import make_clusterer
from deepclust.methods.kmeans_fast import FastKMeans, _lloyd_torch, kmeans_plusplus


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(2000, n_features=4, centers=5, cluster_std=2.5, random_state=3)
    return X.astype(np.float32), y


def test_below_the_sample_size_it_is_sklearn_kmeans(blobs):
    X, _ = blobs
    fast = FastKMeans(5, n_init=4, random_state=7).fit(X)
    ref = KMeans(5, n_init=4, random_state=7).fit(X)
    np.testing.assert_array_equal(fast.labels_, ref.labels_)
    np.testing.assert_allclose(fast.cluster_centers_, ref.cluster_centers_, rtol=1e-6)
    assert fast.inertia_ == pytest.approx(ref.inertia_, rel=1e-5)


def test_the_kmeans_name_builds_it_and_keeps_the_labels_of_before(blobs):
    X, _ = blobs
    est = make_clusterer("kmeans", 5, seed=11)
    assert isinstance(est, FastKMeans) and est.n_init == 10
    model = RawClustering(5, random_state=0).fit(X)
    seed = int(np.random.default_rng(0).integers(0, 2**31 - 1))  # what draw_seed(seed_stream(0)) gives
    np.testing.assert_array_equal(model.labels_, KMeans(5, n_init=10, random_state=seed).fit(X).labels_)
    np.testing.assert_array_equal(model.predict(X), model.labels_)


@pytest.mark.parametrize("backend", ["sklearn", "torch"])
def test_sampled_restarts_reach_the_full_inertia(blobs, backend):
    X, y = blobs
    ref = KMeans(5, n_init=4, random_state=0).fit(X)
    fast = FastKMeans(5, n_init=4, sample_size=500, backend=backend, device="cpu", random_state=0).fit(X)
    # inertia recomputed the same way for both, so the ratio compares solutions, not arithmetic
    ref_inertia = -_with_centers(ref, X).score(X)
    assert fast.inertia_ <= ref_inertia * (1 + 1e-4)
    assert adjusted_rand_score(ref.labels_, fast.labels_) > 0.99
    np.testing.assert_array_equal(fast.predict(X), fast.labels_)
    again = FastKMeans(5, n_init=4, sample_size=500, backend=backend, device="cpu", random_state=0).fit(X)
    np.testing.assert_array_equal(again.labels_, fast.labels_)


def _with_centers(km: KMeans, X: np.ndarray) -> FastKMeans:
    est = FastKMeans(km.n_clusters)
    est.cluster_centers_ = km.cluster_centers_.astype(np.float32)
    est.n_features_in_ = X.shape[1]
    return est


def test_torch_lloyd_on_a_hand_computed_case():
    X = torch.tensor([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0]])
    centers, labels, n_iter = _lloyd_torch(X, torch.tensor([[0.0, 0.0], [10.0, 0.0]]), (X * X).sum(1), max_iter=10, tol_abs=0.0)
    torch.testing.assert_close(centers, torch.tensor([[0.0, 1.0], [10.0, 1.0]]))
    assert labels.tolist() == [0, 0, 1, 1] and n_iter <= 3
    model = FastKMeans(2, n_init=1, backend="torch", device="cpu", random_state=0).fit(X.numpy())
    assert model.inertia_ == pytest.approx(4.0)  # four points, each at distance 1 from its centre
    assert model.score(X.numpy()) == pytest.approx(-4.0)
    np.testing.assert_allclose(model.transform(X.numpy()).min(axis=1), 1.0, rtol=1e-6)


def test_torch_lloyd_moves_an_empty_centre_to_the_farthest_point():
    X = torch.tensor([[0.0], [1.0], [2.0], [30.0]])
    centers, labels, _ = _lloyd_torch(X, torch.tensor([[1.0], [100.0], [-100.0]]), X[:, 0] ** 2, max_iter=20, tol_abs=0.0)
    assert torch.bincount(labels, minlength=3).min() >= 1  # no cluster left empty
    assert 30.0 in centers[:, 0].tolist()


def test_kmeans_plusplus_picks_distinct_data_points():
    X = torch.from_numpy(make_blobs(500, centers=4, random_state=0)[0].astype(np.float32))
    c = kmeans_plusplus(X, 4, torch.Generator().manual_seed(0))
    assert c.shape == (4, 2)
    assert all(bool((X == row).all(dim=1).any()) for row in c)
    assert torch.unique(c, dim=0).shape[0] == 4
    torch.testing.assert_close(c, kmeans_plusplus(X, 4, torch.Generator().manual_seed(0)))


@pytest.mark.parametrize(
    "params,match",
    [({"n_init": 0}, "n_init"), ({"backend": "faiss"}, "backend"), ({"sample_size": 2}, "sample_size"), ({"tol": -1.0}, "tol")],
)
def test_bad_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        FastKMeans(3, **params).fit(np.zeros((10, 2), dtype=np.float32))


@parametrize_with_checks([FastKMeans(n_clusters=3, n_init=2, random_state=0), FastKMeans(n_clusters=3, n_init=2, sample_size=5, backend="torch", device="cpu", random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
