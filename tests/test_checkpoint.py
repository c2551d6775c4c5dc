"""Checkpoints and resuming: a fit interrupted in any phase of any deep method, resumed from its
checkpoints, gives bit-for-bit the weights and labels of an uninterrupted fit (CPU, fixed seed);
the CLI survives ``kill -9``; mismatched, foreign and corrupt checkpoints are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import make_blobs

from conftest import make_blobs32, tiny_autoencoder
from deepclust.cli import main
from deepclust.methods import DCN, DEC, IDEC, VaDE, VAEEmbedding
from deepclust.train import Callback, checkpointing, fit_module
from deepclust.train import checkpoint as ckpt_module

N, D, K = 240, 8, 3


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    return make_blobs32(N, D, K)[0]


def ae(**kw):
    return tiny_autoencoder(**{"latent_dim": 3, "epochs": 5, **kw})


# name -> (estimator factory, (phase, epoch) after whose checkpoint the fit is "killed")
CASES = {
    # patience: EarlyStopping's counters must survive the resume too
    "autoencoder": (lambda: ae(epochs=8, patience=50, random_state=0), (0, 3)),
    "vae": (lambda: VAEEmbedding(hidden_dims=(16,), latent_dim=3, epochs=6, batch_size=32, recon="mse", precision="float32", device="cpu", random_state=0), (0, 2)),
    # update_interval 7 does not divide the 8 batches of an epoch: DEC's targets P must be restored
    "dec": (lambda: DEC(K, embedding=ae(), max_iter=48, update_interval=7, tol=0.0, batch_size=32, random_state=0), (1, 2)),
    "idec": (lambda: IDEC(K, embedding=ae(), max_iter=48, update_interval=7, tol=0.0, batch_size=32, random_state=0), (1, 3)),
    "dcn": (lambda: DCN(K, embedding=ae(), epochs=4, batch_size=32, random_state=0), (1, 2)),
    # VaDE draws reparameterisation noise from the torch RNG and decays its learning rate
    "vade": (lambda: VaDE(K, embedding=ae(), epochs=5, decay_every=2, batch_size=32, recon="mse", random_state=0), (1, 2)),
}


class Killed(BaseException):
    """Stands in for the process dying right after a checkpoint was written (a BaseException, so
    that no ``except Exception`` on the way, such as the CLI's, turns it into an error message)."""


def _record_writes(monkeypatch, kill_at=None) -> list[tuple[int, int, bool]]:
    """Spy on checkpoint writes: (phase, next epoch, finished); raise Killed after ``kill_at``."""
    writes = []
    real = ckpt_module.write_checkpoint

    def spy(path, meta, tree):
        real(path, meta, tree)
        writes.append((meta["phase"], meta["next_epoch"], meta["finished"]))
        if kill_at is not None and (meta["phase"], meta["next_epoch"]) == kill_at and not meta["finished"]:
            raise Killed

    monkeypatch.setattr(ckpt_module, "write_checkpoint", spy)
    return writes


def _network(model):
    emb = model.embedding_ if hasattr(model, "embedding_") else model
    return emb.autoencoder_.state_dict()


def _without_seconds(history: dict) -> dict:
    return {k: v for k, v in history.items() if not k.endswith("seconds")}


@pytest.mark.parametrize("name", CASES)
def test_resume_after_a_crash_equals_an_uninterrupted_fit(blobs, tmp_path, monkeypatch, name):
    make, (phase, epoch) = CASES[name]
    reference = make().fit(blobs)

    writes = _record_writes(monkeypatch, kill_at=(phase, epoch + 1))
    with pytest.raises(Killed), checkpointing(tmp_path, every=1):
        make().fit(blobs)
    assert writes[-1] == (phase, epoch + 1, False)
    writes.clear()
    with checkpointing(tmp_path, every=1, resume=True) as ctx:
        resumed = make().fit(blobs)

    assert ctx.resumed_phases == list(range(phase + 1))
    # nothing that was checkpointed is trained again: the first epoch written is the next one
    assert writes[0] == (phase, epoch + 2, False) or writes[0][2]
    assert all(w[0] >= phase for w in writes)
    for key, value in _network(reference).items():
        assert torch.equal(_network(resumed)[key], value), key
    assert _without_seconds(resumed.history_) == _without_seconds(reference.history_)
    np.testing.assert_array_equal(resumed.transform(blobs), reference.transform(blobs))
    if hasattr(reference, "labels_"):
        np.testing.assert_array_equal(resumed.labels_, reference.labels_)
        np.testing.assert_array_equal(resumed.cluster_centers_, reference.cluster_centers_)
        assert resumed.n_iter_ == reference.n_iter_


def test_finished_phases_are_not_trained_again(blobs, tmp_path, monkeypatch):
    make, _ = CASES["dcn"]
    with checkpointing(tmp_path, every=2):
        first = make().fit(blobs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["phase-0.safetensors", "phase-1.safetensors"]
    writes = _record_writes(monkeypatch)
    steps = []
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: steps.append(1))
    with checkpointing(tmp_path, resume=True) as ctx:
        again = make().fit(blobs)
    assert ctx.resumed_phases == [0, 1] and writes == [] and steps == []
    np.testing.assert_array_equal(again.labels_, first.labels_)


def test_every_n_epochs_and_a_final_checkpoint(blobs, tmp_path, monkeypatch):
    writes = _record_writes(monkeypatch)
    with checkpointing(tmp_path, every=3):
        ae(epochs=7, random_state=0).fit(blobs)
    assert writes == [(0, 3, False), (0, 6, False), (0, 7, True)]


def test_resuming_a_different_run_is_refused(blobs, tmp_path):
    with checkpointing(tmp_path):
        ae(epochs=3, random_state=0).fit(blobs)
    with pytest.raises(ValueError, match=r"belongs to a different run \(epochs was 3, now 4\)"):
        with checkpointing(tmp_path, resume=True):
            ae(epochs=4, random_state=0).fit(blobs)
    with pytest.raises(ValueError, match="the data differ"):
        with checkpointing(tmp_path, resume=True):
            ae(epochs=3, random_state=0).fit(blobs + 1.0)
    with pytest.raises(ValueError, match="module was"):
        with checkpointing(tmp_path, resume=True):
            ae(epochs=3, hidden_dims=(8,), random_state=0).fit(blobs)


def test_existing_checkpoints_are_never_reused_or_overwritten_silently(blobs, tmp_path):
    with checkpointing(tmp_path):
        ae(epochs=2, random_state=0).fit(blobs)
    before = (tmp_path / "phase-0.safetensors").read_bytes()
    with pytest.raises(FileExistsError, match="already holds checkpoints.*resume"):
        with checkpointing(tmp_path):
            pass
    assert (tmp_path / "phase-0.safetensors").read_bytes() == before
    with pytest.raises(ValueError, match="positive integer"):
        with checkpointing(tmp_path / "new", every=0):
            pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        with checkpointing(tmp_path / "file"):
            pass


def test_a_failed_write_keeps_the_previous_checkpoint(blobs, tmp_path, monkeypatch):
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):  # the disk fills up while the second checkpoint is written
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"), checkpointing(tmp_path):
        ae(epochs=4, random_state=0).fit(blobs)
    assert [p.name for p in tmp_path.iterdir()] == ["phase-0.safetensors"]  # no temporary file left
    meta, _ = ckpt_module.read_checkpoint(tmp_path / "phase-0.safetensors")
    assert meta["next_epoch"] == 1 and not meta["finished"]


def test_a_callback_with_state_is_checkpointed(tmp_path, monkeypatch):
    class Counter(Callback):
        """Counts epochs across the whole fit: its count must survive a resume."""

        def on_train_begin(self, state):
            self.count = 0

        def on_epoch_end(self, state):
            self.count += 1
            state.logs["count"] = float(self.count)

        def state_dict(self):
            return {"count": self.count, "nested": {"as_tuple": (1, 2.5), 3: torch.arange(3)}}

        def load_state_dict(self, state):
            assert state["nested"]["as_tuple"] == (1, 2.5) and torch.equal(state["nested"][3], torch.arange(3))
            self.count = state["count"]

    def run(resume=False):
        torch.manual_seed(0)
        module = torch.nn.Linear(2, 1)
        x = torch.randn(20, 2, generator=torch.Generator().manual_seed(1))
        with checkpointing(tmp_path, resume=resume):
            return fit_module(module, lambda m, b, s: m(b[0]).pow(2).mean(), (x,), epochs=5, batch_size=4,
                              optimizer=torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9),
                              generator=torch.Generator().manual_seed(2), callbacks=[Counter()])

    _record_writes(monkeypatch, kill_at=(0, 2))
    with pytest.raises(Killed):
        run()
    state = run(resume=True)
    assert state.history["count"] == [1.0, 2.0, 3.0, 4.0, 5.0] and state.history["epoch"] == [0, 1, 2, 3, 4]


# -- the command line, killed for real ------------------------------------------------------------
# The child is the real CLI, single-threaded as the in-process reference is. After the checkpoint
# of the second epoch of the phase to be killed it stops (sleeps), so that the kill lands in the
# middle of that phase however loaded the machine is; the sleep changes no result.
CHILD = """
import sys, time, torch
torch.set_num_threads(1)
from deepclust.train import checkpoint
write, kill_phase = checkpoint.write_checkpoint, int(sys.argv[1])
def write_then_wait(path, meta, tree):
    write(path, meta, tree)
    if meta["phase"] == kill_phase and meta["next_epoch"] == 2 and not meta["finished"]:
        time.sleep(600)
checkpoint.write_checkpoint = write_then_wait
from deepclust.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _next_epoch(path: Path) -> int:
    try:
        return ckpt_module.read_checkpoint(path)[0]["next_epoch"]
    except (OSError, ValueError):
        return 0


@pytest.fixture(scope="module")
def cli_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-data")
    X, y = make_blobs(N, n_features=D, centers=K, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(D)])
    frame["group"] = y
    frame.to_csv(folder / "blobs.csv", index=False)
    (folder / "tiny.json").write_text(json.dumps({"type": "mlp", "hidden_dims": [16], "latent_dim": 3}))
    return folder


def _fit_args(cli_data, out, method, epochs):
    return ["fit", "--data", cli_data / "blobs.csv", "--label-column", "group", "--method", method, "--network", cli_data / "tiny.json",
            "--epochs", epochs, "--batch-size", 32, "--seed", 0, "--out", out, "--quiet"]


def _run(*args):
    try:
        return main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code


def _arrays(run_dir: Path) -> dict:
    from safetensors.numpy import load_file

    return load_file(str(run_dir / "model" / "arrays.safetensors"))


@pytest.mark.parametrize(
    "method, epochs, kill_phase",
    [
        ("ae-kmeans", 40, 0),  # killed while the autoencoder trains
        ("dec", 5, 1),  # killed in DEC's clustering phase, after its pretraining finished
    ],
)
def test_cli_resume_after_kill_9_gives_the_uninterrupted_result(tmp_path, cli_data, capsys, method, epochs, kill_phase):
    out = tmp_path / "run"
    folder = Path(f"{out}.partial-checkpoints")
    args = [str(a) for a in _fit_args(cli_data, out, method, epochs)] + ["--checkpoint-every", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(kill_phase), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    target = folder / f"phase-{kill_phase}.safetensors"
    deadline = time.monotonic() + 600
    while _next_epoch(target) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read().decode()
    meta, _ = ckpt_module.read_checkpoint(target)
    assert not meta["finished"]  # killed in the middle of the phase
    assert not out.exists()  # the run folder appears complete or not at all

    assert _run(*_fit_args(cli_data, out, method, epochs), "--resume") == 0
    assert "resumed from checkpoints" in capsys.readouterr().out
    assert not folder.exists()  # removed once the run folder is complete
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nor any temporary folder left

    reference = tmp_path / "reference"
    assert _run(*_fit_args(cli_data, reference, method, epochs)) == 0
    assert (out / "labels.csv").read_bytes() == (reference / "labels.csv").read_bytes()
    resumed, expected = _arrays(out), _arrays(reference)
    assert resumed.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(resumed[key], expected[key], err_msg=key)


def test_cli_resume_refuses_other_arguments_and_missing_checkpoints(tmp_path, cli_data, capsys, monkeypatch):
    out = tmp_path / "run"
    _record_writes(monkeypatch, kill_at=(0, 1))
    with pytest.raises(Killed):
        main([str(a) for a in _fit_args(cli_data, out, "ae-kmeans", 3)] + ["--checkpoint-every", "1"])
    folder = Path(f"{out}.partial-checkpoints")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    assert _run(*_fit_args(cli_data, out, "ae-kmeans", 4), "--resume") == 2
    err = capsys.readouterr().err.strip()
    assert "cannot resume" in err and "epochs" in err and len(err.splitlines()) == 1
    assert _run(*_fit_args(cli_data, out, "ae-kmeans", 3), "--checkpoint-every", 1) == 2  # no --resume
    assert "--resume" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # checkpoints untouched
    assert _run(*_fit_args(cli_data, tmp_path / "elsewhere", "ae-kmeans", 3), "--resume") == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "elsewhere").exists()
