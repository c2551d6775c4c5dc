"""Tests of deepclust.plotting."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest


def test_import_does_not_import_matplotlib():
    code = "import deepclust.plotting, sys; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _data(n, d, k=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=n)
    return rng.normal(size=(n, d)) + 4.0 * labels[:, None], labels


def test_plot_embedding_2d():
    from matplotlib.axes import Axes

    from deepclust.plotting import plot_embedding

    Z, labels = _data(100, 2)
    ax = plot_embedding(Z, labels, title="toy")
    assert isinstance(ax, Axes)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("dim 1", "dim 2", "toy")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]


def test_plot_embedding_5d_uses_pca_and_subsamples():
    from deepclust.plotting import plot_embedding

    Z, labels = _data(500, 5)
    ax = plot_embedding(Z, labels, max_points=100)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PC1", "PC2")
    assert ax.collections[0].get_offsets().shape == (100, 2)


def test_plot_embedding_on_given_ax_and_many_clusters():
    from matplotlib.figure import Figure

    from deepclust.plotting import plot_embedding

    ax = Figure().add_subplot()
    Z, labels = _data(200, 2, k=30)
    assert plot_embedding(Z, labels, ax=ax) is ax
    assert ax.get_legend() is None  # > 20 clusters: no legend


def test_plot_embedding_validates():
    from deepclust.plotting import plot_embedding

    with pytest.raises(ValueError, match="at least 2 columns"):
        plot_embedding(np.zeros((5, 1)), [0] * 5)
    with pytest.raises(ValueError, match="same number"):
        plot_embedding(np.zeros((5, 2)), [0] * 4)


def test_save_figure_png_atomic(tmp_path):
    from deepclust.plotting import plot_embedding, save_figure

    Z, labels = _data(50, 3)
    ax = plot_embedding(Z, labels)
    out = tmp_path / "emb.png"
    save_figure(ax.figure, out)
    assert out.read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in tmp_path.iterdir()] == ["emb.png"]
    with pytest.raises(ValueError, match="suffix"):
        save_figure(ax.figure, tmp_path / "emb.nope")
    assert [p.name for p in tmp_path.iterdir()] == ["emb.png"]


def test_plot_history_gives_each_quantity_its_own_axis():
    from deepclust.plotting import plot_history

    history = {
        "pretrain_epoch": [0, 1, 2], "pretrain_loss": [0.9, 0.5, 0.4], "pretrain_seconds": [1.0, 1.0, 1.0],
        "loss": [0.2, 0.1], "kl": [0.15, 0.05], "lr": [1e-3, 1e-4], "min_cluster_size": [120, 80],
        "cluster_sizes": [[1, 2], [2, 1]],  # lists per epoch: not a curve
    }
    fig = plot_history(history)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["pretraining: loss", "training: loss", "training: kl", "training: lr", "training: min_cluster_size"]
    lines = [ax.get_lines() for ax in fig.axes if ax.get_visible()]
    assert all(len(ls) == 1 for ls in lines)  # one quantity per axis, never shared
    np.testing.assert_allclose(lines[3][0].get_ydata(), [1e-3, 1e-4])
    with pytest.raises(ValueError, match="no per-epoch"):
        plot_history({"epoch": [0], "cluster_sizes": [[1]]})
