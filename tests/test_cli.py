"""The command line, end to end on the bundled digits (small, no download)."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from deepclust.cli import build_parser, main


def run_cli(*args):
    """main() returns the exit status; argparse's own errors raise SystemExit with it."""
    try:
        return main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code


def test_defaults_are_n2d_on_digits_into_runs():
    args = build_parser().parse_args(["fit"])
    assert (args.data, args.method, args.out, args.seed) == ("digits", "n2d", None, 0)


def test_fit_writes_complete_run_folder_and_predict_reproduces_labels(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("fit", "--method", "kmeans", "--out", out, "--quiet") == 0
    printed = capsys.readouterr().out
    assert "acc" in printed and str(out) in printed
    assert sorted(p.name for p in out.iterdir()) == ["embedding.png", "embedding_2d.npz", "images.npz", "labels.csv", "metrics.json", "model", "preprocess.json"]
    labels = pd.read_csv(out / "labels.csv")
    assert list(labels.columns) == ["sample_id", "cluster"] and len(labels) == 1797
    doc = json.loads((out / "metrics.json").read_text())
    for key in ("acc", "nmi", "ari", "silhouette", "davies_bouldin", "calinski_harabasz"):
        assert key in doc["metrics"]
    assert doc["metrics"]["acc"] > 0.6  # k-means on digits is about 0.79
    assert (out / "embedding.png").read_bytes()[:4] == b"\x89PNG"
    pred = tmp_path / "pred.csv"
    assert run_cli("predict", "--model", out, "--data", "digits", "--out", pred) == 0
    assert np.array_equal(pd.read_csv(pred)["cluster"], labels["cluster"])


def test_autoencoder_method_and_predict_from_model_folder(tmp_path):
    out = tmp_path / "ae"
    assert run_cli("fit", "--method", "ae-gmm", "--epochs", 2, "--out", out, "--quiet", "--seed", 3) == 0
    assert json.loads((out / "history.json").read_text())["epoch"] == [0, 1]
    pred = tmp_path / "p.csv"
    assert run_cli("predict", "--model", out / "model", "--data", "digits", "--out", pred, "--quiet") == 0
    assert np.array_equal(pd.read_csv(pred)["cluster"], pd.read_csv(out / "labels.csv")["cluster"])


def test_same_seed_same_labels(tmp_path):
    for name in ("a", "b"):
        assert run_cli("fit", "--method", "ae-kmeans", "--epochs", 2, "--out", tmp_path / name, "--quiet", "--seed", 7) == 0
    a, b = (pd.read_csv(tmp_path / n / "labels.csv") for n in ("a", "b"))
    assert a.equals(b)


def test_csv_with_standard_scaling_and_replay(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (40, 3)), rng.normal(8, 1, (40, 3))]) * [1, 100, 1000]
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df.insert(0, "id", [f"s{i}" for i in range(80)])
    df["group"] = [0] * 40 + [1] * 40
    df.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "run"
    code = run_cli("fit", "--data", tmp_path / "t.csv", "--id-column", "id", "--label-column", "group", "--method", "gmm", "--out", out, "--quiet")
    assert code == 0
    assert [s["spec"] for s in json.loads((out / "preprocess.json").read_text())["steps"]] == ["standard"]
    assert json.loads((out / "metrics.json").read_text())["metrics"]["acc"] == 1.0
    assert pd.read_csv(out / "labels.csv")["sample_id"].iloc[0] == "s0"
    assert run_cli("predict", "--model", out, "--data", tmp_path / "t.csv", "--id-column", "id", "--label-column", "group", "--out", tmp_path / "p.csv") == 0
    assert np.array_equal(pd.read_csv(tmp_path / "p.csv")["cluster"], pd.read_csv(out / "labels.csv")["cluster"])


def test_existing_output_is_kept_without_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert run_cli("fit", "--method", "kmeans", "--out", out, "--quiet") == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert (out / "precious.txt").read_text() == "keep me"
    assert run_cli("fit", "--method", "kmeans", "--out", out, "--quiet", "--overwrite") == 0
    assert not (out / "precious.txt").exists() and (out / "labels.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary folders left behind


@pytest.mark.parametrize(
    "args, needle",
    [
        (["fit", "--method", "n2dd"], "did you mean 'n2d'"),
        (["fit", "--data", "no-such-file.csv"], "no-such-file.csv"),
        (["fit", "--data", "mnistt"], "did you mean"),
        (["fit", "--method", "kmeans", "--n-clusters", "5000"], "larger than the number of samples"),
        (["fit", "--method", "kmeans", "--n-clusters", "0"], "positive integer"),
        (["fit", "--device", "tpu", "--method", "ae-kmeans"], "device"),
        (["fit", "--method", "simclr-kmeans", "--augment", "mixup=0.2", "--steps", "2"], "brightness"),  # the views' options, named
        (["fit", "--method", "n2d", "--augment", "flip=1"], "unknown key 'flip'"),
        (["fit", "--method", "simclr-kmeans", "--augment", "crop_scale=0.2:1:3"], "LOW:HIGH"),
        (["predict", "--model", "nowhere", "--data", "digits"], "no saved model"),
    ],
)
def test_bad_input_one_line_exit_2_no_output(tmp_path, capsys, args, needle):
    out = tmp_path / "out"
    if args[0] == "fit":
        args = [*args, "--out", str(out), "--quiet"]
    assert run_cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_contrastive_views_take_their_options_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    assert run_cli("fit", "--method", "simclr-kmeans", "--augment", "flip=1,brightness=0.4,crop_scale=0.3:1", "--steps", 3, "--out", out, "--quiet") == 0
    from deepclust.methods import load_model

    emb = load_model(out / "model").embedding_
    assert emb.augment == {"flip": 1.0, "brightness": 0.4, "crop_scale": [0.3, 1.0]}
    from deepclust.methods.simclr import make_augment

    views = make_augment(emb.augment, emb.input_shape)  # digits' 8x8 image shape reached the views
    assert views.input_shape == (1, 8, 8) and views.flip is True and views.brightness == 0.4 and list(views.crop_scale) == [0.3, 1.0]


def test_nan_in_table_names_the_column(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,nan\n4,5\n")
    assert run_cli("fit", "--data", tmp_path / "bad.csv", "--n-clusters", 2, "--method", "kmeans", "--out", tmp_path / "o", "--quiet") == 2
    err = capsys.readouterr().err
    assert "'b'" in err or "b" in err.split("column")[-1]
    assert not (tmp_path / "o").exists()


def test_unlabelled_data_needs_n_clusters(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((30, 4)))
    assert run_cli("fit", "--data", tmp_path / "x.npy", "--method", "kmeans", "--out", tmp_path / "o", "--quiet") == 2
    assert "--n-clusters" in capsys.readouterr().err


def test_predict_with_wrong_feature_count(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("fit", "--method", "kmeans", "--out", out, "--quiet") == 0
    np.save(tmp_path / "x.npy", np.zeros((5, 7)))
    assert run_cli("predict", "--model", out, "--data", tmp_path / "x.npy", "--out", tmp_path / "p.csv") == 2
    assert "7 features" in capsys.readouterr().err and not (tmp_path / "p.csv").exists()


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root can write anywhere")
def test_unwritable_output_folder(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert run_cli("fit", "--method", "kmeans", "--out", locked / "run", "--quiet") == 2
        assert "cannot write" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_datasets_lists_digits(capsys):
    assert run_cli("datasets") == 0
    out = capsys.readouterr().out
    assert "digits" in out and "mnist" in out


def test_console_script_has_no_traceback_on_bad_input(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "deepclust.cli", "fit", "--method", "nope", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("deepclust: error: unknown method 'nope'")
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_option_value_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--epochs", "-3"])
    assert info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_python_m_deepclust_runs_the_cli():
    """``python -m deepclust`` is the CLI, for a tree used through PYTHONPATH without the console script."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "deepclust", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith("deepclust")


def test_commit_override_for_a_tree_without_git(monkeypatch):
    from deepclust.bench._results import git_commit

    monkeypatch.setenv("DEEPCLUST_COMMIT", "0123abc")
    assert git_commit() == "0123abc"
    monkeypatch.delenv("DEEPCLUST_COMMIT")
    assert git_commit() != "0123abc"


def test_table_option_picks_an_exposome_table_and_explain_reloads_it(tmp_path, capsys):
    from conftest import exposome_or_skip

    exposome_or_skip("exposome.csv", "covariates.csv")
    out = tmp_path / "run"
    assert run_cli("fit", "--data", "exposome", "--table", "exposures", "--method", "kmeans", "--out", out, "--quiet") == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["n_features"] == 222 and doc["data"]["options"] == {"table": "exposures"}
    assert doc["metrics"]["acc"] > 0.9  # the cohorts are plain in the exposures (k-means ~0.995)
    assert run_cli("explain", out, "--top", 3) == 0  # reloads the exposures table from metrics.json
    assert len(pd.read_csv(out / "explain" / "features.csv")["feature"].unique()) > 3


def test_table_option_on_other_data_exits_2_with_one_line(capsys):
    assert run_cli("fit", "--data", "digits", "--table", "exposures", "--method", "kmeans", "--quiet") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "table is for the exposome's tables" in err and "load_table" not in err
