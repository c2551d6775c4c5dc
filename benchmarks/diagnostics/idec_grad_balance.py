"""IDEC: how the reconstruction and clustering terms pull on the encoder at the start (issue 15).

From the cached MSE autoencoder and its k-means init, over 10 batches of 256: the norm of the
encoder gradient of L_rec (mean squared error per entry, as today and as Keras 'mse') and of
gamma * KL(P||Q) (batchmean), and their cosine. Cheap: 20 backward passes.

Usage: PYTHONPATH=src python benchmarks/diagnostics/idec_grad_balance.py [gamma]
"""
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import codes, data, pretrain  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from deepclust.heads import StudentTHead  # noqa: E402
from deepclust.losses import reconstruction_mse, target_distribution  # noqa: E402

gamma = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
X, y = data()
ae = pretrain(X, "mse", epochs=20).train()
Z = codes(ae, X)
head = StudentTHead(10, 10)
head.init_from_embedding(torch.from_numpy(Z), np.random.default_rng(0))
Xt = torch.from_numpy(X)
with torch.no_grad():
    P = target_distribution(head.soft_assign(ae.encoder(Xt)))
params = list(ae.encoder.parameters())
rng = np.random.default_rng(0)
nr, nc, cos, lr_, lc_ = [], [], [], [], []
for _ in range(10):
    idx = torch.from_numpy(rng.choice(len(X), 256, replace=False))
    x = Xt[idx]
    z = ae.encoder(x)
    rec = reconstruction_mse(ae.decoder(z), x)
    kl = head.loss(z, P[idx])
    g1 = torch.autograd.grad(rec, params, retain_graph=True)
    g2 = torch.autograd.grad(gamma * kl, params)
    v1, v2 = torch.cat([g.flatten() for g in g1]), torch.cat([g.flatten() for g in g2])
    nr.append(float(v1.norm())); nc.append(float(v2.norm())); cos.append(float(v1 @ v2 / (v1.norm() * v2.norm())))
    lr_.append(float(rec)); lc_.append(float(kl))
print(f"gamma={gamma}: L_rec {np.mean(lr_):.5f}  KL {np.mean(lc_):.4f}  |grad_enc L_rec| {np.mean(nr):.4g}  "
      f"|grad_enc gamma*KL| {np.mean(nc):.4g}  ratio clu/rec {np.mean(nc) / np.mean(nr):.3f}  cosine {np.mean(cos):.3f}")
