"""The manifold step: exact neighbours, ParallelUMAP's reproducibility, and N2D's choice of learner."""

import numba
import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from deepclust.methods import N2D, AutoencoderEmbedding
from deepclust.methods import manifold as manifold_module
from deepclust.methods.manifold import AUTO_MAX_KNN_FLOP, ParallelUMAP, auto_manifold, build_manifold, exact_knn, exact_knn_is_cheap


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(400, n_features=6, centers=4, cluster_std=1.5, random_state=0)
    return X.astype(np.float32), y


def small(**kw):
    return ParallelUMAP(**{"n_neighbors": 10, "n_components": 2, "n_epochs": 60, "random_state": 0, **kw})


# -- exact neighbours ---------------------------------------------------------------------
def test_knn_ties_broken_by_index_and_self_first():
    # points 0..4 on a line at 0, 1, 1, 2, 0 (point 4 duplicates point 0)
    X = np.array([[0.0], [1.0], [1.0], [2.0], [0.0]], dtype=np.float32)
    idx, dist = exact_knn(X, None, 3)
    np.testing.assert_array_equal(idx[0], [0, 4, 1])  # itself first, then its duplicate, then the lower index of the tie
    np.testing.assert_array_equal(idx[4], [4, 0, 1])
    np.testing.assert_array_equal(idx[1], [1, 2, 0])  # 0 and 3 tie at distance 1: index 0 wins
    np.testing.assert_allclose(dist[1], [0.0, 0.0, 1.0])


def test_knn_matches_brute_force(blobs):
    X, _ = blobs
    Q = X[:50] + 0.3
    idx, dist = exact_knn(Q, X, 7, block_rows=16)  # several blocks
    ref_d, ref_i = NearestNeighbors(n_neighbors=7).fit(X).kneighbors(Q)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-5, atol=1e-5)


def test_knn_rejects_bad_k(blobs):
    with pytest.raises(ValueError, match="k=0"):
        exact_knn(blobs[0], None, 0)


# -- ParallelUMAP -------------------------------------------------------------------------
def test_same_seed_same_bytes_and_other_seed_differs(blobs):
    X, _ = blobs
    a, b = small().fit_transform(X), small().fit_transform(X)
    assert a.dtype == np.float32 and a.shape == (400, 2)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, small(random_state=1).fit_transform(X))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has one thread on this machine")
def test_same_bytes_whatever_the_thread_count(blobs):
    X, _ = blobs
    X_new = X[:30] + 0.1
    out = []
    n_numba = numba.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            numba.set_num_threads(threads)
            m = small()
            out.append((m.fit_transform(X).tobytes(), m.transform(X_new).tobytes()))
    finally:
        torch.set_num_threads(1)
        numba.set_num_threads(n_numba)
    assert out[0] == out[1]


def test_layout_separates_blobs(blobs):
    X, y = blobs
    M = small().fit_transform(X)
    # every point's nearest other point in the layout belongs to its own blob (blobs are well apart)
    _, nn = NearestNeighbors(n_neighbors=2).fit(M).kneighbors(M)
    assert (y[nn[:, 1]] == y).mean() > 0.97


@pytest.fixture
def one_numba_thread():
    # for tests of what the layout computes, not of threading: with many rounds, a second thread
    # on a busy machine waits a time slice at every round's barrier
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(n)


def test_one_head_per_round_is_umap_learns_sequential_sgd(blobs, one_numba_thread):
    # With repulsion off (gamma=0 makes the negative samples no-ops in both) and rounds of one
    # head, the layout is umap-learn's own in-place SGD on the same graph, start, sampling and
    # learning-rate schedule: each head walks its row, each edge pulls both of its ends. Only
    # float32 (umap-learn) against float64 differs. 5 epochs at a rate near 1: long enough to
    # move every point, short enough that rounding has not grown chaotic (from ~10 epochs a
    # 1e-6 nudge of the start moves umap-learn's own result by ~0.1).
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import make_epochs_per_sample

    from deepclust.methods.manifold._layout import optimize_layout

    X, _ = blobs
    m, n_epochs = small(n_epochs=5).fit(X), 5
    coo = m.graph_.tocoo()
    Y0 = np.random.default_rng(0).uniform(0, 10, size=(X.shape[0], 2))
    ours = optimize_layout(Y0, m.graph_, n_epochs=n_epochs, a=m._a, b=m._b, seed=0, gamma=0.0, n_rounds=X.shape[0])
    ref = Y0.astype(np.float32)  # moved in place
    optimize_layout_euclidean(ref, ref, coo.row, coo.col, n_epochs, X.shape[0], make_epochs_per_sample(coo.data, n_epochs),
                              m._a, m._b, np.zeros(3, np.int64), 0.0, 1.0, 5.0, move_other=True)
    assert np.abs(ref - Y0).max() > 2.0  # the points did move
    np.testing.assert_allclose(ours, ref, atol=2e-3)
    # the default rounds (12 rounds of ~33 heads here) are not sequential
    default = optimize_layout(Y0, m.graph_, n_epochs=n_epochs, a=m._a, b=m._b, seed=0, gamma=0.0)
    assert np.abs(default - ref).max() > 0.5


def test_layout_keeps_neighbours_as_well_as_umap_learn(one_numba_thread):
    # Overlapping blobs in 10-d with N2D's settings and umap-learn's 200 epochs for large data:
    # the fraction of each point's 10 nearest neighbours kept in the layout, seeds 0-2
    # (NOTES_n2d.md, session 5): umap-learn 0.360-0.364, this layout 0.363-0.364, the first
    # ParallelUMAP layout (one snapshot per epoch) 0.328-0.336.
    X, _ = make_blobs(4000, n_features=10, centers=10, cluster_std=5.0, random_state=0)
    M = ParallelUMAP(n_neighbors=20, min_dist=0.0, n_components=10, n_epochs=200, random_state=0).fit_transform(X)
    nn_x = NearestNeighbors(n_neighbors=11).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    nn_m = NearestNeighbors(n_neighbors=11).fit(M).kneighbors(M, return_distance=False)[:, 1:]
    kept = np.mean([np.intersect1d(a, b).size for a, b in zip(nn_x, nn_m)]) / 10
    assert kept > 0.35


def test_transform_training_data_and_new_points(blobs):
    X, y = blobs
    m = small()
    M = m.fit_transform(X)
    np.testing.assert_array_equal(m.transform(X), M)
    T = m.transform(X[:80] + 0.05)  # near-copies land in their own blob
    _, nn = NearestNeighbors(n_neighbors=1).fit(M).kneighbors(T)
    assert (y[nn[:, 0]] == y[:80]).mean() > 0.95
    with pytest.raises(ValueError, match="features"):
        m.transform(X[:, :3])


@pytest.mark.parametrize(
    "params, match",
    [({"n_neighbors": 1}, "n_neighbors"), ({"n_components": 0}, "n_components"), ({"n_epochs": 0}, "n_epochs"),
     ({"min_dist": -1.0}, "min_dist"), ({"spread": 0.0}, "spread"), ({"min_dist": 2.0}, "min_dist=2.0")],
)
def test_bad_parameters_are_named(blobs, params, match):
    with pytest.raises(ValueError, match=match):
        small(**params).fit(blobs[0])


# -- N2D's choice of learner --------------------------------------------------------------
def test_build_manifold_names_and_objects():
    assert type(build_manifold(None, 5, 0, 100, 10)).__name__ == "ExactKnnUMAP"
    assert type(build_manifold(None, 5, 0, 70000, 10)).__name__ == "ParallelUMAP"  # MNIST-70k's codes
    assert type(build_manifold(None, 5, 0, 70000, 784)).__name__ == "UMAP"  # the exact search is too costly there
    assert isinstance(build_manifold("parallel", 5, 0, 100), ParallelUMAP)
    assert type(build_manifold("umap", 5, 0, 100)).__module__.startswith("umap")
    m = build_manifold("parallel", 5, 3, 4)
    assert (m.n_components, m.n_neighbors, m.min_dist, m.random_state) == (2, 20, 0.0, 3)
    assert build_manifold(PCA(2), 5, 0, 100).get_params()["random_state"] == 0
    with pytest.raises(ValueError, match="'tsne'"):
        build_manifold("tsne", 5, 0, 100)


def test_auto_takes_the_exact_search_only_while_it_is_cheap(monkeypatch):
    assert exact_knn_is_cheap(70000, 10)  # MNIST-70k codes: 1e11 FLOP
    assert not exact_knn_is_cheap(70000, 784)  # MNIST pixels: 7.7e12 FLOP
    n = int((AUTO_MAX_KNN_FLOP / 20) ** 0.5)  # the boundary at d = 10
    assert (exact_knn_is_cheap(n, 10), exact_knn_is_cheap(n + 1, 10)) == (True, False)
    assert (auto_manifold(70000, 10), auto_manifold(70000, 784), auto_manifold(1_000_000, 10)) == ("parallel", "umap", "umap")
    m = manifold_module.PARALLEL_MIN_ROWS
    assert (auto_manifold(m - 1, 10), auto_manifold(m, 10)) == ("umap-exact", "parallel")
    monkeypatch.setattr(manifold_module, "AUTO_PREFERS_PARALLEL", False)
    assert (auto_manifold(70000, 10), auto_manifold(70000, 784), auto_manifold(1_000_000, 10)) == ("umap-exact", "umap", "umap")


def n2d(**kw):
    emb = AutoencoderEmbedding(latent_dim=3, hidden_dims=(16,), epochs=3, batch_size=64)
    return N2D(4, embedding=emb, manifold=small(n_components=3, random_state=None), random_state=0, **kw)


def test_n2d_with_parallel_manifold_is_reproducible_and_predicts(blobs, tmp_path):
    X, _ = blobs
    a, b = n2d().fit(X), n2d().fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.embedding_train_.tobytes() == b.embedding_train_.tobytes()
    np.testing.assert_array_equal(a.predict(X), a.labels_)
    X_new = X[:25] + 0.05
    np.testing.assert_array_equal(a.predict(X_new), b.predict(X_new))
    loaded = N2D.load(a.save(tmp_path / "n2d"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the re-fit after loading must reproduce the layout
        np.testing.assert_array_equal(loaded.predict(X_new), a.predict(X_new))


# -- umap-learn fed by the exact search ("umap-exact") -------------------------------------------

@pytest.fixture(scope="module")
def codes_5k():
    X, y = make_blobs(4500, centers=5, n_features=6, cluster_std=1.5, random_state=0)
    return X.astype(np.float32), y


def _exact_umap(**kw):
    from deepclust.methods.manifold._exact_umap import ExactKnnUMAP

    return ExactKnnUMAP(**{"n_neighbors": 15, "min_dist": 0.0, "n_components": 3, "n_epochs": 30, "random_state": 0, **kw})


def test_exact_umap_is_umap_learn_below_its_small_data_size(blobs):
    from deepclust.methods._umap_cache import import_umap

    X, _ = blobs
    assert X.shape[0] < 4096
    plain = import_umap().UMAP(n_neighbors=15, min_dist=0.0, n_components=3, n_epochs=30, random_state=0).fit_transform(X)
    assert _exact_umap().fit_transform(X).tobytes() == plain.tobytes()


def test_exact_umap_uses_the_true_neighbours_and_transforms_new_points(codes_5k):
    X, y = codes_5k
    m = _exact_umap()
    M = m.fit_transform(X)
    idx, dist = exact_knn(X, None, 15)
    np.testing.assert_array_equal(m._knn_indices, idx)  # the graph is built on the exact neighbours
    assert m.precomputed_knn == (None, None, None)  # the parameter is back to its default: clone and save see that
    again = _exact_umap().fit_transform(X)
    assert again.tobytes() == M.tobytes()  # same seed, same bytes
    np.testing.assert_array_equal(m.transform(X), M)  # the training data short-circuit, as in umap-learn
    new = X[:40] + 0.01
    Mn = m.transform(new)
    assert Mn.shape == (40, 3) and np.isfinite(Mn).all()
    centre = np.stack([M[y == c].mean(0) for c in range(5)])
    nearest = np.argmin(((Mn[:, None, :] - centre[None]) ** 2).sum(-1), axis=1)
    assert (nearest == y[:40]).mean() >= 0.9  # new points land with their blob


def test_build_manifold_umap_exact_and_n2d_round_trip(codes_5k, tmp_path):
    from deepclust.methods.manifold._exact_umap import ExactKnnUMAP

    m = build_manifold("umap-exact", 5, 3, 10000)
    assert isinstance(m, ExactKnnUMAP) and (m.n_neighbors, m.min_dist, m.n_components, m.random_state) == (20, 0.0, 5, 3)
    X, _ = codes_5k
    emb = AutoencoderEmbedding(latent_dim=3, hidden_dims=(16,), epochs=1, batch_size=256)
    model = N2D(5, embedding=emb, manifold=_exact_umap(random_state=None), random_state=0).fit(X)
    loaded = N2D.load(model.save(tmp_path / "n2d"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the re-fit after loading reproduces the layout
        np.testing.assert_array_equal(loaded.predict(X[:50] + 0.01), model.predict(X[:50] + 0.01))
