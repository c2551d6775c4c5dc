"""Tests of deepclust.metrics: hand-computed cases, sklearn agreement and invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from deepclust import metrics
from deepclust.metrics import (
    ami,
    ari,
    calinski_harabasz,
    cluster_accuracy,
    davies_bouldin,
    evaluate,
    hungarian_mapping,
    nmi,
    purity,
    silhouette,
)
from deepclust.metrics import _internal


# --- external metrics: hand-computed cases -------------------------------------------------


def test_accuracy_perfect_under_relabelling():
    assert cluster_accuracy([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 2]) == 1.0


def test_accuracy_fewer_clusters_than_classes():
    # contingency (classes x clusters) = [[3, 0], [0, 2], [0, 1]]: class 2 is unmatched.
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 0, 1, 1, 1]
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert purity(y_true, y_pred) == pytest.approx(5 / 6)


def test_accuracy_more_clusters_than_classes_counts_unmatched_as_errors():
    # contingency = [[2, 2, 0], [0, 0, 2]]: one of clusters 0/1 is unmatched.
    y_true = [0, 0, 0, 0, 1, 1]
    y_pred = [0, 0, 1, 1, 2, 2]
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    # purity lets clusters 0 and 1 both take class 0.
    assert purity(y_true, y_pred) == pytest.approx(1.0)


def test_accuracy_is_optimal_not_greedy():
    # contingency (classes a, b x clusters x, y) = [[3, 2], [2, 0]]. Greedily matching the
    # largest cell a->x gives 3 + 0; the optimum a->y, b->x gives 2 + 2 = 4 of 7.
    y_true = ["a"] * 5 + ["b"] * 2
    y_pred = ["x", "x", "x", "y", "y", "x", "x"]
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(4 / 7)
    assert hungarian_mapping(y_true, y_pred) == {"x": "b", "y": "a"}


def test_purity_by_hand():
    # clusters: 0 -> {a, a, b} majority 2; 1 -> {b, c} majority 1; 2 -> {c} 1 => 4 / 6.
    y_true = ["a", "a", "b", "b", "c", "c"]
    y_pred = [0, 0, 0, 1, 1, 2]
    assert purity(y_true, y_pred) == pytest.approx(4 / 6)


def test_string_labels_and_permutation():
    y_true = ["cat", "cat", "dog", "dog", "eel"]
    y_pred = ["B", "B", "C", "C", "A"]
    assert cluster_accuracy(y_true, y_pred) == 1.0
    assert nmi(y_true, y_pred) == pytest.approx(1.0)
    assert ari(y_true, y_pred) == pytest.approx(1.0)
    assert hungarian_mapping(y_true, y_pred) == {"A": "eel", "B": "cat", "C": "dog"}


def test_mixed_type_labels_are_distinct():
    # 1 and "1" are different clusters, not cast to the same string.
    assert purity([0, 0, 1, 1], [1, 1, "1", "1"]) == 1.0
    assert cluster_accuracy([0, 0, 1, 1], [1, 1, "1", "1"]) == 1.0


def test_hungarian_mapping_reproduces_accuracy():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, size=200)
    y_pred = rng.integers(0, 6, size=200)
    mapping = hungarian_mapping(y_true, y_pred)
    assert len(mapping) == 4  # min(n_classes, n_clusters)
    mapped = np.array([mapping.get(p, -1) for p in y_pred])
    assert np.mean(mapped == y_true) == pytest.approx(cluster_accuracy(y_true, y_pred))


def test_wrappers_match_sklearn():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 3, size=100)
    y_pred = rng.integers(0, 4, size=100)
    assert nmi(y_true, y_pred) == pytest.approx(
        skm.normalized_mutual_info_score(y_true, y_pred, average_method="arithmetic")
    )
    assert ari(y_true, y_pred) == pytest.approx(skm.adjusted_rand_score(y_true, y_pred))
    assert ami(y_true, y_pred) == pytest.approx(skm.adjusted_mutual_info_score(y_true, y_pred))
    assert nmi([0, 0, 1, 1], [0, 0, 0, 0]) == pytest.approx(0.0)


@pytest.mark.parametrize("fn", [cluster_accuracy, purity, nmi, ari, ami, hungarian_mapping])
def test_external_validation(fn):
    with pytest.raises(ValueError, match="same length"):
        fn([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="1-D"):
        fn(np.zeros((3, 2)), [0, 1, 1])


# --- external metrics: properties ----------------------------------------------------------

_labels = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=60, deadline=None)
@given(_labels)
def test_invariant_under_relabelling_and_row_permutation(data):
    y_true, y_pred, rnd = data
    y_true, y_pred = np.array(y_true), np.array(y_pred)
    # Rename clusters with a random injective map onto strings.
    names = [f"c{i}" for i in range(6)]
    rnd.shuffle(names)
    relabelled = np.array([names[p] for p in y_pred])
    perm = np.array(rnd.sample(range(len(y_true)), len(y_true)))
    for fn in (cluster_accuracy, nmi, ari, purity):
        base = fn(y_true, y_pred)
        assert fn(y_true, relabelled) == pytest.approx(base, abs=1e-12)
        assert fn(y_true[perm], y_pred[perm]) == pytest.approx(base, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(_labels)
def test_accuracy_bounds_and_purity_dominates(data):
    y_true, y_pred, _ = data
    acc = cluster_accuracy(y_true, y_pred)
    assert 0.0 < acc <= 1.0  # at least one matched pair covers >= 1 point
    assert purity(y_true, y_pred) >= acc - 1e-12
    assert cluster_accuracy(y_true, y_true) == 1.0


# --- internal metrics ----------------------------------------------------------------------


def _blobs(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    X = rng.normal(size=(n, 2)) + 5.0 * labels[:, None]
    return X, labels


def test_silhouette_equals_sklearn_below_sample_size():
    X, labels = _blobs(300)
    assert silhouette(X, labels) == pytest.approx(skm.silhouette_score(X, labels))
    assert silhouette(X, labels, sample_size=None) == pytest.approx(skm.silhouette_score(X, labels))


def test_silhouette_uses_a_fixed_sample_above_sample_size(monkeypatch):
    X, labels = _blobs(2000)
    seen = []
    real = _internal.silhouette_score

    def spy(X_, labels_, **kw):
        seen.append(X_.shape[0])
        return real(X_, labels_, **kw)

    monkeypatch.setattr(_internal, "silhouette_score", spy)
    value = silhouette(X, labels, sample_size=500, random_state=3)
    assert seen == [500]
    # Same draw as sklearn's own sampling, and reproducible.
    assert value == pytest.approx(real(X, labels, sample_size=500, random_state=3))
    assert silhouette(X, labels, sample_size=500, random_state=3) == value


def test_internal_nan_on_degenerate():
    X, _ = _blobs(20)
    one = np.zeros(20, dtype=int)
    own = np.arange(20)
    for fn in (silhouette, davies_bouldin, calinski_harabasz):
        assert math.isnan(fn(X, one))
        assert math.isnan(fn(X, own))


def test_internal_match_sklearn_and_validate():
    X, labels = _blobs(200, seed=2)
    str_labels = np.array(["a", "b", "c"])[labels]
    assert davies_bouldin(X, str_labels) == pytest.approx(skm.davies_bouldin_score(X, labels))
    assert calinski_harabasz(X, str_labels) == pytest.approx(skm.calinski_harabasz_score(X, labels))
    with pytest.raises(ValueError, match="same number"):
        silhouette(X, labels[:-1])
    with pytest.raises(ValueError, match="sample_size"):
        silhouette(X, labels, sample_size=0)


# --- evaluate ------------------------------------------------------------------------------


def test_evaluate_keys_in_order():
    X, labels = _blobs(120)
    res = evaluate(labels, X=X, y_true=labels)
    assert list(res) == [
        "acc", "nmi", "ari", "ami", "purity",
        "silhouette", "davies_bouldin", "calinski_harabasz",
        "n_clusters", "smallest_cluster", "largest_cluster",
    ]  # fmt: skip
    assert res["acc"] == 1.0
    assert res["n_clusters"] == 3
    sizes = np.bincount(labels)
    assert (res["smallest_cluster"], res["largest_cluster"]) == (sizes.min(), sizes.max())
    assert all(isinstance(v, (int, float)) for v in res.values())


def test_evaluate_partial():
    assert list(evaluate(["a", "b", "b"])) == ["n_clusters", "smallest_cluster", "largest_cluster"]
    assert list(evaluate([0, 1, 1], y_true=[1, 0, 0]))[:5] == ["acc", "nmi", "ari", "ami", "purity"]
    res = evaluate([0, 0, 0], X=np.zeros((3, 2)))
    assert math.isnan(res["silhouette"]) and res["n_clusters"] == 1


def test_public_api():
    assert set(metrics.__all__) == {
        "cluster_accuracy", "purity", "nmi", "ari", "ami", "hungarian_mapping",
        "silhouette", "davies_bouldin", "calinski_harabasz", "evaluate",
    }  # fmt: skip
