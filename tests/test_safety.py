"""Saved models, checkpoints and data files never run code: a crafted pickle in their place is
refused with a clear error and its payload never runs; versions are recorded and checked."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

import deepclust
from deepclust._version import __version__
from deepclust.cli import main
from deepclust.datasets import load_table
from deepclust.methods import AutoencoderEmbedding, load_model
from deepclust.methods._persist import FORMAT_VERSION
from deepclust.train import checkpointing
from deepclust.train import checkpoint as ckpt_module

SRC = Path(deepclust.__file__).parent


class Payload:
    """Unpickling this object creates the marker file (as a real attack would run a command)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _malicious(marker: Path) -> bytes:
    return pickle.dumps(Payload(marker))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, _ = make_blobs(60, n_features=4, centers=3, random_state=0)
    model = AutoencoderEmbedding(hidden_dims=(8,), latent_dim=2, epochs=1, batch_size=32, precision="float32", device="cpu", random_state=0).fit(X)
    return model.save(tmp_path_factory.mktemp("models") / "model")


def _copy(folder: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in folder.iterdir():
        (dest / f.name).write_bytes(f.read_bytes())
    return dest


def test_pickle_payload_is_a_real_attack(tmp_path):
    """The payload used below does run when unpickled: the refusals are meaningful."""
    marker = tmp_path / "ran"
    pickle.loads(_malicious(marker)).close()
    assert marker.exists()


@pytest.mark.parametrize(
    "target, pattern",
    [
        ("arrays.safetensors", "weights .* are corrupt or unreadable"),
        ("model.json", "is not a deepclust model description \\(invalid JSON"),
    ],
)
def test_malicious_pickle_in_a_model_is_refused_without_running(saved, tmp_path, target, pattern):
    model = _copy(saved, tmp_path / "model")
    marker = tmp_path / "payload_ran"
    (model / target).write_bytes(_malicious(marker))
    with pytest.raises(ValueError, match=pattern):
        load_model(model)
    assert not marker.exists()


def test_torch_save_file_in_place_of_the_weights_is_refused(saved, tmp_path):
    """A file written by torch.save (a pickle in a zip) is not read as weights either."""
    model = _copy(saved, tmp_path / "model")
    torch.save({"autoencoder/encoder.0.weight": torch.zeros(8, 4)}, model / "arrays.safetensors")
    with pytest.raises(ValueError, match="corrupt or unreadable"):
        load_model(model)


def test_cli_predict_with_a_malicious_model(saved, tmp_path, capsys):
    run = tmp_path / "run"
    _copy(saved, run)
    marker = tmp_path / "payload_ran"
    (run / "arrays.safetensors").write_bytes(_malicious(marker))
    np.save(tmp_path / "x.npy", np.zeros((3, 4)))
    assert main(["predict", "--model", str(run), "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("deepclust: error: model weights") and len(err.splitlines()) == 1
    assert not marker.exists() and not (tmp_path / "p.csv").exists()


def test_saved_model_records_versions(saved):
    doc = json.loads((saved / "model.json").read_text())
    assert doc["format"] == "deepclust-model"
    assert doc["format_version"] == FORMAT_VERSION and doc["deepclust_version"] == __version__
    assert sorted(p.name for p in saved.iterdir()) == ["arrays.safetensors", "model.json"]


def test_model_from_an_incompatible_version_names_both_versions(saved, tmp_path):
    model = _copy(saved, tmp_path / "model")
    doc = json.loads((model / "model.json").read_text())
    doc.update(format_version=FORMAT_VERSION + 1, deepclust_version="99.0")
    (model / "model.json").write_text(json.dumps(doc))
    expected = (
        f"saved by deepclust 99.0 in format version {FORMAT_VERSION + 1}; "
        f"this deepclust {__version__} reads format version {FORMAT_VERSION}"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_model(model)


# -- checkpoints ------------------------------------------------------------------------------------
def _checkpoint(tmp_path) -> Path:
    X, _ = make_blobs(60, n_features=4, centers=3, random_state=0)
    folder = tmp_path / "ckpt"
    with checkpointing(folder):
        AutoencoderEmbedding(hidden_dims=(8,), latent_dim=2, epochs=1, batch_size=32, precision="float32", device="cpu", random_state=0).fit(X)
    return folder / "phase-0.safetensors"


def test_malicious_pickle_in_place_of_a_checkpoint_is_refused(tmp_path):
    path = _checkpoint(tmp_path)
    marker = tmp_path / "payload_ran"
    path.write_bytes(_malicious(marker))
    with pytest.raises(ValueError, match="is corrupt or not a deepclust checkpoint"):
        ckpt_module.read_checkpoint(path)
    assert not marker.exists()


def test_checkpoint_records_and_checks_versions(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save

    path = _checkpoint(tmp_path)
    with safe_open(str(path), framework="pt") as fh:
        doc = json.loads(fh.metadata()["deepclust_checkpoint"])
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    assert doc["deepclust_version"] == __version__ and doc["format_version"] == ckpt_module.FORMAT_VERSION
    doc.update(format_version=ckpt_module.FORMAT_VERSION + 1, deepclust_version="99.0")
    path.write_bytes(save(tensors, metadata={"deepclust_checkpoint": json.dumps(doc)}))
    with pytest.raises(ValueError, match=r"written by deepclust 99\.0 in checkpoint format 2; this deepclust .* reads format 1"):
        ckpt_module.read_checkpoint(path)


# -- data files ---------------------------------------------------------------------------------------
def test_npy_with_pickled_objects_is_refused_without_running(tmp_path):
    marker = tmp_path / "payload_ran"
    arr = np.empty((1, 1), dtype=object)
    arr[0, 0] = Payload(marker)
    np.save(tmp_path / "x.npy", arr, allow_pickle=True)
    with pytest.raises(ValueError, match=r"x\.npy.*is not a readable \.npy file.*allow_pickle"):
        load_table(tmp_path / "x.npy")
    assert not marker.exists()


def test_the_library_never_unpickles():
    """No code path of deepclust calls a pickle loader or allows numpy to unpickle."""
    pattern = re.compile(r"pickle\.loads?\(|torch\.load\(|allow_pickle\s*=\s*True|joblib\.load|cloudpickle|dill\.load")
    offenders = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py") for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
