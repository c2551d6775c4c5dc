"""The run pipeline: a RunConfig and small steps (prepare, choose k, fit, evaluate, write), each alone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from deepclust.cli import main
from deepclust.datasets import Dataset, load_dataset
from deepclust.preprocess.auto_scale import auto_scaling
from deepclust.runs import RunConfig, fit_run, predict_run, select_k_run
from deepclust.runs.data import plan_preprocessing, resolve_n_clusters
from deepclust.runs.fitting import SnapshotRecorders, choose_k, resolve_k_range
from deepclust.runs.writing import run_description


def _blobs(n_per=30, centers=3, positive=True) -> Dataset:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(5.0 * c + (10 if positive else 0), 0.4, (n_per, 4)) for c in range(centers)]).astype(np.float32)
    y = np.repeat(np.arange(centers), n_per)
    return Dataset(name="blobs", X=X, y=y, feature_names=list("abcd"), sample_ids=np.array([f"s{i}" for i in range(len(y))], dtype=object))


def _blobs_csv(path, centers=3):
    d = _blobs(centers=centers)
    frame = pd.DataFrame(d.X, columns=d.feature_names)
    frame["group"] = d.y
    frame.to_csv(path, index=False)
    return path


# -- the data step ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scale, steps", [("auto", []), ("auto", ["log1p"]), ("auto", ["log1p", "minmax"]), ("minmax", []), ("none", ["log1p"])])
def test_scaling_is_the_auto_scale_rule(scale, steps):
    data = _blobs()
    prep = plan_preprocessing(data, scale, ",".join(steps) or None)
    assert (prep.scale, prep.reason) == auto_scaling(scale, data, steps)
    assert prep.scaling == {"scale": prep.scale, "reason": prep.reason}
    assert prep.preprocessor.specs == steps + ([prep.scale] if prep.scale != "none" else [])


def test_images_keep_their_values_and_tables_are_scaled():
    digits = load_dataset("digits")
    prep = plan_preprocessing(digits)
    X = prep.fit_transform(digits)
    assert prep.scale == "none" and X.dtype == np.float32 and np.array_equal(X, digits.X.astype(np.float32))
    table = _blobs()
    Xt = plan_preprocessing(table).fit_transform(table)
    assert np.allclose(Xt.mean(axis=0), 0, atol=1e-5) and np.allclose(Xt.std(axis=0), 1, atol=1e-4)


def test_an_empty_chain_is_fitted_and_refuses_missing_values(tmp_path):
    data = _blobs()
    prep = plan_preprocessing(data, "none")
    X = prep.fit_transform(data)
    prep.preprocessor.save(tmp_path)
    from deepclust.preprocess import Preprocessor

    assert np.array_equal(Preprocessor.load(tmp_path).transform(data.X), X)
    holes = data.X.copy()
    holes[3, 2] = np.nan
    with pytest.raises(ValueError, match="row 3, column 2"):
        plan_preprocessing(data, "none").fit_transform(Dataset(name="h", X=holes, y=None, feature_names=data.feature_names, sample_ids=data.sample_ids))


def test_bad_scale_names_the_value():
    with pytest.raises(ValueError, match="'zscore'"):
        plan_preprocessing(_blobs(), "zscore")


def test_number_of_clusters():
    data = _blobs()
    assert resolve_n_clusters(None, data) == 3 and resolve_n_clusters(5, data) == 5 and resolve_n_clusters("auto", data) == "auto"
    with pytest.raises(ValueError, match="no labels"):
        resolve_n_clusters(None, Dataset(name="u", X=data.X, y=None, feature_names=data.feature_names, sample_ids=data.sample_ids))


# -- the k choice, seeds and description steps ---------------------------------------------------------

def test_choose_k_alone_on_the_features():
    data = _blobs()
    X = plan_preprocessing(data).fit_transform(data)
    selection, embedding = choose_k(X, "kmeans", seed=0, k_range=[2, 3, 4, 5], n_bootstrap=2)
    assert selection.k == 3 and embedding is None and selection.table["k"].tolist() == [2, 3, 4, 5]
    assert resolve_k_range(None)[0] == 2 and resolve_k_range(range(3, 5)) == [3, 4]


def test_snapshot_recorders_one_per_seed_or_none():
    X = np.zeros((10, 3), np.float32)
    assert SnapshotRecorders(X, enabled=False)(0) == []
    rec = SnapshotRecorders(X, enabled=True)
    assert rec(0)[0] is rec(0)[0] and rec(1)[0] is not rec(0)[0] and rec.get(2) is None


def test_run_description_is_what_resume_compares():
    # Checkpoint folders of earlier versions hold this description: its keys must not change.
    data = _blobs()
    cfg = RunConfig(method="ae-kmeans", n_clusters="auto", autoencoder_options={"epochs": 2, "verbose": True, "lr": None})
    plan = cfg.seed_plan()
    run = run_description(data, cfg, k="auto", seed=plan.seed, seeds=plan.seeds, prep=plan_preprocessing(data))
    assert run == {"dataset": "blobs", "n_samples": 90, "n_features": 4, "method": "ae-kmeans", "n_clusters": "auto", "seed": 0,
                   "scale": "standard", "preprocess": [], "epochs": 2, "k_range": "default"}


@pytest.mark.parametrize("field, value", [("n_clusters", 0), ("n_clusters", "many"), ("checkpoint_every", 0), ("n_bootstrap", -1)])
def test_config_names_a_bad_value(field, value):
    with pytest.raises(ValueError, match=f"{field} must be .*{value!r}"):
        RunConfig(**{field: value})


def test_seed_plan():
    assert RunConfig(seeds=[4]).seed_plan().seed == 4 and RunConfig(seeds=[4]).seed_plan().seeds is None
    plan = RunConfig(seed=9, seeds=[2, 3]).seed_plan()
    assert plan.first == 2 and plan.seeds == [2, 3]


# -- the whole pipeline ----------------------------------------------------------------------------------

def test_fit_run_with_a_config_equals_keywords_and_records_scaling(tmp_path):
    data = _blobs()
    a = fit_run(data, method="kmeans", out=tmp_path / "a", plot=False, preprocess="log1p")
    b = fit_run(data, RunConfig(method="kmeans", out=tmp_path / "b", plot=False, preprocess="log1p"))
    assert np.array_equal(a.labels, b.labels) and a.metrics["metrics"]["acc"] == 1.0
    doc = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert doc["scale"] == "standard" and doc["scaling"] == {"scale": "standard", "reason": auto_scaling("auto", data, ["log1p"])[1]}
    assert doc["preprocess"] == ["log1p", "standard"]
    labels, _ = predict_run(tmp_path / "a", data)
    assert np.array_equal(labels, a.labels)
    with pytest.raises(TypeError):
        fit_run(data, mehtod="kmeans")


def test_select_k_takes_preprocess_and_sweeps_the_data_fit_auto_sweeps(tmp_path, capsys):
    csv = _blobs_csv(tmp_path / "blobs.csv")
    common = ["--data", str(csv), "--label-column", "group", "--method", "kmeans", "--k-range", "2-5", "--bootstrap", "2",
              "--preprocess", "log1p", "--quiet"]
    assert main(["select-k", *common, "--out", str(tmp_path / "sk")]) == 0
    assert main(["fit", *common, "--n-clusters", "auto", "--out", str(tmp_path / "fit")]) == 0
    sk = json.loads((tmp_path / "sk" / "select_k.json").read_text())
    fit = json.loads((tmp_path / "fit" / "metrics.json").read_text())
    assert sk["preprocess"] == fit["preprocess"] == ["log1p", "standard"] and sk["scaling"] == fit["scaling"]
    assert sk["chosen_k"] == fit["n_clusters"] == 3
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "sk" / "select_k.csv"), pd.read_csv(tmp_path / "fit" / "select_k.csv"))


def test_select_k_preprocess_changes_the_data_it_sweeps(tmp_path):
    data = _blobs()
    plain = select_k_run(data, RunConfig(method="kmeans", k_range=[2, 3], n_bootstrap=2, out=tmp_path / "plain", plot=False))
    logged = select_k_run(data, RunConfig(method="kmeans", k_range=[2, 3], n_bootstrap=2, out=tmp_path / "log", plot=False,
                                          preprocess="log1p,minmax"))
    assert logged.preprocessing.scale == "none" and logged.preprocessing.preprocessor.specs == ["log1p", "minmax"]
    assert not plain.result.table["silhouette"].equals(logged.result.table["silhouette"])
    with pytest.raises(ValueError, match="unknown method 'kmean'"):
        select_k_run(data, RunConfig(method="kmean", out=tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_metrics_json_times_every_phase_of_the_run(tmp_path):
    csv = _blobs_csv(tmp_path / "blobs.csv")
    assert main(["fit", "--data", str(csv), "--label-column", "group", "--method", "kmeans", "--out", str(tmp_path / "r"), "--quiet"]) == 0
    timings = json.loads((tmp_path / "r" / "metrics.json").read_text())["timings"]
    phases = ["load", "preprocess", "fit", "transform", "evaluate", "write_analysis_files", "plot", "save_model"]
    assert list(timings) == phases
    assert all(isinstance(timings[p], float) and timings[p] >= 0 for p in phases)
    assert timings["plot"] > 0  # a figure was drawn and saved: not a placeholder zero
    # without the CLI (no loading timed) and without a plot, the phases that ran are the ones listed
    doc = fit_run(_blobs(), method="kmeans", out=tmp_path / "p", plot=False).metrics
    assert list(doc["timings"]) == ["preprocess", "fit", "transform", "evaluate", "write_analysis_files", "save_model"]
    assert doc == json.loads((tmp_path / "p" / "metrics.json").read_text())
