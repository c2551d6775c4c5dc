"""Image inputs: stacks in .npy/.npz and folders of PNG/JPEG files, through the API and the CLI,
and the scale=auto rule that keeps images in [0, 1] and embeddings as they are."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from deepclust.cli import main
from deepclust.datasets import Dataset, load_dataset, load_image_folder, load_table
from deepclust.methods import build_method, load_model
from deepclust.methods.simclr import make_augment
from deepclust.nn.augment import ImageAugment
from deepclust.preprocess.auto_scale import auto_scaling


def _two_blobs_of_images(n_per_class: int = 10, shape=(6, 5), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images: dark ones (class 0) and bright ones (class 1)."""
    rng = np.random.default_rng(seed)
    dark = rng.integers(0, 60, (n_per_class, *shape))
    bright = rng.integers(190, 256, (n_per_class, *shape))
    return np.concatenate([dark, bright]).astype(np.uint8), np.repeat([0, 1], n_per_class)


# -- stacks of images in .npy / .npz ---------------------------------------------------------------
def test_uint8_stack_is_an_image_dataset_divided_by_255(tmp_path):
    X, y = _two_blobs_of_images()
    np.savez(tmp_path / "images.npz", X=X, y=y)
    ds = load_table(tmp_path / "images.npz")
    assert ds.kind == "image" and ds.image_shape == (1, 6, 5)
    np.testing.assert_allclose(ds.X, X.reshape(20, 30) / 255.0, rtol=1e-6)
    assert ds.X.dtype == np.float32 and ds.y.tolist() == y.tolist()
    assert ds.info["intensity"] == "uint8 pixels divided by 255" and ds.info["layout"] == "(N, H, W)"
    assert ds.feature_names[:2] == ["pixel_0", "pixel_1"]


def test_channels_first_rows_are_flattened_channel_by_channel(tmp_path):
    X = np.random.default_rng(1).random((4, 3, 5, 6)).astype(np.float32)  # already in [0, 1]
    np.save(tmp_path / "rgb.npy", X)
    ds = load_dataset(tmp_path / "rgb.npy")
    assert ds.image_shape == (3, 5, 6)
    np.testing.assert_array_equal(ds.X, X.reshape(4, -1))  # kept exactly
    assert ds.X[1, 30] == X[1, 1, 0, 0] and ds.feature_names[30] == "c1_pixel_0"
    assert ds.info["intensity"] == "float32 pixels already in [0, 1], kept"


def test_channels_last_is_recognised_and_moved_to_channels_first(tmp_path):
    X = np.random.default_rng(2).integers(0, 256, (4, 7, 5, 3)).astype(np.uint8)
    np.save(tmp_path / "hwc.npy", X)
    ds = load_table(tmp_path / "hwc.npy")
    assert ds.image_shape == (3, 7, 5)
    np.testing.assert_allclose(ds.X, np.moveaxis(X, 3, 1).reshape(4, -1) / 255.0, rtol=1e-6)
    assert "moved to (N, C, H, W)" in ds.info["layout"]


def test_channel_rules_for_ambiguous_and_multiband_stacks(tmp_path):
    np.save(tmp_path / "bands.npy", np.zeros((2, 8, 16, 16), np.uint8))  # 8 bands, channels first
    assert load_table(tmp_path / "bands.npy").image_shape == (8, 16, 16)
    np.save(tmp_path / "tie.npy", np.zeros((2, 3, 9, 3), np.uint8))  # a tie goes to channels first
    assert load_table(tmp_path / "tie.npy").image_shape == (3, 9, 3)
    np.save(tmp_path / "odd.npy", np.zeros((2, 10, 6, 7), np.uint8))
    with pytest.raises(ValueError, match=r"odd\.npy.*cannot tell the channel axis.*\(2, 10, 6, 7\).*np\.moveaxis"):
        load_table(tmp_path / "odd.npy")


def test_out_of_range_floats_are_min_max_mapped_over_the_whole_array(tmp_path):
    X = np.random.default_rng(3).normal(0.0, 50.0, (5, 4, 4))
    X[:, 0, 0] = 7.0  # a constant pixel: a per-pixel scaling would make it 0 in every image
    np.save(tmp_path / "f.npy", X)
    ds = load_table(tmp_path / "f.npy")
    expected = (X - X.min()) / (X.max() - X.min())
    np.testing.assert_allclose(ds.X, expected.reshape(5, -1), rtol=1e-5, atol=1e-6)
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.X[0, 0] > 0 and "min-max mapped to [0, 1] over the whole array" in ds.info["intensity"]


@pytest.mark.parametrize(
    "values, scale, says",
    [
        (np.array([0, 1000, 65535], np.uint16), 65535.0, "uint16 pixels divided by 65535"),
        (np.array([0, 17, 255], np.int64), 255.0, "int64 pixels in 0..255 divided by 255"),
        (np.array([0, 1, 1], bool), 1.0, "booleans read as 0 and 1"),
    ],
)
def test_integer_and_boolean_pixels(tmp_path, values, scale, says):
    np.save(tmp_path / "i.npy", np.broadcast_to(values[:, None, None], (3, 2, 2)).copy())
    ds = load_table(tmp_path / "i.npy")
    np.testing.assert_allclose(ds.X[:, 0], values / scale, rtol=1e-6)
    assert ds.info["intensity"] == says


def test_signed_integers_beyond_8_bits_are_min_max_mapped(tmp_path):
    np.save(tmp_path / "s.npy", np.array([-100, 0, 300]).reshape(3, 1, 1) * np.ones((3, 2, 2), np.int32))
    ds = load_table(tmp_path / "s.npy")
    np.testing.assert_allclose(ds.X[:, 0], [0.0, 0.25, 1.0])
    assert "min-max" in ds.info["intensity"]


def test_image_shape_reaches_augmentations_and_method_options(tmp_path):
    X, y = _two_blobs_of_images(shape=(6, 7))
    np.save(tmp_path / "im.npy", np.stack([X, X, X], axis=-1))  # RGB, channels last
    ds = load_table(tmp_path / "im.npy")
    estimator = build_method("simclr-kmeans", 2, 0, image_shape=ds.image_shape)
    assert estimator.embedding.get_params()["input_shape"] == [3, 6, 7]
    augment = make_augment(None, ds.image_shape)
    assert isinstance(augment, ImageAugment)
    view = augment(torch.from_numpy(ds.X[:4]), torch.Generator().manual_seed(0))
    assert view.shape == (4, 3 * 6 * 7) and not torch.equal(view, torch.from_numpy(ds.X[:4]))


# -- folders of images ---------------------------------------------------------------------------
def _save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def class_folder(tmp_path) -> Path:
    """Two class sub-folders ('dark', 'bright') of 6x5 grey PNGs, one 8x8 JPEG among them."""
    X, y = _two_blobs_of_images(n_per_class=4)
    root = tmp_path / "pictures"
    for i, (img, label) in enumerate(zip(X, y)):
        _save(root / ("bright" if label else "dark") / f"im{i}.png", img)
    _save(root / "dark" / "z_big.jpg", np.full((8, 8), 20, np.uint8))
    (root / ".hidden").mkdir()
    (root / ".hidden" / "notes.txt").write_text("skipped with its hidden folder")
    (root / "dark" / ".DS_Store").write_bytes(b"\x00")
    return root


def test_folder_labels_from_class_sub_folders(class_folder):
    ds = load_dataset(str(class_folder))
    assert ds.kind == "image" and ds.image_shape == (1, 6, 5) and ds.name == "pictures"
    assert ds.info["classes"] == ["bright", "dark"] and ds.info["image_mode"] == "grey"
    assert ds.info["image_size"] == [6, 5] and ds.info["resized"] == 1  # the JPEG, to the common size
    assert list(ds.sample_ids[:2]) == ["bright/im4.png", "bright/im5.png"] and ds.sample_ids[-1] == "dark/z_big.jpg"
    assert ds.y.tolist() == [0] * 4 + [1] * 5
    png = np.asarray(Image.open(class_folder / "bright" / "im4.png"), dtype=np.float32) / 255
    np.testing.assert_allclose(ds.X[0], png.ravel(), rtol=1e-6)
    np.testing.assert_allclose(ds.X[-1], 20 / 255, rtol=1e-5)  # resizing a flat image keeps it flat


def test_folder_image_size_option_and_colour(tmp_path):
    root = tmp_path / "mixed"
    _save(root / "grey.png", np.full((4, 4), 255, np.uint8))
    _save(root / "red.png", np.stack([np.full((6, 6), 255, np.uint8), np.zeros((6, 6), np.uint8), np.zeros((6, 6), np.uint8)], -1))
    ds = load_table(root, image_size=(3, 2))
    assert ds.image_shape == (3, 3, 2) and ds.info["image_mode"] == "RGB" and ds.info["resized"] == 2
    assert ds.y is None and "classes" not in ds.info
    grey, red = ds.X.reshape(2, 3, 3, 2)
    np.testing.assert_allclose(grey, 1.0)  # grey repeated into the three channels
    np.testing.assert_allclose(red[0], 1.0)
    np.testing.assert_allclose(red[1:], 0.0)
    assert load_image_folder(root, image_size=5).image_shape == (3, 5, 5)
    with pytest.raises(ValueError, match=r"image_size must be a positive int.*got \(0, 3\)"):
        load_table(root, image_size=(0, 3))


def test_folder_with_loose_images_has_no_labels_and_says_why(tmp_path):
    root = tmp_path / "loose"
    _save(root / "a" / "1.png", np.zeros((3, 3), np.uint8))
    _save(root / "2.png", np.ones((3, 3), np.uint8))
    with pytest.warns(UserWarning, match=r"1 of 2 images sit directly in the folder"):
        ds = load_table(root)
    assert ds.y is None and list(ds.sample_ids) == ["2.png", "a/1.png"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all loose: no labels and nothing to warn about
        (root / "a" / "1.png").unlink()
        assert load_table(root).y is None


def test_sixteen_bit_grey_png(tmp_path):
    _save(tmp_path / "deep" / "a.png", np.array([[0, 65535], [32768, 1000]], np.uint16))
    ds = load_table(tmp_path / "deep")
    np.testing.assert_allclose(ds.X[0], np.array([0, 65535, 32768, 1000]) / 65535, rtol=1e-6)
    assert "16-bit ones by 65535" in ds.info["intensity"]


# -- scale=auto ------------------------------------------------------------------------------------
def _table(kind, **more) -> Dataset:
    X = np.arange(12, dtype=np.float32).reshape(3, 4)
    shape = (1, 2, 2) if kind == "image" else None
    return Dataset("t", X, None, list("abcd"), np.array(list("pqr"), dtype=object), image_shape=shape, kind=kind, **more)


def test_auto_scaling_follows_the_kind_of_data():
    scale, reason = auto_scaling("auto", _table("image", info={"intensity": "uint8 pixels divided by 255"}))
    assert scale == "none" and "in [0, 1]" in reason and "uint8 pixels divided by 255" in reason
    scale, reason = auto_scaling("auto", _table("embedding"))
    assert scale == "none" and "embedding" in reason and "relative scales" in reason
    assert auto_scaling("auto", _table("table")) == ("standard", "a table: each feature standardised to mean 0 and variance 1")
    assert auto_scaling("auto", _table("table"), ["log1p", "standard"])[0] == "none"
    assert auto_scaling("auto", _table("embedding"), ["log1p"])[0] == "none"
    assert auto_scaling("minmax", _table("embedding")) == ("minmax", "set by the user")
    with pytest.raises(ValueError, match=r"unknown scaling 'zscore'"):
        auto_scaling("zscore", _table("table"))


def test_dataset_kind_defaults_and_validation():
    assert _table(None).kind == "table"
    assert Dataset("i", np.zeros((2, 4)), None, list("abcd"), np.array(["0", "1"], dtype=object), image_shape=(1, 2, 2)).kind == "image"
    with pytest.raises(ValueError, match=r"kind must be one of \['table', 'image', 'embedding'\], got 'pixels'"):
        _table("pixels")
    with pytest.raises(ValueError, match=r"kind 'image' needs an image_shape"):
        Dataset("t", np.zeros((2, 4)), None, list("abcd"), np.array(["0", "1"], dtype=object), kind="image")


def test_h5ad_obsm_is_an_embedding_and_x_a_table():
    anndata = pytest.importorskip("anndata")
    from deepclust.datasets import from_anndata

    rng = np.random.default_rng(0)
    adata = anndata.AnnData(rng.random((5, 3)).astype(np.float32), obsm={"X_pca": rng.normal(size=(5, 2))})
    assert from_anndata(adata, obsm="X_pca").kind == "embedding"
    assert from_anndata(adata).kind == "table"
    assert auto_scaling("auto", from_anndata(adata, obsm="X_pca"))[0] == "none"


# -- the CLI, end to end -------------------------------------------------------------------------
def _cli_fit(data: Path, out: Path) -> dict:
    assert main(["fit", "--data", str(data), "--method", "kmeans", "--n-clusters", "2", "--out", str(out), "--quiet"]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_cli_fit_on_an_image_stack(tmp_path):
    X, y = _two_blobs_of_images()
    np.savez(tmp_path / "images.npz", X=X, y=y)
    doc = _cli_fit(tmp_path / "images.npz", tmp_path / "run")
    assert doc["n_features"] == 30 and doc["scale"] == "none" and doc["metrics"]["acc"] == 1.0
    with np.load(tmp_path / "run" / "images.npz") as z:  # the run knows its image shape
        assert z["image_shape"].tolist() == [1, 6, 5]


def test_cli_fit_on_a_folder_of_images(class_folder, tmp_path):
    doc = _cli_fit(class_folder, tmp_path / "run")
    assert doc["n_samples"] == 9 and doc["scale"] == "none" and doc["metrics"]["acc"] == 1.0
    labels = pd.read_csv(tmp_path / "run" / "labels.csv")
    assert labels.iloc[:, 0].tolist()[:2] == ["bright/im4.png", "bright/im5.png"]


@pytest.mark.usefixtures("one_torch_thread")
def test_cli_simclr_on_a_28x28_stack_trains_the_default_conv_encoder(tmp_path):
    # the dataset's image shape reaches the contrastive embedding, which then defaults to a conv net
    X, y = _two_blobs_of_images(n_per_class=12, shape=(28, 28))
    np.savez(tmp_path / "images.npz", X=X, y=y)
    out = tmp_path / "run"
    args = ["fit", "--data", str(tmp_path / "images.npz"), "--method", "simclr-kmeans", "--n-clusters", "2", "--steps", "2"]
    assert main([*args, "--batch-size", "8", "--latent-dim", "4", "--precision", "float32", "--device", "cpu", "--out", str(out), "--quiet"]) == 0
    arch = json.loads((out / "model" / "model.json").read_text())  # the saved model says what network it is
    assert '"Conv2D"' in json.dumps(arch) and '"default-conv"' in json.dumps(arch)
    emb = load_model(out / "model").embedding_
    assert emb._arch["spec"]["input_shape"] == [1, 28, 28] and emb.transform(X.reshape(24, -1) / np.float32(255)).shape == (24, 4)
    assert any(isinstance(m, torch.nn.Conv2d) for m in emb.net_.encoder.modules())
