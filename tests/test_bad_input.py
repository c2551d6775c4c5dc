"""Bad input, one table, through the Python API and through the CLI.

Every case must give an error that names the problem and what was expected. Through the CLI:
exit status 2, exactly one line on stderr, no traceback, no output folder (or an existing one
left exactly as it was) and no temporary files left behind.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from deepclust.bench import load_config
from deepclust.cli import main
from deepclust.datasets import DataNotAvailableError, load_dataset, load_table
from deepclust.datasets._benchmarks import IDX_FILES
from deepclust.methods import METHODS, AutoencoderEmbedding, RawClustering, build_method

N, D, K = 60, 4, 3


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    X, _ = make_blobs(N, n_features=D, centers=K, random_state=0)
    return X.astype(np.float32)


def _with(X, row, col, value):
    X = X.astype(object) if isinstance(value, str) else X.copy()
    X[row, col] = value
    return X


# name -> (make the data from the good X, n_clusters, exception, message pattern)
DATA_CASES = {
    "nan": (lambda X: _with(X, 3, 1, np.nan), K, ValueError, r"NaN or infinity \(first at row 3, column 1\)"),
    "inf": (lambda X: _with(X, 5, 2, -np.inf), K, ValueError, r"NaN or infinity \(first at row 5, column 2\)"),
    "non-numeric column": (lambda X: _with(X, 2, 0, "abc"), K, ValueError, r"must be numeric.*'abc'"),
    "empty": (lambda X: X[:0], K, ValueError, r"0 sample\(s\); at least 2 are needed"),
    "one row": (lambda X: X[:1], K, ValueError, r"1 sample\(s\); at least 2 are needed"),
    "all rows identical": (lambda X: np.repeat(X[:1], 20, axis=0), K, ValueError, r"all 20 rows of X are identical.*at least 3 distinct rows"),
    "n_clusters < 2": (lambda X: X, 1, ValueError, r"n_clusters must be at least 2, got 1"),
    "n_clusters > n_samples": (lambda X: X, N + 1, ValueError, rf"n_clusters={N + 1} is larger than the number of samples \({N}\)"),
}


@pytest.mark.parametrize("case", DATA_CASES)
@pytest.mark.parametrize("method", METHODS)
def test_every_method_refuses_bad_data_before_training(X, method, case, monkeypatch):
    make, k, exc, pattern = DATA_CASES[case]
    # Any training would be a failure of the check: validation must come first.
    import deepclust.train.loop as loop

    monkeypatch.setattr(loop.torch, "randperm", lambda *a, **kw: pytest.fail("training started on bad input"))
    estimator = build_method(method, k, 0, **({"recon": "mse"} if method == "vade" else {}))  # bce wants [0, 1]
    with pytest.raises(exc, match=pattern):
        estimator.fit(make(X))


def test_constant_features_are_kept_and_named(tmp_path, X):
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["flat"] = 7.0
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.warns(UserWarning, match=r"1 of 5 feature columns are constant \('flat'\)"):
        data = load_table(tmp_path / "t.csv")
    labels = RawClustering(K, random_state=0).fit(data.X).labels_  # still clusters fine
    assert len(np.unique(labels)) == K
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when no column is constant
        load_table(_write_csv(tmp_path / "ok.csv", X))


def _write_csv(path: Path, X, **extra) -> Path:
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(np.shape(X)[1])])
    for k, v in extra.items():
        frame[k] = v
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(X):
    return build_method("ae-kmeans", K, 0, epochs=2, hidden_dims=(8,), latent_dim=2, batch_size=32, device="cpu", precision="float32").fit(X)


# -- broken data files through the loaders ---------------------------------------------------------
def _idx_gz(magic: int, dims: tuple[int, ...]) -> bytes:
    header = np.array([magic, *dims], dtype=">u4").tobytes()
    return gzip.compress(header + bytes(int(np.prod(dims))))


@pytest.fixture
def offline(monkeypatch):
    def fail(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", fail)


@pytest.fixture
def broken_data(tmp_path, monkeypatch, offline):
    """A temporary DEEPCLUST_DATA; ``make(kind)`` puts a broken MNIST test file there."""
    home = tmp_path / "data"
    (home / "mnist").mkdir(parents=True)
    monkeypatch.setenv("DEEPCLUST_DATA", str(home))
    images = home / "mnist" / "t10k-images-idx3-ubyte.gz"

    def make(kind: str) -> None:
        good = _idx_gz(0x00000803, (10000, 28, 28))
        if kind == "missing":
            return
        if kind == "wrong checksum":  # a well-formed file, but not the published one
            images.write_bytes(good)
        elif kind == "truncated":  # an interrupted copy: also caught by the checksum
            images.write_bytes(good[: len(good) // 2])
        elif kind == "bad gzip":  # even files that match the registered checksums are checked
            images.write_bytes(b"\x1f\x8b\x08\x00 this is not a gzip stream")
            labels = images.with_name("t10k-labels-idx1-ubyte.gz")
            labels.write_bytes(_idx_gz(0x00000801, (10000,)))
            for f in (images, labels):
                monkeypatch.setitem(IDX_FILES["mnist"], f.name, hashlib.sha256(f.read_bytes()).hexdigest())

    return make


DATA_FILE_CASES = {
    "missing": (DataNotAvailableError, r"t10k-images-idx3-ubyte\.gz.*DEEPCLUST_DATA"),
    "wrong checksum": (ValueError, r"checksum mismatch.*t10k-images.*expected sha256 8d422c7b.*delete it"),
    "truncated": (ValueError, r"checksum mismatch.*t10k-images.*the file is corrupt"),
    "bad gzip": (ValueError, r"t10k-images.*corrupt or truncated \(cannot decompress gzip"),
}


@pytest.mark.parametrize("kind", DATA_FILE_CASES)
def test_broken_benchmark_files(broken_data, kind):
    broken_data(kind)
    exc, pattern = DATA_FILE_CASES[kind]
    with pytest.raises(exc, match=pattern):
        load_dataset("mnist-test")


def test_missing_or_corrupt_user_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file.*missing.csv"):
        load_dataset(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="is empty: expected a header and at least one row"):
        load_table(tmp_path / "empty.csv")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=r"bad\.npy.*is not a readable \.npy file"):
        load_table(tmp_path / "bad.npy")


def _write_bad_inputs(f: Path) -> None:
    """Broken user files of every kind the loaders read, named as in BAD_FILE_CASES."""
    from PIL import Image

    np.save(f / "complex.npy", np.ones((N, D)) * (1 + 2j))
    (f / "latin1.csv").write_bytes("f0,f1\n1.0,2.0\n3.5,caf\xe9\n".encode("latin-1"))
    np.savez(f / "no_x.npz", data=np.ones((N, D)), labels=np.zeros(N, int))
    np.savez(f / "only_y.npz", y=np.zeros(N, int))
    np.save(f / "flat.npy", np.arange(5.0))
    np.save(f / "five_d.npy", np.zeros((2, 1, 3, 4, 4)))
    np.savez(f / "short_y.npz", X=np.zeros((N, 4, 4), np.uint8), y=np.zeros(N - 1, int))
    (f / "empty_folder").mkdir()
    for name in ("broken_image", "stray_file"):  # one good image beside the bad file
        (f / name).mkdir()
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(f / name / "a.png")
    (f / "broken_image" / "b.png").write_bytes(b"\x89PNG not really")
    (f / "stray_file" / "notes.txt").write_text("not an image")


# name -> (file in the inputs folder, message pattern after the file name)
BAD_FILE_CASES = {
    "complex values": ("complex.npy", r"complex\.npy'?: array X holds complex numbers \(dtype complex128\)"),
    "undecodable csv": ("latin1.csv", r"latin1\.csv'? is not UTF-8 text \(it holds the byte 0xe9"),
    "npz without X": ("no_x.npz", r"no_x\.npz'? has no array named 'X' \(it holds \['data', 'labels'\]\)"),
    "npz with only y": ("only_y.npz", r"only_y\.npz'? has no array named 'X'"),
    "1-D array": ("flat.npy", r"flat\.npy'?: expected a 2-D array .* or a stack of images .*got shape \(5,\)"),
    "5-D array": ("five_d.npy", r"five_d\.npy'?: expected a 2-D array .*got shape \(2, 1, 3, 4, 4\)"),
    "y of another length": ("short_y.npz", rf"short_y\.npz'?: 'y' has shape \({N - 1},\): {N - 1} labels for {N} samples"),
    "empty folder": ("empty_folder", r"empty_folder'? holds no images: expected PNG or JPEG"),
    "unreadable image": ("broken_image", r"broken_image/b\.png'? cannot be read as an image"),
    "file that is no image": ("stray_file", r"stray_file/notes\.txt'? is not a PNG or JPEG image"),
}


@pytest.mark.parametrize("case", BAD_FILE_CASES)
def test_bad_user_files_are_named_with_their_problem(case, tmp_path):
    _write_bad_inputs(tmp_path)
    name, pattern = BAD_FILE_CASES[case]
    with pytest.raises(ValueError, match=pattern) as info:
        load_dataset(str(tmp_path / name))
    assert "\n" not in str(info.value)


# -- names, options and specs --------------------------------------------------------------------
def test_unknown_names_and_keys_get_a_did_you_mean(X, tmp_path):
    with pytest.raises(ValueError, match=r"unknown method 'n2dd' \(did you mean 'n2d'\?\); known methods: kmeans"):
        build_method("n2dd", K, 0)
    with pytest.raises(ValueError, match=r"method 'dec' has no option 'max_iterr' \(did you mean 'max_iter'\?\)"):
        build_method("dec", K, 0, max_iterr=5)
    with pytest.raises(ValueError, match=r"the embedding has no option 'epochz' \(did you mean 'epochs'\?\)"):
        build_method("dec", K, 0, embedding={"epochz": 5})
    spec = {"input_shape": [D], "encoder": [{"type": "Dens", "units": 2}]}
    with pytest.raises(ValueError, match=r"encoder\[0\].*unknown layer type 'Dens'.*did you mean 'Dense'"):
        AutoencoderEmbedding(network=spec).fit(X)
    with pytest.raises(ValueError, match=r"unknown key 'hiden_dims' \(did you mean 'hidden_dims'\?\)"):
        AutoencoderEmbedding(network={"type": "mlp", "hiden_dims": [8], "latent_dim": 2}).fit(X)
    base = {"datasets": [{"name": "digits"}], "methods": [{"name": "kmeans"}]}
    with pytest.raises(ValueError, match=r"unknown key 'seedz' in the benchmark config \(did you mean 'seeds'\?\)"):
        load_config({**base, "seedz": [0]})
    with pytest.raises(ValueError, match=r"methods\[0\] \(dec\): .*no option 'update_intervall' \(did you mean 'update_interval'\?\)"):
        load_config({**base, "methods": [{"name": "dec", "params": {"update_intervall": 3}}]})


def test_wrong_feature_count_at_predict(fitted, X):
    with pytest.raises(ValueError, match=rf"X has {D + 1} features, but AutoencoderClustering is expecting {D} features"):
        fitted.predict(np.hstack([X, X[:, :1]]))


# -- where output goes ----------------------------------------------------------------------------
@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder this process cannot create anything in (a read-only folder; /sys for root)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    for folder in (locked, Path("/sys")):
        try:
            (folder / ".probe").mkdir()
        except OSError:
            yield folder
            break
        (folder / ".probe").rmdir()
    else:
        pytest.skip("no folder is read-only for this user")
    locked.chmod(0o700)


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


def test_saving_into_unwritable_or_existing_folders(fitted, tmp_path, unwritable):
    with pytest.raises(PermissionError, match=f"cannot write to folder '{re.escape(str(unwritable))}'"):
        fitted.save(unwritable / "model")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("keep me")
    before = _snapshot(taken)
    with pytest.raises(FileExistsError, match="already exists; pass --overwrite"):
        fitted.save(taken)
    assert _snapshot(taken) == before


# -- the same table through the command line --------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory, X):
    """The input files of the CLI cases, and one finished run to predict with."""
    f = tmp_path_factory.mktemp("inputs")
    _write_csv(f / "good.csv", X)
    _write_csv(f / "nan.csv", _with(X, 3, 1, np.nan))
    _write_csv(f / "inf.csv", _with(X, 5, 2, np.inf))
    _write_csv(f / "text.csv", X, group=["a"] * 2 + ["x7"] + ["b"] * (N - 3))
    (f / "empty.csv").write_text("")
    _write_csv(f / "one_row.csv", X[:1])
    _write_csv(f / "identical.csv", np.repeat(X[:1], 20, axis=0))
    np.save(f / "wide.npy", np.hstack([X, X]))
    (f / "bad_layer.json").write_text(json.dumps({"input_shape": [D], "encoder": [{"type": "Dens", "units": 2}]}))
    (f / "typo.json").write_text(json.dumps({"type": "mlp", "hiden_dims": [8], "latent_dim": 2}))
    (f / "typo.toml").write_text('seedz = [0]\n[[datasets]]\nname = "digits"\n[[methods]]\nname = "kmeans"\n')
    (f / "option.toml").write_text('[[datasets]]\nname = "digits"\n[[methods]]\nname = "dec"\nparams = {max_iterr = 3}\n')
    _write_bad_inputs(f)
    assert main(["fit", "--data", str(f / "good.csv"), "--n-clusters", str(K), "--method", "kmeans", "--out", str(f / "run"), "--quiet"]) == 0
    return f


def _fit(data, *more):
    return ["fit", "--data", data, "--n-clusters", K, "--method", "kmeans", *more]


# name -> (arguments with {f} for the inputs folder and {out} for the output, message pattern)
CLI_CASES = {
    "nan": (_fit("{f}/nan.csv"), r"feature 'f1' has a missing \(NaN\) value at sample '3'"),
    "inf": (_fit("{f}/inf.csv"), r"feature 'f2' has an infinite \(or beyond float32 range\) value at sample '5'"),
    "non-numeric column": (_fit("{f}/text.csv"), r"feature column 'group' is not numeric: value 'a'.*label_column="),
    "empty file": (_fit("{f}/empty.csv"), r"is empty: expected a header and at least one row"),
    "one row": (_fit("{f}/one_row.csv"), r"X has 1 sample\(s\); at least 2 are needed"),
    "all rows identical": (_fit("{f}/identical.csv"), r"all 20 rows of X are identical"),
    "n_clusters < 2": (["fit", "--data", "{f}/good.csv", "--n-clusters", 1, "--method", "kmeans"], r"n_clusters must be at least 2, got 1"),
    "n_clusters > n_samples": (["fit", "--data", "{f}/good.csv", "--n-clusters", 99, "--method", "kmeans"], r"n_clusters=99 is larger than the number of samples \(60\)"),
    "wrong features at predict": (["predict", "--model", "{f}/run", "--data", "{f}/wide.npy"], r"data have 8 features, but the (model|preprocessing) was fitted (with|on) 4"),
    "unknown method": (["fit", "--method", "decc"], r"unknown method 'decc' \(did you mean 'dec'\?\)"),
    "unknown network layer": (["fit", "--data", "{f}/good.csv", "--n-clusters", K, "--method", "ae-kmeans", "--network", "{f}/bad_layer.json"], r"unknown layer type 'Dens'.*did you mean 'Dense'"),
    "unknown network key": (["fit", "--data", "{f}/good.csv", "--n-clusters", K, "--method", "ae-kmeans", "--network", "{f}/typo.json"], r"unknown key 'hiden_dims' \(did you mean 'hidden_dims'\?\)"),
    "unknown config key": (["bench", "{f}/typo.toml"], r"unknown key 'seedz'.*did you mean 'seeds'"),
    "unknown method option": (["bench", "{f}/option.toml"], r"no option 'max_iterr' \(did you mean 'max_iter'\?\)"),
    "missing data file": (_fit("{f}/missing.csv"), r"no such file.*missing\.csv"),
    "missing benchmark file": (["fit", "--data", "mnist-test", "--method", "kmeans"], r"t10k-images-idx3-ubyte\.gz.*DEEPCLUST_DATA"),
    "truncated benchmark file": (["fit", "--data", "mnist-test", "--method", "kmeans"], r"checksum mismatch.*expected sha256"),
    "corrupt gzip": (["fit", "--data", "mnist-test", "--method", "kmeans"], r"corrupt or truncated \(cannot decompress gzip"),
    "unwritable output folder": (_fit("{f}/good.csv", "--out", "{unwritable}/run"), r"cannot write to folder"),
    "existing output folder": (_fit("{f}/good.csv"), r"already exists; pass --overwrite to replace it"),
    "existing predictions file": (["predict", "--model", "{f}/run", "--data", "{f}/good.csv", "--out", "{out}"], r"already exists; pass --overwrite"),
}
CLI_CASES.update({f"file: {case}": (_fit("{f}/" + name), pattern) for case, (name, pattern) in BAD_FILE_CASES.items()})
_BROKEN = {"missing benchmark file": "missing", "truncated benchmark file": "truncated", "corrupt gzip": "bad gzip"}


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_bad_input_one_line_exit_2_nothing_written_nothing_lost(case, files, tmp_path, capsys, request):
    args, pattern = CLI_CASES[case]
    if case in _BROKEN:
        request.getfixturevalue("broken_data")(_BROKEN[case])
    unwritable = request.getfixturevalue("unwritable") if case == "unwritable output folder" else None
    work = tmp_path / "work"
    work.mkdir()
    out = work / ("predictions.csv" if case == "existing predictions file" else "out")
    if case.startswith("existing"):  # something precious is already there
        if out.suffix:
            out.write_text("sample_id,cluster\nprecious,1\n")
        else:
            out.mkdir()
            (out / "precious.txt").write_text("keep me")
    before = _snapshot(work)
    argv = [str(a).format(f=files, out=out, unwritable=unwritable) for a in args]
    if argv[0] == "fit" and "--out" not in argv:
        argv += ["--out", str(out)]
    if argv[0] == "predict" and "--out" not in argv:
        argv += ["--out", str(out)]

    code = main(argv) if argv[0] != "bench" else _exit_code(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepclust: error: ") and "Traceback" not in err, err
    assert re.search(pattern, lines[0]), lines[0]
    assert _snapshot(work) == before  # nothing half-written, nothing that existed destroyed
    if unwritable is not None:
        assert not (unwritable / "run").exists()


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_cli_constant_column_is_a_one_line_warning(files, tmp_path, capsys, X):
    path = _write_csv(tmp_path / "c.csv", X, flat=1.5)
    assert main(["fit", "--data", str(path), "--n-clusters", str(K), "--method", "kmeans", "--out", str(tmp_path / "run")]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert err == [f"deepclust: warning: {str(path)!r}: 1 of 5 feature columns are constant ('flat'); they carry no information for clustering and are kept as they are (drop them to save time)"]


def test_no_leftovers_after_a_fit_fails_midway(files, tmp_path, capsys, monkeypatch):
    """A failure after some output was written (here: while saving the model) leaves nothing."""
    out = tmp_path / "run"

    def broken_save(self, path, **kw):
        Path(path).mkdir()
        (Path(path) / "model.json").write_text("{half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RawClustering, "save", broken_save)
    assert main(["fit", "--data", str(files / "good.csv"), "--n-clusters", str(K), "--method", "kmeans", "--out", str(out), "--quiet"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert os.listdir(tmp_path) == []
