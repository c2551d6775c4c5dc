"""Tests of deepclust.datasets: benchmark loaders, checksums, downloads and user tables."""

from __future__ import annotations

import gzip
import shutil
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deepclust.datasets import (
    DataNotAvailableError,
    Dataset,
    data_home,
    list_datasets,
    load_dataset,
    load_digits,
    load_exposome,
    load_fashion_mnist,
    load_mnist,
    load_table,
    load_usps,
)
from deepclust.datasets import _fetch
from deepclust.datasets._benchmarks import read_idx

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NEEDS_DATA = "needs DEEPCLUST_DATA (../shared/data)"


@pytest.fixture
def real_data(monkeypatch):
    """The folder holding the real data; skips the test when there is none."""
    import os

    folder = Path(os.environ.get("DEEPCLUST_DATA") or SHARED_DATA)
    if not folder.is_dir():
        pytest.skip(NEEDS_DATA)
    monkeypatch.setenv("DEEPCLUST_DATA", str(folder))
    return folder


@pytest.fixture
def offline(monkeypatch):
    """Every download attempt fails as it would without a network."""

    def fail(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", fail)


# ---------------------------------------------------------------- data_home / fetch_file


def test_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPCLUST_DATA", str(tmp_path / "env"))
    assert data_home(tmp_path / "arg") == tmp_path / "arg"
    assert data_home() == tmp_path / "env"
    monkeypatch.delenv("DEEPCLUST_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "deepclust"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_home() == Path.home() / ".cache" / "deepclust"


def test_fetch_verifies_and_caches_checksum(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    f = tmp_path / "d" / "x.bin"
    f.write_bytes(b"hello")
    digest = _fetch.file_sha256(f)
    assert _fetch.fetch_file("d/x.bin", None, digest, tmp_path) == f
    calls = []
    monkeypatch.setattr(_fetch, "file_sha256", lambda p: calls.append(p) or digest)
    _fetch.fetch_file("d/x.bin", None, digest, tmp_path)
    assert calls == []  # cached by (size, mtime): not hashed again
    assert _fetch.fetch_file("d/x.bin", None, None, tmp_path) == f  # unknown sha256: accepted


def test_sha256_mismatch_detected(real_data, tmp_path):
    (tmp_path / "mnist").mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(real_data / "mnist" / name, tmp_path / "mnist" / name)
    target = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"t10k-labels.*expected sha256 f7ae60f9.*got .*delete it"):
        load_mnist(subset="test", data_dir=tmp_path)


def test_truncated_gzip_gives_clear_error(real_data, tmp_path):
    src = real_data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    bad = tmp_path / "labels.gz"
    bad.write_bytes(src.read_bytes()[:2000])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        read_idx(bad, 0x00000801, (10000,))
    not_gzip = tmp_path / "plain.gz"
    not_gzip.write_bytes(b"this is not gzip at all")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        read_idx(not_gzip, 0x00000801, (10000,))


def test_idx_header_checks(tmp_path):
    header = np.array([0x00000801, 3], dtype=">u4").tobytes()
    short = tmp_path / "short.gz"
    short.write_bytes(gzip.compress(header + bytes([1, 2])))
    with pytest.raises(ValueError, match="holds 2 data bytes, expected 3"):
        read_idx(short, 0x00000801, (3,))
    with pytest.raises(ValueError, match="magic number 0x00000801, expected 0x00000803"):
        read_idx(short, 0x00000803, (3,))
    with pytest.raises(ValueError, match=r"dimensions \(3,\).*expected \(4,\)"):
        read_idx(short, 0x00000801, (4,))


def test_offline_download_failure(tmp_path, offline):
    with pytest.raises(DataNotAvailableError) as err:
        load_mnist(subset="test", data_dir=tmp_path)
    msg = str(err.value)
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz" in msg
    assert "DEEPCLUST_DATA" in msg and "t10k-images-idx3-ubyte.gz" in msg
    assert isinstance(err.value, OSError)
    assert list((tmp_path / "mnist").iterdir()) == []  # no partial file left behind


def test_download_is_verified_and_atomic(tmp_path, monkeypatch):
    import io

    payload = b"some bytes"
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload))
    path = _fetch.fetch_file("a/b.bin", "https://example.org/b.bin", _sha(payload), tmp_path)
    assert path.read_bytes() == payload
    with pytest.raises(ValueError, match="downloaded from https://example.org/c.bin"):
        _fetch.fetch_file("a/c.bin", "https://example.org/c.bin", "0" * 64, tmp_path)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.bin"]


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- benchmark loaders


def test_digits():
    ds = load_digits()
    assert isinstance(ds, Dataset)
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float32
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.image_shape == (1, 8, 8) and set(ds.y) == set(range(10))
    with pytest.raises(ValueError, match="subset must be one of \\['all'\\], got 'train'"):
        load_digits(subset="train")


def test_mnist_test_subset(real_data):
    ds = load_mnist(subset="test")
    assert ds.X.shape == (10000, 784) and ds.X.dtype == np.float32
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    assert ds.y.dtype == np.int64 and ds.image_shape == (1, 28, 28)
    assert np.bincount(ds.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert ds.sample_ids[0] == "test-0"
    with pytest.raises(ValueError, match="got 'val'"):
        load_mnist(subset="val")


def test_fashion_mnist_test_subset(real_data):
    ds = load_fashion_mnist(subset="test")
    assert ds.X.shape == (10000, 784) and ds.X.max() <= 1.0
    assert np.bincount(ds.y).tolist() == [1000] * 10


def test_usps(real_data):
    ds = load_usps()
    assert ds.X.shape == (9298, 256) and ds.image_shape == (1, 16, 16)
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    assert load_usps(subset="test").X.shape == (2007, 256)
    assert ds.sample_ids[7291] == "test-0"


def test_exposome(real_data):
    ds = load_exposome()
    assert ds.X.shape == (1152, 177) and ds.X.dtype == np.float32
    assert sorted(Counter(ds.y.tolist()).values()) == sorted([188, 149, 202, 200, 222, 191])
    assert len(ds.info["classes"]) == 6
    assert "h_cohort" in ds.metadata.columns and "plate_batch" in ds.metadata.columns
    assert list(ds.metadata.index) == list(ds.sample_ids)
    assert all(isinstance(s, str) for s in ds.sample_ids[:5])
    # y and the cohort column agree for every child
    assert (np.array(ds.info["classes"])[ds.y] == ds.metadata["h_cohort"].astype(str).to_numpy()).all()
    with pytest.raises(ValueError, match="table must be one of"):
        load_exposome(table="plasma")


def test_exposome_exposures(real_data):
    ds = load_exposome(table="exposures")
    assert ds.X.shape == (1152, 222)
    assert "e3_alcpreg_yn_None" in ds.info["categorical_features"]


def test_load_dataset_and_list(real_data):
    ds = load_dataset("mnist-test")
    assert ds.X.shape == (10000, 784) and ds.info["subset"] == "test"
    entries = {d["name"]: d for d in list_datasets()}
    assert entries["digits"]["available"] and entries["exposome"]["available"]
    assert entries["mnist"]["n_samples"] == 70000


def test_list_datasets_empty_folder(tmp_path, offline):
    entries = {d["name"]: d for d in list_datasets(tmp_path)}
    assert entries["digits"]["available"] is True
    assert entries["usps"]["available"] is False
    assert set(entries["usps"]) == {"name", "description", "n_samples", "available"}


def test_load_dataset_did_you_mean():
    with pytest.raises(ValueError, match="did you mean 'mnist'") as err:
        load_dataset("minst")
    assert "fashion-mnist" in str(err.value)  # lists the known names
    assert load_dataset("Digits").n_samples == 1797
    with pytest.raises(ValueError, match="no train/test split"):
        load_dataset("exposome", subset="train")


# ---------------------------------------------------------------- user tables


@pytest.fixture
def frame():
    return pd.DataFrame(
        {"sid": ["a", "b", "c"], "f1": [1.0, 2.0, 3.0], "f2": [0, 1, 2], "kind": ["x", "y", "x"]}
    )


def test_csv_with_label_and_id(tmp_path, frame):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    ds = load_table(path, label_column="kind", id_column="sid")
    assert ds.X.shape == (3, 2) and ds.X.dtype == np.float32
    assert ds.feature_names == ["f1", "f2"]
    assert list(ds.sample_ids) == ["a", "b", "c"]
    assert ds.y.tolist() == [0, 1, 0] and ds.info["classes"] == ["x", "y"]
    assert ds.name == "t"
    via_name = load_dataset(path, label_column="kind", id_column="sid")
    np.testing.assert_array_equal(via_name.X, ds.X)


def test_csv_r_style_row_names(tmp_path, frame):
    path = tmp_path / "r.csv"
    frame.set_index("sid").to_csv(path, index_label="")
    ds = load_table(path, label_column="kind")
    assert list(ds.sample_ids) == ["a", "b", "c"] and ds.n_features == 2


def test_tsv_and_txt(tmp_path, frame):
    for ext in (".tsv", ".txt"):
        path = tmp_path / f"t{ext}"
        frame.to_csv(path, sep="\t", index=False)
        ds = load_table(path, id_column="sid", label_column="kind")
        assert ds.X.shape == (3, 2)


def test_parquet(tmp_path, frame):
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    ds = load_table(path, id_column="sid", label_column="kind")
    assert ds.X.shape == (3, 2) and list(ds.sample_ids) == ["a", "b", "c"]
    path2 = tmp_path / "indexed.parquet"
    frame.set_index("sid").to_parquet(path2)
    assert list(load_table(path2, label_column="kind").sample_ids) == ["a", "b", "c"]


def test_npy_and_npz(tmp_path):
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.save(tmp_path / "a.npy", X)
    ds = load_table(tmp_path / "a.npy")
    assert ds.X.shape == (4, 3) and ds.y is None and ds.sample_ids[0] == "0"
    assert load_table(tmp_path / "a.npy", transpose=True).X.shape == (3, 4)
    np.savez(tmp_path / "b.npz", X=X, y=np.array([0, 1, 1, 0]), ids=np.array(["p", "q", "r", "s"]))
    ds = load_table(tmp_path / "b.npz")
    assert ds.y.tolist() == [0, 1, 1, 0] and list(ds.sample_ids) == ["p", "q", "r", "s"]
    np.savez(tmp_path / "c.npz", data=X)
    assert load_table(tmp_path / "c.npz").X.shape == (4, 3)
    np.savez(tmp_path / "d.npz", a=X, b=X)
    with pytest.raises(ValueError, match=r"d\.npz'? has no array named 'X' \(it holds \['a', 'b'\]\)"):
        load_table(tmp_path / "d.npz")


def test_transpose_features_by_samples(tmp_path):
    path = tmp_path / "exprs.csv"
    path.write_text('"","430","1187","940"\n"m1",1.5,2.5,3.5\n"m2",4,5,6\n')
    ds = load_table(path, transpose=True)
    assert ds.X.shape == (3, 2) and ds.feature_names == ["m1", "m2"]
    assert list(ds.sample_ids) == ["430", "1187", "940"]
    np.testing.assert_allclose(ds.X[:, 0], [1.5, 2.5, 3.5])
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("feature,s1,s2\nm1,1,2\ngroup,a,b\n")
    ds = load_table(labelled, transpose=True, label_column="group")
    assert ds.feature_names == ["m1"] and ds.info["classes"] == ["a", "b"]


# ---------------------------------------------------------------- user-table errors


def test_error_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        load_table(tmp_path / "missing.csv")


def test_error_unsupported_extension(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"unsupported extension '\.xlsx'.*\.csv, \.tsv"):
        load_table(path)


def test_error_empty(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.csv' is empty"):
        load_table(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    with pytest.raises(ValueError, match="header.csv' has no rows"):
        load_table(header_only)


def test_error_non_numeric_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(ValueError, match=r"column 'b' is not numeric: value 'oops' for sample '1'"):
        load_table(path)


def test_error_nan_and_inf(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,a,b\nr1,1,2\nr2,3,\n")
    with pytest.raises(ValueError, match=r"feature 'b' has a missing \(NaN\) value at sample 'r2'"):
        load_table(path, id_column="id")
    np.save(tmp_path / "inf.npy", np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="feature 'x1' has an infinite"):
        load_table(tmp_path / "inf.npy")


def test_error_ragged_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(ValueError, match="ragged row: line 3 has 3 fields"):
        load_table(path)


def test_error_missing_label_or_id_column(tmp_path, frame):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"label_column='label' not found; available columns: \['sid'"):
        load_table(path, label_column="label")
    with pytest.raises(ValueError, match="id_column='ID' not found"):
        load_table(path, id_column="ID")


def test_error_1d_npy_and_labels_on_npy(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(5.0))
    with pytest.raises(ValueError, match=r"expected a 2-D array.*got shape \(5,\)"):
        load_table(tmp_path / "v.npy")
    np.save(tmp_path / "m.npy", np.ones((2, 2)))
    with pytest.raises(ValueError, match="label_column and id_column need a table"):
        load_table(tmp_path / "m.npy", label_column="y")


def test_csv_values_at_the_float32_limit_round_trip(tmp_path):
    # pandas' default parser can land one unit above FLT_MAX; the loader parses exactly.
    X = np.array([[np.finfo(np.float32).max, -np.finfo(np.float32).max], [1e-45, 3.4028233e38]], dtype=np.float32)
    pd.DataFrame(X.astype(np.float64), columns=["a", "b"]).to_csv(tmp_path / "x.csv", index=False)
    np.testing.assert_array_equal(load_table(tmp_path / "x.csv").X, X)


def test_registered_dataset_names_what_each_refused_argument_is_for():
    with pytest.raises(ValueError, match=r"\['sep'\]: sep is for data files \(load_table\)$"):
        load_dataset("digits", sep=";")
    with pytest.raises(ValueError, match=r"table is for the exposome's tables; label_column is for data files"):
        load_dataset("digits", table="exposures", label_column="y")
