"""Fits that tests/test_distributed.py runs under ``torchrun`` and, for reference, in one process.

Usage: ``torchrun --standalone --nproc_per_node=2 tests/ddp_worker.py OUT`` writes ``OUT.npz``
from rank 0 and ``OUT.rank<R>.npz`` from every rank (to check that the ranks agree).
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from sklearn.datasets import make_blobs

from deepclust.methods import DCN, DEC, AutoencoderEmbedding
from deepclust.train import distributed


def data() -> np.ndarray:
    X, _ = make_blobs(600, n_features=12, centers=3, cluster_std=2.0, random_state=0)
    return X.astype(np.float32)


def run(out: str) -> dict[str, np.ndarray]:
    distributed.init_from_env("cpu")
    X = data()
    emb = AutoencoderEmbedding(latent_dim=3, hidden_dims=(32,), epochs=4, batch_size=64, precision="float32", device="cpu", random_state=0)
    emb.fit(X)
    # tol=0: DEC runs all max_iter steps, so a label-change test cannot end the two runs apart
    dec = DEC(3, embedding=emb, max_iter=60, update_interval=20, tol=0.0, batch_size=64, random_state=0).fit(X)
    dcn = DCN(3, embedding=emb, epochs=3, batch_size=64, random_state=0).fit(X)
    result = {
        "world_size": np.array(distributed.world_size()),
        "ae_loss": np.array(emb.history_["loss"]),
        "codes": emb.transform(X),
        "dec_labels": dec.labels_,
        "dec_centers": dec.cluster_centers_,
        "dec_delta": np.array(dec.history_["delta_label"]),
        "dcn_labels": dcn.labels_,
        "dcn_centers": dcn.cluster_centers_,
        "dcn_loss": np.array(dcn.history_["loss"]),
    }
    np.savez(f"{out}.rank{distributed.rank()}.npz", **result)
    if distributed.is_main_process():
        np.savez(f"{out}.npz", **result)
    distributed.shutdown()
    return result


if __name__ == "__main__":
    torch.set_num_threads(1)
    run(sys.argv[1])
