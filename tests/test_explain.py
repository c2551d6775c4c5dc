"""Explaining clusters: hand-worked statistics, planted signals, and the explain command."""

import json

import numpy as np
import pandas as pd
import pytest

from deepclust.cli import main
from deepclust.explain import (
    benjamini_hochberg,
    cliffs_delta,
    covariate_associations,
    covariate_kinds,
    covariate_profiles,
    cramers_v,
    explain_clusters,
    kruskal_features,
    rank_features,
    top_features,
)


def test_benjamini_hochberg_by_hand():
    # sorted p: .01 .03 .04 .5 -> p*m/rank: .04 .06 .0533 .5 -> running min from the top
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    q = benjamini_hochberg([np.nan, 0.02, 0.04])  # NaN is not counted in m
    assert np.isnan(q[0]) and q[1:] == pytest.approx([0.04, 0.04])


def test_cliffs_delta_by_hand():
    # pairs of (3,4,5) vs (1,2,3): 8 greater, 0 smaller, 1 tie -> 8/9
    assert cliffs_delta([3, 4, 5], [1, 2, 3]) == pytest.approx(8 / 9)
    assert cliffs_delta([1, 2], [3, 4]) == -1.0
    # (1, 3) vs (2, 2): 1<2, 1<2, 3>2, 3>2 -> 0
    assert cliffs_delta([1, 3], [2, 2]) == 0.0


def test_cramers_v_perfect_and_none():
    assert cramers_v([[10, 0, 0], [0, 7, 0], [0, 0, 3]]) == pytest.approx(1.0)
    assert cramers_v([[10, 10], [10, 10]]) == pytest.approx(0.0)
    # 2x2 [[20, 10], [10, 20]]: chi2 = 60 * (400 - 100)^2 / (30^4) = 6.667, V = sqrt(6.667 / 60) = 1/3
    assert cramers_v([[20, 10], [10, 20]]) == pytest.approx(1 / 3)


def test_kruskal_eta_squared_by_hand():
    # (1,2,3) vs (4,5,6): H = 12/(6*7) * (6^2/3 + 15^2/3) - 3*7 = 27/7; eta^2 = (H - 1) / 4
    t = kruskal_features(np.array([[1.0], [2], [3], [4], [5], [6]]), [0, 0, 0, 1, 1, 1])
    assert t["h_statistic"].item() == pytest.approx(27 / 7)
    assert t["eta_squared"].item() == pytest.approx((27 / 7 - 1) / 4)


def _planted(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (3 * n, 5))
    labels = np.repeat([0, 1, 2], n)
    X[labels == 1, 2] += 4.0  # feature "c" marks cluster 1 (higher)
    X[labels == 2, 4] -= 4.0  # feature "e" marks cluster 2 (lower)
    return X, labels, list("abcde")


def test_rank_features_finds_planted_markers_with_signs():
    X, labels, names = _planted()
    t = rank_features(X, labels, feature_names=names)
    best = t[t["rank"] == 1].set_index("cluster")
    assert best.loc[1, "feature"] == "c" and best.loc[1, "cliffs_delta"] > 0.9 and best.loc[1, "q_value"] < 1e-6
    assert best.loc[2, "feature"] == "e" and best.loc[2, "cliffs_delta"] < -0.9
    noise = t[(t.cluster == 1) & (t.feature == "a")]
    assert noise["q_value"].item() > 0.01
    assert t["log2_fold_change"].isna().all()  # the data are not all positive
    assert set(top_features(t, 1)) == {"c", "e"}  # cluster 0 differs from the rest by both


def test_log2_fold_change_only_for_positive_features():
    X = np.array([[1.0, -1], [1, 1], [1, 2], [2, 3], [2, 4], [2, 5]])
    t = rank_features(X, [0, 0, 0, 1, 1, 1], feature_names=["pos", "mixed"]).set_index(["cluster", "feature"])
    assert t.loc[(1, "pos"), "log2_fold_change"] == pytest.approx(1.0)  # mean 2 vs mean 1
    assert t.loc[(0, "pos"), "log2_fold_change"] == pytest.approx(-1.0)
    assert np.isnan(t.loc[(1, "mixed"), "log2_fold_change"])


def test_constant_feature_gets_p_one():
    X = np.c_[np.ones(6), np.arange(6.0)]
    t = rank_features(X, [0, 0, 0, 1, 1, 1])
    assert (t[t.feature == "x0"]["p_value"] == 1.0).all()
    assert kruskal_features(X, [0, 0, 0, 1, 1, 1]).set_index("feature").loc["x0", "p_value"] == 1.0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="single cluster"):
        rank_features(np.ones((4, 2)), [0, 0, 0, 0])
    with pytest.raises(ValueError, match="labels must have shape"):
        rank_features(np.ones((4, 2)), [0, 1])
    with pytest.raises(ValueError, match="NaN"):
        rank_features(np.array([[np.nan, 1], [1, 1]]), [0, 1])


def test_covariate_kinds_and_associations():
    n = 60
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 20)
    cov = pd.DataFrame(
        {
            "ID": np.arange(n) + 1000,  # identifier: skipped
            "cohort": np.repeat([3, 1, 2], 20),  # integer codes, 3 levels: categorical, perfectly associated
            "sex": rng.choice(["f", "m"], n),
            "age": np.r_[rng.normal(5, 0.3, 20), rng.normal(8, 0.3, 20), rng.normal(11, 0.3, 20)],
            "const": 1.0,
            "bmi": np.where(np.arange(n) % 7 == 0, np.nan, rng.normal(20, 2, n)),
        }
    )
    kinds = covariate_kinds(cov)
    assert kinds == {"ID": "skip", "cohort": "categorical", "sex": "categorical", "age": "numeric", "const": "skip", "bmi": "numeric"}
    t = covariate_associations(labels, cov).set_index("covariate")
    assert t.loc["cohort", "effect"] == "cramers_v" and t.loc["cohort", "effect_size"] == pytest.approx(1.0)
    # fully separated groups of 20: H = 12/(60*61) * (210^2 + 610^2 + 1010^2)/20 - 3*61 = 52.46, eta^2 = (H - 2)/57
    assert t.loc["age", "test"] == "Kruskal-Wallis" and t.loc["age", "effect_size"] == pytest.approx((12 / 3660 * 71815 - 183 - 2) / 57)
    assert t.loc["bmi", "n"] == n - len(range(0, n, 7))  # missing values dropped
    assert t.loc["ID", "test"] == "skipped" and t.loc["const", "test"] == "skipped"
    assert t.loc["sex", "q_value"] > 0.01
    with pytest.raises(ValueError, match="not found"):
        covariate_associations(labels, cov, categorical=["nope"])
    forced = covariate_associations(labels, cov, numeric=["cohort"]).set_index("covariate")
    assert forced.loc["cohort", "test"] == "Kruskal-Wallis"


def test_covariate_profiles_fractions_and_medians():
    cov = pd.DataFrame({"sex": ["f", "f", "m", "f"], "age": [1.0, 3.0, 10.0, 20.0]})
    p = covariate_profiles([0, 0, 1, 1], cov, numeric=["age"]).set_index(["covariate", "level", "cluster"])["value"]
    assert p[("sex", "f", "0")] == 1.0 and p[("sex", "m", "1")] == 0.5 and p[("sex", "f", "all")] == 0.75
    assert p[("age", "median", "0")] == 2.0 and p[("age", "median", "1")] == 15.0


def test_explain_clusters_writes_tables_and_heatmap(tmp_path):
    X, labels, names = _planted()
    cov = pd.DataFrame({"site": np.where(labels == 0, "a", "b")})
    ex = explain_clusters(X, labels, feature_names=names, covariates=cov, n_top=2)
    ex.write(tmp_path / "ex")
    assert sorted(p.name for p in (tmp_path / "ex").iterdir()) == ["covariate_profiles.csv", "covariates.csv", "features.csv", "heatmap.png", "kruskal.csv"]
    assert (tmp_path / "ex" / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    assert pd.read_csv(tmp_path / "ex" / "kruskal.csv")["feature"].iloc[:2].tolist() in (["c", "e"], ["e", "c"])
    s = ex.summary()
    assert s.set_index("cluster").loc[1, "top_features"].startswith("c (+")


def test_explain_command_on_a_run_with_extra_covariates(tmp_path, capsys):
    X, labels, names = _planted(n=30)
    ids = [f"s{i}" for i in range(len(labels))]
    X[labels == 1, 2] += 4.0  # well apart, so that k-means recovers the three groups exactly
    X[labels == 2, 4] -= 4.0
    table = pd.DataFrame(X, columns=names)
    table.insert(0, "sid", ids)
    table.to_csv(tmp_path / "data.csv", index=False)
    pd.DataFrame({"ID": ids[::-1], "site": np.where(labels == 1, "x", "y")[::-1], "score": np.arange(len(ids), dtype=float)}).to_csv(tmp_path / "cov.csv", index=False)
    run = tmp_path / "run"
    assert main(["fit", "--data", str(tmp_path / "data.csv"), "--id-column", "sid", "--method", "kmeans", "--n-clusters", "3", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert json.loads((run / "metrics.json").read_text())["data"]["options"] == {"id_column": "sid"}
    assert main(["explain", str(run), "--covariates", str(tmp_path / "cov.csv"), "--drop-covariates", "score", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "cramers_v" in out and str(run / "explain") in out
    cov = pd.read_csv(run / "explain" / "covariates.csv").set_index("covariate")
    assert "score" not in cov.index
    # the covariate file lists the samples in reverse order: joined by ID, site gives the same V as computed here
    run_labels = pd.read_csv(run / "labels.csv")["cluster"].to_numpy()
    expected = cramers_v(pd.crosstab(run_labels, np.where(labels == 1, "x", "y")).to_numpy())
    assert cov.loc["site", "effect_size"] == pytest.approx(expected) and expected > 0.5
    feats = pd.read_csv(run / "explain" / "features.csv")
    assert set(feats["feature"]) == set(names)
    assert main(["explain", str(tmp_path / "nothing")]) == 2
