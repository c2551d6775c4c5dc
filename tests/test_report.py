"""The HTML report: every section from one small run folder, self-contained, rendered in Chromium."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from deepclust.cli import main
from deepclust.datasets import Dataset, load_dataset
from deepclust.methods import DEC, VaDE, AutoencoderEmbedding
from deepclust.methods._snapshots import EmbeddingSnapshots
from deepclust.reporting import build_report
from deepclust.reporting.assets import write_images
from deepclust.reporting.html import _images
from deepclust.runs import fit_run
from deepclust.train import active_observers, observe_training

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def small_digits():
    d = load_dataset("digits")
    keep = np.flatnonzero(d.y < 4)[:400]
    return Dataset(name="digits-0to3", X=d.X[keep] / 16.0, y=d.y[keep], feature_names=d.feature_names, sample_ids=d.sample_ids[keep],
                   image_shape=d.image_shape, info={"classes": ["zero", "one", "two", "three"]})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, small_digits):
    """One run with everything: k sweep, two seeds, explain, snapshots, Voronoi (2-D codes), images."""
    out = tmp_path_factory.mktemp("report") / "run"
    with threadpool_limits(1):
        fit_run(small_digits, method="ae-kmeans", n_clusters="auto", k_range=[3, 4], n_bootstrap=2, seeds=[0, 1], out=out, explain=True,
                autoencoder_options={"epochs": 3, "latent_dim": 2, "hidden_dims": (32,), "batch_size": 64})
    doc = json.loads((out / "metrics.json").read_text())
    # what issue 9's confounder check will add to metrics.json
    doc["confounders"] = {"associations": [{"covariate": "plate_batch", "kind": "technical", "cramers_v": 0.61}], "warning": "clusters follow plate_batch <b>"}
    (out / "metrics.json").write_text(json.dumps(doc))
    return out


def test_run_folder_has_the_report_inputs(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    for name in ("select_k.csv", "select_k.png", "stability.json", "stability_ari.csv", "explain", "snapshots.npz", "embedding_2d.npz", "images.npz", "history.json"):
        assert name in names, name
    with np.load(run_dir / "snapshots.npz") as z:
        assert z["coords"].ndim == 3 and z["coords"].shape[1:] == (400, 2) and z["epoch"][0] == -1
    with np.load(run_dir / "embedding_2d.npz") as z:
        assert z["coords"].shape == (400, 2) and str(z["projection"]) == "identity"
        assert z["centers"].shape == (int(z["model_cluster"].max()) + 1, 2)  # k-means on 2-D codes: Voronoi regions
    with np.load(run_dir / "images.npz") as z:
        assert z["reconstructions"].shape == z["originals"].shape and z["nearest"].shape[1:] == (8, 64)


@pytest.fixture(scope="module")
def page(run_dir):
    """The report, written once by the command (atomically, to RUN_DIR/report.html)."""
    assert main(["report", str(run_dir), "--quiet"]) == 0
    return run_dir / "report.html"


def test_report_is_self_contained_with_every_section(page):
    page = page.read_text()
    assert page.startswith("<!DOCTYPE html>")
    for heading in ("Run and metrics", "Embedding", "Contingency with the reference labels", "Voronoi regions", "Training curves",
                    "Embedding during training", "Choosing k", "Stability across seeds", "What distinguishes the clusters", "Confounders",
                    "Reconstructions", "Samples nearest each cluster centre"):
        assert f"<h2>{heading}" in page, heading
    srcs = re.findall(r'<img[^>]*src="([^"]*)"', page)
    assert len(srcs) == 11 and all(s.startswith("data:image/") for s in srcs)
    assert sum(s.startswith("data:image/gif;base64,R0lGOD") for s in srcs) == 1  # the animation, a real GIF
    assert "http://" not in page and "https://" not in page
    assert "clusters follow plate_batch &lt;b&gt;" in page and "0.61" in page  # escaped, shown
    assert "coloured by reference label" in page or "reference label" in page
    # the autoencoder ran its 3 epochs (400 rows, batch 64: 7 steps a pass) and the page says so
    assert "Training: 21 optimiser steps in 3 epochs; stopped: completed 3 epochs. Budget: epochs=3 set by the user." in page


def test_generated_samples_section_for_vade(run_dir, small_digits, tmp_path):
    other = tmp_path / "run"
    shutil.copytree(run_dir, other)
    X = small_digits.X
    with threadpool_limits(1):
        vade = VaDE(3, embedding=AutoencoderEmbedding(latent_dim=2, hidden_dims=(16,), epochs=1, random_state=0), epochs=1, random_state=0).fit(X)
    write_images(other / "images.npz", X, vade.transform(X), vade.labels_, vade, small_digits.image_shape)
    with np.load(other / "images.npz") as z:
        assert z["generated"].shape == (3, 8, 64)
    section = _images(other, {})
    assert "<h2>Generated samples per cluster (VaDE)" in section and section.count("data:image/png") == 3


def test_report_command_leaves_no_temporary_file_and_refuses_other_folders(page, tmp_path):
    assert sorted(p.name for p in page.parent.iterdir() if p.name.startswith(".")) == []
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        build_report(tmp_path)
    assert main(["report", str(tmp_path)]) == 2  # the command: one line, exit 2
    assert list(tmp_path.iterdir()) == []


def test_report_renders_in_headless_chromium(page, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless Chromium is not installed (Debian package 'chromium'; 'make test' installs it as root)")
    n_img = len(re.findall(r"<img\b", page.read_text()))
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    body = re.search(r"<body[^>]*>", proc.stdout)
    assert body, f"chromium printed no DOM: {proc.stderr[-500:]}"
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(0)))
    assert attrs.get("data-images") == str(n_img), attrs  # the page's own check ran over every image
    assert attrs.get("data-broken-images") == "0", f"images that did not load: {attrs.get('data-broken-names')}"


def test_snapshots_record_both_phases_and_thin_long_ones():
    X = np.random.default_rng(0).random((60, 5)).astype(np.float32)
    rec = EmbeddingSnapshots(X, max_points=30, max_frames_per_phase=4)
    with observe_training(rec):
        assert len(active_observers()) == 1
        DEC(2, embedding=AutoencoderEmbedding(latent_dim=3, hidden_dims=(8,), epochs=10, batch_size=20, random_state=0), max_iter=40,
            batch_size=20, update_interval=100, tol=0.0, random_state=0).fit(X)
    assert active_observers() == ()
    a = rec.arrays()
    assert a["coords"].shape[1:] == (30, 2) and set(a["phase"].tolist()) == {0, 1}
    pre = a["epoch"][a["phase"] == 0]
    assert pre.tolist() == [-1, 0, 3, 6, 9]  # every ceil(10 / 4) = 3rd epoch, and the last
    assert a["epoch"][a["phase"] == 1][-1] == 13  # 40 steps of 3 batches: the clustering phase ends in its 14th epoch
