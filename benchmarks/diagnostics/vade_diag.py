"""VaDE from a cached pretrained autoencoder, one factor at a time (issue 15 item 4).

Uses the library's own pieces (GMMPrior, vade_loss, vae_from_autoencoder, fit_module) so the
measured behaviour is today's, with the factors under test exposed as flags. Per epoch it logs
ACC-free diagnostics (ELBO terms, cluster sizes, posterior/prior log-variances, fraction of
labels changed since the GMM init) and, separately, ACC against the labels (score only).

Usage (from the repo root):
  PYTHONPATH=src python benchmarks/diagnostics/vade_diag.py --ae bce --recon bce --epochs 15
"""
from __future__ import annotations

import argparse
import json
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import acc, codes, data, pretrain  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from deepclust.heads.gmm_prior import GMMPrior, vade_loss  # noqa: E402
from deepclust.nn.vae import vae_from_autoencoder  # noqa: E402
from deepclust.train import Callback, fit_module  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--ae", choices=["mse", "bce"], default="mse", help="pretraining likelihood")
p.add_argument("--ae-epochs", type=int, default=20)
p.add_argument("--recon", choices=["mse", "bce"], default="bce", help="VaDE likelihood")
p.add_argument("--epochs", type=int, default=15)
p.add_argument("--batch", type=int, default=256)
p.add_argument("--lr", type=float, default=2e-3, help="network lr")
p.add_argument("--lr-prior", type=float, default=None, help="prior lr (default: = lr)")
p.add_argument("--decay", type=float, default=0.9)
p.add_argument("--decay-every", type=int, default=10)
p.add_argument("--floor", type=float, default=0.0)
p.add_argument("--logvar-init", default="prior", help="prior (today: bias = mean GMM log-var, W=0) | glorot (reference) | a number (bias, W=0)")
p.add_argument("--gamma-from", choices=["z", "mu"], default="z")
p.add_argument("--rec-weight", type=float, default=1.0)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--n", type=int, default=10000)
p.add_argument("--tag", default="")
p.add_argument("--dataset", default="mnist-test", help="a registered name; other data than the suite row a setting is for")
p.add_argument("--subset", default="all", help="all | train | test (the image benchmarks)")
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)

X, y = data(a.dataset, a.subset)
X, y = X[: a.n], y[: a.n]
same_data = (a.dataset, a.subset, a.n) == ("mnist-test", "all", 10000)  # the cache key of the earlier runs
ae = pretrain(X, a.ae, epochs=a.ae_epochs, tag="" if same_data else f"_{a.dataset}_{a.subset}_n{a.n}")
Z = codes(ae, X)
torch.manual_seed(a.seed)
vae = vae_from_autoencoder(ae, output="bernoulli" if a.recon == "bce" else "linear")
prior = GMMPrior(10, Z.shape[1])
init = prior.init_from_embedding(torch.from_numpy(Z), np.random.default_rng(a.seed)).numpy()
with torch.no_grad():
    if a.logvar_init == "prior":
        vae.logvar_layer.bias.copy_(prior.log_vars.mean(dim=0))
    elif a.logvar_init == "glorot":
        nn.init.xavier_uniform_(vae.logvar_layer.weight)
        vae.logvar_layer.bias.zero_()
    else:
        vae.logvar_layer.bias.fill_(float(a.logvar_init))
model = nn.ModuleDict({"vae": vae, "prior": prior})
lr_prior = a.lr if a.lr_prior is None else a.lr_prior
opt = torch.optim.Adam([{"params": vae.parameters(), "lr": a.lr}, {"params": prior.parameters(), "lr": lr_prior}], eps=1e-4)
Xt = torch.from_numpy(X)


def loss_fn(m, batch, st):
    x = batch[0]
    x_hat, mu, logvar, z = m["vae"](x)
    out = vade_loss(x, x_hat, mu, logvar, m["prior"], z=z if a.gamma_from == "z" else None, recon=a.recon)
    if a.rec_weight != 1.0:
        out["loss"] = a.rec_weight * out["reconstruction"] + out["kl"]
    return out


@torch.no_grad()
def snapshot():
    vae.eval()
    mu, logvar = vae.encode(Xt)
    lab = prior.predict(mu).numpy()
    vae.train()
    sizes = np.bincount(lab, minlength=10)
    return lab, sizes, float(logvar.mean()), mu


rows = []
lab0, sizes0, lv0, _ = snapshot()
with torch.no_grad():  # the ELBO terms at the start, on all data, one reparameterised sample
    vae.train()
    x_hat, mu_, lv_, z_ = vae(Xt)
    t = vade_loss(Xt, x_hat, mu_, lv_, prior, z=z_, recon=a.recon)
    print(f"init ELBO terms: reconstruction {float(t['reconstruction']):.1f}  kl {float(t['kl']):.2f}", flush=True)
    del x_hat, mu_, lv_, z_
print(f"init: diag-GMM ACC {acc(y, init):.4f}  prior-on-mu ACC {acc(y, lab0):.4f}  sizes {sizes0.min()}-{sizes0.max()}  "
      f"enc logvar {lv0:.2f}  prior logvar {float(prior.log_vars.mean()):.2f}  code std {Z.std(0).mean():.2f}", flush=True)


class Log(Callback):
    def on_epoch_end(self, st):
        lab, sizes, lv, mu = snapshot()
        row = dict(epoch=st.epoch + 1, loss=st.logs.get("loss"), rec=st.logs.get("reconstruction"), kl=st.logs.get("kl"),
                   lr=opt.param_groups[0]["lr"], min_size=int(sizes.min()), max_size=int(sizes.max()),
                   changed_vs_init=float(np.mean(lab != lab0)), enc_logvar=lv, prior_logvar=float(prior.log_vars.mean()),
                   pi_min=float(prior.weights.min()), acc=acc(y, lab))
        rows.append(row)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
        e = st.epoch + 1
        if e % a.decay_every == 0:
            for g in opt.param_groups:
                g["lr"] = max(g["lr"] * a.decay, a.floor)


t0 = time.time()
gen = torch.Generator().manual_seed(a.seed)
fit_module(model, loss_fn, (Xt,), epochs=a.epochs, batch_size=a.batch, optimizer=opt, generator=gen, callbacks=[Log()])
accs = [r["acc"] for r in rows]
print(f"RESULT {vars(a)} init_acc={acc(y, init):.4f} final_acc={accs[-1]:.4f} best_acc={max(accs):.4f}@{int(np.argmax(accs)) + 1} "
      f"seconds={time.time() - t0:.0f}", flush=True)
