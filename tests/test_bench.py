"""The benchmark harness: config validation, per-process cells, resume, failures, report."""

import json
import sys

import numpy as np
import pandas as pd
import pytest

from deepclust.bench import COLUMNS, HARNESS_COLUMNS, load_config, make_report, parse_seeds, run
from deepclust.cli import main


@pytest.fixture
def blobs_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.5, (30, 4)) for c in (0, 5, 10)])
    df = pd.DataFrame(X, columns=list("abcd"))
    df["label"] = np.repeat([0, 1, 2], 30)
    path = tmp_path / "blobs.csv"
    df.to_csv(path, index=False)
    return path


def _config(tmp_path, blobs_csv, methods):
    return {
        "name": "t", "results": str(tmp_path / "res.csv"), "seeds": "0-1", "time_limit": 300,
        "datasets": [{"path": str(blobs_csv), "label_column": "label", "label": "blobs"}],
        "methods": methods,
    }


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("1-2,7") == [1, 2, 7]
    with pytest.raises(ValueError, match="empty"):
        parse_seeds("3-1")
    with pytest.raises(ValueError, match="seeds must look like"):
        parse_seeds("a-b")


@pytest.mark.parametrize(
    "patch, needle",
    [
        ({"seedz": [0]}, "did you mean 'seeds'"),
        ({"methods": [{"name": "n2dd"}]}, "did you mean 'n2d'"),
        ({"methods": [{"name": "kmeans", "parms": {}}]}, "did you mean 'params'"),
        ({"datasets": []}, "no \\[\\[datasets\\]\\]"),
        ({"methods": [{"name": "kmeans", "per_dataset": {"mnist": {"epochs": 3}}}]}, "not in the grid"),
        ({"methods": [{"name": "kmeans"}, {"name": "kmeans"}]}, "duplicate method"),
    ],
)
def test_config_errors(tmp_path, blobs_csv, patch, needle):
    cfg = {**_config(tmp_path, blobs_csv, [{"name": "kmeans"}]), **patch}
    with pytest.raises(ValueError, match=needle):
        load_config(cfg)


def test_toml_paths_are_relative_to_the_config(tmp_path, blobs_csv):
    (tmp_path / "c.toml").write_text(f'results = "out/r.csv"\n[[datasets]]\npath = "{blobs_csv.name}"\nlabel_column = "label"\n[[methods]]\nname = "gmm"\n')
    cfg = load_config(tmp_path / "c.toml")
    assert cfg.results == tmp_path / "out" / "r.csv"
    assert cfg.datasets[0].path == str(blobs_csv.resolve())
    assert cfg.seeds == [0, 1, 2]


def test_run_records_rows_failures_and_resumes(tmp_path, blobs_csv, monkeypatch):
    methods = [
        {"name": "kmeans"},
        {"name": "gmm", "label": "gmm-bad", "params": {}, "per_dataset": {}},
    ]
    cfg = _config(tmp_path, blobs_csv, methods)
    cfg["datasets"].append({"path": str(blobs_csv), "label_column": "label", "label": "blobs-k200", "n_clusters": 200})
    df = run(cfg, command="test")
    assert list(df.columns) == list(HARNESS_COLUMNS) and list(HARNESS_COLUMNS[: len(COLUMNS)]) == list(COLUMNS)
    assert len(df) == 8
    ok = df[df["status"] == "ok"]
    assert len(ok) == 4 and (ok["acc"].astype(float) == 1.0).all()
    bad = df[df["dataset"] == "blobs-k200"]
    assert (bad["status"] == "failed").all() and bad["error"].str.contains("larger than the number of samples").all()
    assert (ok["peak_rss_mb"].astype(float) > 50).all() and (ok["seconds"].astype(float) > 0).all()
    # Resume: finished cells are skipped; only the failed ones are tried again.
    pending = run(cfg, dry_run=True)
    assert set(pending["dataset"]) == {"blobs-k200"} and len(pending) == 4


def test_run_can_be_restricted_to_some_datasets_and_methods(tmp_path, blobs_csv):
    cfg = _config(tmp_path, blobs_csv, [{"name": "kmeans"}, {"name": "gmm"}])
    cfg["datasets"].append({"path": str(blobs_csv), "label_column": "label", "label": "other"})
    pending = run(cfg, dry_run=True, datasets=["other"], methods=["gmm"])
    assert set(zip(pending["dataset"], pending["method"])) == {("other", "gmm")} and len(pending) == 2
    df = run(cfg, command="test", datasets=["other"], methods=["gmm"])
    assert set(zip(df["dataset"], df["method"])) == {("other", "gmm")}  # the results file holds only what ran
    assert len(run(cfg, dry_run=True)) == 6  # the rest is still pending in the same results file
    with pytest.raises(ValueError, match=r"dataset 'nope' is not in the config; its datasets are blobs, other"):
        run(cfg, dry_run=True, datasets=["nope"])
    assert run(cfg, dry_run=True, seeds=[1])["seed"].tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match=r"seed '7' is not in the config; its seeds are 0, 1"):
        run(cfg, dry_run=True, seeds=[7])


def test_timeout_is_a_failed_cell_not_a_crash(tmp_path, blobs_csv):
    cfg = _config(tmp_path, blobs_csv, [{"name": "kmeans"}])
    cfg["time_limit"] = 0.01
    cfg["seeds"] = [0]
    df = run(cfg, command="test")
    assert df["status"].tolist() == ["timeout"]


def test_labels_never_reach_fit(tmp_path, blobs_csv, monkeypatch):
    # The cell code calls fit(X) only; check the estimator never sees y.
    from deepclust.bench import cell
    from deepclust.methods import raw

    seen = []
    original = raw.RawClustering.fit

    def spy(self, X, y=None):
        seen.append(y)
        return original(self, X)

    monkeypatch.setattr(raw.RawClustering, "fit", spy)
    spec = {"dataset": {"name": None, "path": str(blobs_csv), "options": {"label_column": "label"}}, "method": {"name": "kmeans", "params": {}}, "seed": 0}
    out = cell.run_cell(spec)
    assert seen == [None] and out["acc"] == 1.0


def test_report_markdown_html_and_per_dataset_settings(tmp_path):
    rows = []
    for ds, epochs in (("mnist", 20), ("usps", 50)):
        for seed in range(3):
            rows.append({"dataset": ds, "method": "n2d", "seed": seed, "n_samples": 100, "acc": 0.9 + seed / 100, "nmi": 0.8, "ari": 0.7,
                         "seconds": 10, "peak_rss_mb": 500, "device": "cpu", "commit": "abc", "command": "cmd", "status": "ok", "error": "",
                         "params": json.dumps({"epochs": epochs})})
    path = tmp_path / "r.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    rep = make_report([path])
    mnist = rep.table.set_index("dataset").loc["mnist"]
    assert mnist["ACC"] == "0.910 ± 0.010"
    assert mnist["published ACC / NMI"] == "0.979 / 0.942" and mnist["ACC gap"] == "-0.069"
    assert '"epochs": 20' in mnist["settings"]  # per-dataset settings are shown
    assert "data:image/png;base64," in rep.html and "<table>" in rep.html
    assert main(["bench", "--report", str(path), "--out", str(tmp_path / "rep"), "--quiet"]) == 0
    assert (tmp_path / "rep" / "report.html").exists() and (tmp_path / "rep" / "report.md").exists()


def test_cli_bench_needs_config_or_report(capsys):
    assert main(["bench"]) == 2
    assert "benchmark config" in capsys.readouterr().err


def test_shared_pretraining_is_fitted_once_and_equals_the_methods_own(tmp_path, blobs_csv):
    # Two methods share one pretrained autoencoder per (dataset, seed); each row still reports
    # the pretraining time, and the labels are those of a standalone fit with the same seed.
    from deepclust.datasets import load_table
    from deepclust.methods import build_method
    from deepclust.runs.data import plan_preprocessing

    emb = {"epochs": 3, "hidden_dims": [8], "latent_dim": 2, "batch_size": 32}
    methods = [
        {"name": "ae-kmeans", "params": emb, "pretrain": "shared"},
        {"name": "ae-gmm", "params": emb, "pretrain": "shared"},
    ]
    cfg = {**_config(tmp_path, blobs_csv, methods), "seeds": [0]}
    df = run(cfg, command="test")
    assert (df["status"] == "ok").all(), df["error"].tolist()
    cache = tmp_path / "_pretrained"
    folders = [p for p in cache.iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.startswith("blobs-seed0-")
    pretrain_s = json.loads(folders[0].with_name(folders[0].name + ".json").read_text())["seconds"]
    assert (df["seconds"].astype(float) >= pretrain_s).all()
    assert all(json.loads(p)["pretrain"] == "shared" for p in df["params"])
    # The cached pretraining is exactly the one each method would have fitted itself.
    from deepclust.methods import load_model

    data = load_table(blobs_csv, label_column="label")
    X = plan_preprocessing(data, "auto").fit_transform(data)  # the cell's data step, as deepclust fit's
    own = build_method("ae-kmeans", 3, 0, **emb).fit(X)
    np.testing.assert_array_equal(load_model(folders[0]).transform(X), own.embedding_.transform(X))
    from deepclust.metrics import cluster_accuracy

    assert float(df[df["method"] == "ae-kmeans"]["acc"].iloc[0]) == pytest.approx(cluster_accuracy(data.y, own.labels_))


def test_pretrain_dir_moves_the_shared_pretrainings(tmp_path, blobs_csv, capsys):
    # --pretrain-dir: a fresh folder, so every pretraining is trained (and timed) inside the run;
    # the default cache beside the results file is neither read nor written.
    path = tmp_path / "c.toml"
    path.write_text(
        f'results = "res.csv"\nseeds = [0]\n[[datasets]]\npath = "{blobs_csv.name}"\nlabel_column = "label"\nlabel = "blobs"\n'
        '[[methods]]\nname = "ae-kmeans"\npretrain = "shared"\nparams = {epochs = 2, hidden_dims = [8], latent_dim = 2, batch_size = 32}\n'
    )
    fresh = tmp_path / "fresh"
    assert main(["bench", str(path), "--pretrain-dir", str(fresh), "--quiet"]) == 0
    assert [p.name for p in fresh.iterdir() if p.is_dir()][0].startswith("blobs-seed0-")
    assert not (tmp_path / "_pretrained").exists()
    (tmp_path / "a_file").write_text("x")
    assert main(["bench", str(path), "--pretrain-dir", str(tmp_path / "a_file")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file, not a folder" in err[0]


def test_shared_pretraining_needs_a_deep_method(tmp_path, blobs_csv):
    with pytest.raises(ValueError, match="no autoencoder to pretrain"):
        load_config(_config(tmp_path, blobs_csv, [{"name": "kmeans", "pretrain": "shared"}]))


def test_a_dataset_can_have_its_own_seeds(tmp_path, blobs_csv):
    cfg = _config(tmp_path, blobs_csv, [{"name": "kmeans"}])
    cfg["datasets"].append({"path": str(blobs_csv), "label_column": "label", "label": "blobs5", "seeds": "0-4"})
    cells = [(d.key, s) for d, _, s in load_config(cfg).cells()]
    assert cells == [("blobs", 0), ("blobs", 1)] + [("blobs5", s) for s in range(5)]


def test_internal_metrics_are_recorded_beside_the_results(tmp_path, blobs_csv):
    cfg = {**_config(tmp_path, blobs_csv, [{"name": "kmeans"}]), "seeds": [0], "internal_metrics": True}
    run(cfg, command="test")
    rows = pd.read_csv(tmp_path / "res_internal.csv")
    assert list(rows["method"]) == ["kmeans"] and rows["space_dims"].iloc[0] == 4
    # three well-separated blobs: a high silhouette, a low Davies-Bouldin index
    assert rows["silhouette"].iloc[0] > 0.7 and rows["davies_bouldin"].iloc[0] < 0.5
    cfg2 = {**cfg, "results": str(tmp_path / "plain.csv"), "internal_metrics": False}
    run(cfg2, command="test")
    assert not (tmp_path / "plain_internal.csv").exists()


def test_a_deep_cell_records_its_start_and_stop_beside_the_results(tmp_path, blobs_csv):
    emb = {"embedding": {"hidden_dims": [16], "latent_dim": 2, "epochs": 3, "precision": "float32", "device": "cpu"}}
    cfg = {**_config(tmp_path, blobs_csv, [{"name": "kmeans"}, {"name": "dec", "params": {**emb, "max_iter": 20}}]), "seeds": [0]}
    run(cfg, command="test")
    rows = pd.read_csv(tmp_path / "res_training.csv")
    assert list(rows["method"]) == ["dec"]  # k-means has no start to record
    row = rows.iloc[0]
    assert 0 < row["start_acc"] <= 1 and 0 < row["steps"] <= 20 and isinstance(row["stop_reason"], str) and row["stop_reason"]
    result = pd.read_csv(tmp_path / "res.csv").set_index("method").loc["dec"]
    assert row["commit"] == result["commit"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux-only")
def test_a_cell_process_dies_with_its_bench_process():
    """A bench killed by SIGKILL must not leave its cell training on as an orphan."""
    import os
    import signal
    import subprocess
    import time

    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         "from deepclust.bench.runner import _die_with_parent\n"
         "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], preexec_fn=_die_with_parent)\n"
         "print(c.pid, flush=True)\n"
         "time.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().split(")")[-1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False

    deadline = time.time() + 10
    while alive(child) and time.time() < deadline:
        time.sleep(0.1)
    assert not alive(child)
