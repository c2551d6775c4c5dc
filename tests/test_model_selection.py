"""Choosing k and stability across seeds: rules on hand-made tables, recovery on blobs, the CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from deepclust.cli import main
from deepclust.metrics import ari
from deepclust.model_selection import co_association, consensus_labels, parse_k_range, parse_seeds, seed_stability, select_k
from deepclust.model_selection.select_k import _choose


@pytest.fixture(autouse=True)
def _one_thread():
    # k-means on a few hundred points is fastest single-threaded, and the machine is shared
    with threadpool_limits(1):
        yield


def test_parse_ranges():
    assert parse_k_range("2-5") == [2, 3, 4, 5] and parse_k_range("8,2,4") == [2, 4, 8]
    assert parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("7") == [7]
    for bad in ("1-4", "a-b", ""):
        with pytest.raises(ValueError):
            parse_k_range(bad)
    for bad in ("1,1", "-1", "x"):
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_rule_prefers_stable_then_silhouette_then_smaller_k():
    table = pd.DataFrame({"k": [2, 3, 4, 5], "silhouette": [0.9, 0.5, 0.495, 0.3], "stability": [0.5, 0.9, 0.85, 0.95]})
    k, why = _choose(table, 0.8, 0.01, use_stability=True)
    assert k == 3 and "k=3" in why  # k=2 has the best silhouette but is unstable; k=4 ties with 3 and loses to the smaller
    k, _ = _choose(table, 0.8, 0.001, use_stability=False)
    assert k == 2
    with pytest.warns(RuntimeWarning, match="most stable"):
        k, _ = _choose(table.assign(stability=[0.1, 0.3, 0.6, 0.6]), 0.8, 0.01, use_stability=True)
    assert k == 4  # most stable, smaller of the tie


@pytest.mark.parametrize("k_true", [3, 5])
def test_select_k_recovers_known_k(k_true):
    Z, _ = make_blobs(300, n_features=4, centers=k_true, cluster_std=0.7, random_state=k_true)
    res = select_k(Z, range(2, 8), n_bootstrap=3, random_state=0)
    assert res.k == k_true
    assert list(res.table.columns) == ["k", "silhouette", "davies_bouldin", "calinski_harabasz", "bic", "stability", "stability_sd", "smallest_cluster"]
    row = res.table.set_index("k").loc[k_true]
    assert row["stability"] > 0.95
    assert res.table.set_index("k")["davies_bouldin"].idxmin() == k_true


def test_co_association_and_consensus_by_hand():
    C = co_association([[0, 0, 1, 1], [0, 1, 1, 1]])
    assert C.tolist() == [[1, 0.5, 0, 0], [0.5, 1, 0.5, 0.5], [0, 0.5, 1, 1], [0, 0.5, 1, 1]]
    # two of three runs split {0,1} from {2,3}: the consensus does too, numbered by size then first sample
    assert consensus_labels([[0, 0, 1, 1], [1, 1, 0, 0], [0, 0, 0, 1]], 2).tolist() == [0, 0, 1, 1]


def test_seed_stability_on_blobs():
    Z, y = make_blobs(400, n_features=3, centers=4, cluster_std=1.0, random_state=3)
    runs = [KMeans(4, n_init=1, random_state=s).fit_predict(Z) for s in range(6)]
    res = seed_stability(runs, names=[f"s{i}" for i in range(6)])
    assert res.ari.shape == (6, 6)
    assert np.allclose(res.ari, res.ari.T) and np.allclose(np.diag(res.ari), 1.0)
    assert ari(res.consensus, y) > 0.95
    assert list(res.clusters.columns) == ["cluster", "size", "stability", "min_jaccard", "unstable"]
    assert res.clusters["size"].sum() == 400 and res.clusters["size"].is_monotonic_decreasing
    assert res.agreement[res.best_run] == res.agreement.max()
    # the subsampled path (co-association on 150 points, the rest assigned) gives the same partition
    sub = seed_stability(runs, max_samples=150)
    assert ari(sub.consensus, res.consensus) > 0.95


def test_unstable_cluster_is_flagged():
    rng = np.random.default_rng(0)
    base = np.repeat([0, 1, 2], 50)
    runs = []
    for _ in range(5):
        r = base.copy()
        third = np.flatnonzero(base == 2)
        r[third[rng.random(50) < 0.5]] = 3  # cluster 2 splits at random in every run
        runs.append(r)
    res = seed_stability(runs, n_clusters=3)
    stab = res.clusters.set_index("size")
    flagged = res.clusters[res.clusters["unstable"]]
    assert len(flagged) == 1 and flagged["stability"].item() < 0.75
    assert (res.clusters.loc[~res.clusters["unstable"], "stability"] == 1.0).all()
    assert res.to_dict()["unstable_clusters"] == [int(flagged["cluster"].item())]
    assert len(stab) >= 1


def _blobs_csv(path, centers=4):
    X, y = make_blobs(240, n_features=3, centers=centers, cluster_std=0.6, random_state=7)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["group"] = y
    df.to_csv(path, index=False)
    return path


def test_fit_auto_and_seeds_write_their_files(tmp_path, capsys):
    data = _blobs_csv(tmp_path / "blobs.csv")
    run = tmp_path / "auto"
    code = main(["fit", "--data", str(data), "--label-column", "group", "--method", "kmeans", "--n-clusters", "auto",
                 "--k-range", "2-6", "--bootstrap", "3", "--seeds", "0-2", "--out", str(run), "--quiet"])
    assert code == 0
    assert "chosen by the sweep" in capsys.readouterr().out
    doc = json.loads((run / "metrics.json").read_text())
    assert doc["n_clusters"] == 4 and doc["select_k"]["chosen_k"] == 4 and doc["metrics"]["acc"] == 1.0
    assert doc["stability"]["seeds"] == [0, 1, 2] and doc["seed"] == doc["stability"]["model_seed"]
    assert pd.read_csv(run / "select_k.csv")["k"].tolist() == [2, 3, 4, 5, 6]
    assert (run / "select_k.png").read_bytes()[:4] == b"\x89PNG"
    st = json.loads((run / "stability.json").read_text())
    assert st["unstable_clusters"] == [] and len(st["clusters"]) == 4
    m = pd.read_csv(run / "stability_ari.csv", index_col=0)
    assert m.shape == (3, 3) and np.allclose(m.to_numpy(), 1.0)
    # predict with the kept model reproduces the consensus labels here (all seeds agree)
    assert main(["predict", "--model", str(run), "--data", str(data), "--label-column", "group", "--out", str(tmp_path / "p.csv")]) == 0
    assert np.array_equal(pd.read_csv(tmp_path / "p.csv")["cluster"], pd.read_csv(run / "labels.csv")["cluster"])


def test_select_k_command_and_deep_auto_fit(tmp_path, capsys):
    data = _blobs_csv(tmp_path / "blobs.csv", centers=3)
    out = tmp_path / "sk"
    assert main(["select-k", "--data", str(data), "--label-column", "group", "--method", "kmeans", "--k-range", "2-5", "--bootstrap", "2", "--out", str(out), "--quiet"]) == 0
    assert "chosen k = 3" in capsys.readouterr().out
    assert json.loads((out / "select_k.json").read_text())["chosen_k"] == 3
    # a deep method: the embedding is learned once, swept, and the final model starts from it
    run = tmp_path / "deep"
    assert main(["fit", "--data", str(data), "--label-column", "group", "--method", "ae-kmeans", "--epochs", "2", "--latent-dim", "2",
                 "--n-clusters", "auto", "--k-range", "2-4", "--bootstrap", "2", "--out", str(run), "--quiet"]) == 0
    assert not (run / ".sweep_embedding").exists()
    doc = json.loads((run / "metrics.json").read_text())
    assert doc["select_k"]["space"].startswith("the method's embedding")
    assert main(["predict", "--model", str(run), "--data", str(data), "--label-column", "group", "--out", str(tmp_path / "p.csv"), "--quiet"]) == 0
    assert np.array_equal(pd.read_csv(tmp_path / "p.csv")["cluster"], pd.read_csv(run / "labels.csv")["cluster"])
    with pytest.raises(SystemExit) as exc:  # argparse refuses the range: one line, exit 2
        main(["fit", "--data", str(data), "--n-clusters", "auto", "--k-range", "1-3", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and not (tmp_path / "x").exists()
