"""Shared pieces of the VaDE / DCN / IDEC diagnostics (issue 15 items 4-5).

Pretrained autoencoders and their codes are cached under /tmp/vdiag so that every experiment
starts from the same network. Labels are used only to score.
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
import torch

torch.set_num_threads(1)

from deepclust.datasets import load_dataset
from deepclust.metrics import cluster_accuracy, nmi
from deepclust.nn import glorot_uniform_, mlp_autoencoder
from deepclust.train import fit_module
from deepclust.train.optim import adam

os.environ.setdefault("DEEPCLUST_DATA", "/work/shared/data")
CACHE = os.environ.get("VDIAG_CACHE", "/tmp/vdiag")


def data(name: str = "mnist-test", subset: str = "all"):
    ds = load_dataset(name, subset=subset)
    X = np.asarray(ds.X, dtype=np.float32)
    y = np.asarray(ds.y)
    return X, y


def acc(y, labels) -> float:
    return float(cluster_accuracy(y, labels))


def pretrain(X, recon: str, epochs: int = 60, seed: int = 0, batch_size: int = 256, lr: float = 1e-3, tag: str = ""):
    """The d-500-500-2000-10 MLP autoencoder, DEC init, Adam; recon "mse" (mean over entries,
    today's AutoencoderEmbedding) or "bce" (decoder logits, BCE summed over pixels, VaDE's reference)."""
    path = f"{CACHE}/ae_{recon}_e{epochs}_s{seed}{tag}.pt"
    ae = mlp_autoencoder(X.shape[1], (500, 500, 2000), 10)
    if os.path.exists(path):
        ae.load_state_dict(torch.load(path))
        return ae.eval()
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    glorot_uniform_(ae, generator=gen)
    opt = adam(ae.parameters(), lr=lr)
    Xt = torch.from_numpy(X)

    def loss_fn(m, batch, st):
        x = batch[0]
        out = m(x)
        if recon == "mse":
            return torch.mean((out - x) ** 2)
        return torch.nn.functional.binary_cross_entropy_with_logits(out, x, reduction="none").sum(1).mean()

    t0 = time.time()
    st = fit_module(ae, loss_fn, (Xt,), epochs=epochs, batch_size=batch_size, optimizer=opt, generator=gen)
    os.makedirs(CACHE, exist_ok=True)
    torch.save(ae.state_dict(), path)
    print(f"pretrained {recon} {epochs} epochs in {time.time() - t0:.0f}s, final loss {st.history['loss'][-1]:.4f}", flush=True)
    return ae.eval()


@torch.no_grad()
def codes(ae, X) -> np.ndarray:
    return ae.encoder(torch.from_numpy(X)).numpy()
