"""Association statistics, the confounder check, and both through fit/predict and the CLI."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import exposome_or_skip
from deepclust.cli import main
from deepclust.explain.associations import categorical_association, numeric_association
from deepclust.explain.confounders import ConfounderWarning, confounder_check, covariate_kind


# -- the statistics by hand -----------------------------------------------------------------
def test_cramers_v_by_hand():
    # clusters x levels table [[30, 10], [10, 30]]: chi2 = 80 * (30*30 - 10*10)^2 / (40^4) = 20
    labels = [0] * 40 + [1] * 40
    values = ["a"] * 30 + ["b"] * 10 + ["a"] * 10 + ["b"] * 30
    chi2, p, v = categorical_association(labels, values)
    assert chi2 == pytest.approx(20.0)
    assert v == pytest.approx(np.sqrt(20.0 / 80))
    assert p == pytest.approx(stats.chi2.sf(20.0, 1))


def test_cramers_v_is_one_for_identical_partitions_and_ignores_missing():
    labels = np.repeat([0, 1, 2], 10)
    values = np.repeat(["x", "y", "z"], 10).astype(object)
    values[0] = None
    _, p, v = categorical_association(labels, values)
    assert v == pytest.approx(1.0) and p < 1e-10
    assert categorical_association([0, 0, 1], ["a", "a", "a"]) == (0.0, 1.0, 0.0)


def test_eta_squared_by_hand():
    labels = [0] * 5 + [1] * 5
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    h, p, e2 = numeric_association(labels, values)
    # ranks 1..5 vs 6..10: H = 12/(10*11) * (15^2/5 + 40^2/5) - 3*11 = 6.8181...
    assert h == pytest.approx(12 / 110 * (225 / 5 + 1600 / 5) - 33)
    assert e2 == pytest.approx((h - 2 + 1) / (10 - 2))
    assert p == pytest.approx(stats.chi2.sf(h, 1))
    assert numeric_association([0, 1, 0, 1], [np.nan, 1.0, 1.0, 1.0]) == (0.0, 1.0, 0.0)


def test_covariate_kind_guess():
    assert covariate_kind(pd.Series([1, 2, 3, 18] * 5)) == "categorical"  # plate numbers
    assert covariate_kind(pd.Series(np.arange(100))) == "numeric"  # run order
    assert covariate_kind(pd.Series([7.2, 8.1, 6.9])) == "numeric"
    assert covariate_kind(pd.Series(["f", "m", None])) == "categorical"


# -- the check ------------------------------------------------------------------------------
def _design(rng, n=300):
    plate = rng.integers(0, 6, n)
    sex = rng.choice(["f", "m"], n)
    age = rng.normal(8, 1, n)
    return pd.DataFrame({"plate": plate, "sex": sex, "age": age, "run": rng.permutation(n)})


def test_warns_when_clusters_follow_the_plate():
    rng = np.random.default_rng(0)
    meta = _design(rng)
    labels = meta["plate"].to_numpy() % 3  # clusters = groups of plates
    with pytest.warns(ConfounderWarning, match="'plate'"):
        out = confounder_check(labels, meta, technical=["plate", "run"], biological=["sex", "age"])
    assert "plate" in out["warning"] and "no biological covariate" in out["warning"]
    rows = {r["covariate"]: r for r in out["associations"]}
    assert set(rows) == {"plate", "run", "sex", "age"}
    assert rows["plate"]["test"] == "chi-square" and rows["plate"]["effect_size"] > 0.9
    assert rows["run"]["test"] == "kruskal-wallis" and rows["run"]["p_value"] > 0.01
    for r in out["associations"]:
        assert {"covariate", "role", "test", "statistic", "p_value", "effect_size"} <= set(r)
    json.dumps(out)  # ready for metrics.json


def test_no_warning_when_the_biology_is_stronger():
    rng = np.random.default_rng(1)
    meta = _design(rng)
    labels = (meta["sex"] == "f").to_numpy().astype(int)
    labels[rng.random(len(labels)) < 0.1] = 2  # a few mixed in, and a weak plate link
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfounderWarning)
        out = confounder_check(labels, meta, technical=["plate"], biological=["sex"])
    assert "warning" not in out


def test_override_of_the_kind_and_bad_names():
    meta = pd.DataFrame({"plate": [1, 2, 3, 4] * 10})
    out = confounder_check([0, 1] * 20, meta, technical=["plate:numeric"], warn=False)
    assert out["associations"][0]["test"] == "kruskal-wallis"
    with pytest.raises(ValueError, match="did you mean 'plate'"):
        confounder_check([0, 1] * 20, meta, technical=["plates"])


# -- through the run folder and the CLI --------------------------------------------------------
@pytest.fixture()
def plate_table(tmp_path):
    """A table whose strongest structure is the plate: the CLI must say so, and ComBat fixes it."""
    rng = np.random.default_rng(0)
    n, d = 120, 6
    plate = np.repeat([1, 2, 3], n // 3)
    sex = rng.choice(["f", "m"], n)
    X = rng.normal(size=(n, d)) + (plate[:, None] - 2) * 4.0 + (sex == "f")[:, None] * 0.3
    X[rng.random((n, d)) < 0.03] = np.nan
    ids = [f"c{i}" for i in range(n)]
    data = tmp_path / "table.csv"
    pd.DataFrame(X, index=ids, columns=[f"m{j}" for j in range(d)]).to_csv(data)  # unnamed first column: the IDs
    cov = tmp_path / "cov.csv"
    pd.DataFrame({"id": ids[::-1], "plate": plate[::-1], "sex": sex[::-1]}).to_csv(cov, index=False)  # other order
    return data, cov, plate


def test_cli_warns_about_the_plate_and_combat_removes_it(plate_table, tmp_path, capsys):
    data, cov, plate = plate_table
    out = tmp_path / "run"
    args = ["fit", "--data", str(data), "--covariates", str(cov), "--method", "kmeans", "--n-clusters", "3", "--quiet",
            "--technical", "plate", "--biological", "sex", "--out", str(out)]
    assert main([*args, "--preprocess", "impute"]) == 0
    printed = capsys.readouterr().out
    assert "WARNING: the clusters track the technical covariate 'plate'" in printed
    doc = json.loads((out / "metrics.json").read_text())
    assert "plate" in doc["confounders"]["warning"]
    assert doc["preprocess"] == ["impute", "standard"]

    assert main([*args, "--overwrite", "--preprocess", "dropmissing:0.5,impute:knn=3,combat:batch=plate:preserve=sex"]) == 0
    printed = capsys.readouterr().out
    assert "WARNING" not in printed
    doc = json.loads((out / "metrics.json").read_text())
    plate_row = next(r for r in doc["confounders"]["associations"] if r["covariate"] == "plate")
    assert plate_row["p_value"] > 1e-3 and "warning" not in doc["confounders"]

    # predict replays imputation and ComBat: it needs the plates, and refuses an unknown one
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out), "--data", str(data), "--covariates", str(cov), "--out", str(pred), "--quiet"]) == 0
    labels = pd.read_csv(out / "labels.csv")["cluster"].to_numpy()
    np.testing.assert_array_equal(pd.read_csv(pred)["cluster"].to_numpy(), labels)
    bad = tmp_path / "cov_bad.csv"
    pd.read_csv(cov).assign(plate=lambda f: f["plate"].replace({3: 9})).to_csv(bad, index=False)
    assert main(["predict", "--model", str(out), "--data", str(data), "--covariates", str(bad), "--out", str(tmp_path / "p2.csv"), "--quiet"]) == 2
    assert "batch '9' was not seen" in capsys.readouterr().err


def test_cli_without_covariates_says_how_to_give_them(plate_table, tmp_path, capsys):
    data, _, _ = plate_table
    code = main(["fit", "--data", str(data), "--method", "kmeans", "--n-clusters", "2", "--quiet", "--preprocess", "impute",
                 "--technical", "plate", "--out", str(tmp_path / "r")])
    assert code == 2 and "--covariates" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_old_run_folders_with_a_single_scaling_still_predict(tmp_path):
    from deepclust.datasets import Dataset
    from deepclust.runs import fit_run, predict_run

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(90, 5)) * [1, 10, 100, 1, 1] + np.repeat(np.eye(3, 5) * 5, 30, axis=0)).astype(np.float32)
    ds = Dataset("toy", X, None, [f"f{j}" for j in range(5)], np.array([str(i) for i in range(90)], dtype=object))
    run = fit_run(ds, method="kmeans", n_clusters=3, out=tmp_path / "run", scale="standard", plot=False)
    # rewrite the folder's preprocessing as the earlier format: {"kind": ..., "mean": ..., "scale": ...}
    (tmp_path / "run" / "preprocess.safetensors").unlink()
    X = ds.X.astype(np.float64)
    legacy = {"kind": "standard", "mean": X.mean(0).tolist(), "scale": np.where(X.std(0) > 0, X.std(0), 1.0).tolist()}
    (tmp_path / "run" / "preprocess.json").write_text(json.dumps(legacy))
    labels, _ = predict_run(tmp_path / "run", ds)
    assert (labels == run.labels).mean() > 0.99


# -- the benchmark cell and config, on the real exposome ------------------------------------------
def test_config_checks_preprocess_steps_when_loading():
    from deepclust.bench import load_config

    base = {"datasets": [{"name": "exposome", "preprocess": ["combat:batch=plate_batch"], "technical": "plate_batch"}], "methods": [{"name": "kmeans"}]}
    cfg = load_config(base)
    assert cfg.datasets[0].preprocess == ("combat:batch=plate_batch",) and cfg.datasets[0].technical == ("plate_batch",)
    base["datasets"][0]["preprocess"] = ["paretto"]
    with pytest.raises(ValueError, match="did you mean 'pareto'"):
        load_config(base)


@pytest.mark.data
def test_bench_cell_combat_removes_the_plate_from_serum_clusters():
    exposome_or_skip()
    from deepclust.bench.cell import run_cell

    from sklearn.cluster import KMeans

    from deepclust.datasets import load_dataset

    serum = load_dataset("exposome")
    X = (serum.X - serum.X.mean(0)) / serum.X.std(0)
    raw = KMeans(6, n_init=1, random_state=0).fit_predict(X)
    plate = confounder_check(raw, serum.metadata, technical=["plate_batch"], warn=False)["associations"][0]
    assert plate["p_value"] < 1e-8  # the observation: k-means clusters follow the plate
    d = {"name": "exposome", "options": {"table": "serum"}, "technical": ["plate_batch"], "biological": ["e3_sex"], "preprocess": ["combat:batch=plate_batch"]}
    out = run_cell({"dataset": d, "method": {"name": "gmm-diag", "params": {}}, "seed": 0})
    corrected = {a["covariate"]: a for a in out["associations"]}
    assert corrected["plate_batch"]["p_value"] > 1e-3 and corrected["e3_sex"]["role"] == "biological"


@pytest.mark.data
def test_exposome_serum_plus_urine_and_its_covariates():
    exposome_or_skip()
    from deepclust.datasets import load_dataset

    ds = load_dataset("exposome", table="serum+urine")
    assert ds.X.shape == (1152, 221) and ds.feature_names[0] == "serum_metab_1" and ds.feature_names[-1].startswith("urine_")
    assert "plate_batch" in ds.metadata.columns and len(np.unique(ds.y)) == 6
    assert ds.info["confounders"]["technical"][0] == "plate_batch"
    serum = load_dataset("exposome")
    np.testing.assert_array_equal(ds.X[:, :177], serum.X)
