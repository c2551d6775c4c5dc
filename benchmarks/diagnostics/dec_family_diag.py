"""DCN / DEC / IDEC clustering phases from one cached MSE-pretrained autoencoder (issue 15 item 5).

Calls the estimators' own ``_clustering_phase`` (today's loss, optimiser, callbacks) on the
shared loop, so only the factor under test differs:
  DCN: --counts {sizes,100} (initial centroid counts), --refit R (k-means re-run on all codes
       every R epochs, warm-started from the current centroids; 0 = never)
  DEC / IDEC: --max-iter, --tol, --gamma, --update-interval; prints n_iter_ and the stop reason.
ACC (labels: score only) of the head's own assignments at the end, and per epoch for DCN.

Usage: PYTHONPATH=src python benchmarks/diagnostics/dec_family_diag.py dcn --epochs 30 --counts 100
       PYTHONPATH=src python benchmarks/diagnostics/dec_family_diag.py idec --max-iter 4000
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import acc, codes, data, pretrain  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from torch import nn  # noqa: E402

from deepclust.methods import DCN, DEC, IDEC  # noqa: E402
from deepclust.train import Callback, fit_module  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("method", choices=["dcn", "dec", "idec"])
p.add_argument("--ae-epochs", type=int, default=20)
p.add_argument("--epochs", type=int, default=30, help="DCN epochs")
p.add_argument("--counts", default="sizes", help="DCN initial counts: sizes (today) or a number (reference: 100)")
p.add_argument("--refit", type=int, default=0, help="DCN: k-means refit every R epochs (0: never)")
p.add_argument("--lambd", type=float, default=1.0)
p.add_argument("--max-iter", type=int, default=4000)
p.add_argument("--tol", type=float, default=0.001)
p.add_argument("--gamma", type=float, default=0.1)
p.add_argument("--update-interval", type=int, default=140)
p.add_argument("--lr", type=float, default=None)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--n", type=int, default=10000)
a = p.parse_args()

X, y = data()
X, y = X[: a.n], y[: a.n]
ae0 = pretrain(X, "mse", epochs=a.ae_epochs)
Z = codes(ae0, X)
ae = copy.deepcopy(ae0).train()
kw = {} if a.lr is None else {"lr": a.lr}
if a.method == "dcn":
    est = DCN(10, lambd=a.lambd, epochs=a.epochs, **kw)
elif a.method == "dec":
    est = DEC(10, max_iter=a.max_iter, tol=a.tol, update_interval=a.update_interval, **kw)
else:
    est = IDEC(10, max_iter=a.max_iter, tol=a.tol, gamma=a.gamma, update_interval=a.update_interval, **kw)
head = est._make_head(10, Z.shape[1])
init = head.init_from_embedding(torch.from_numpy(Z), np.random.default_rng(a.seed))
print(f"{a.method}: k-means init ACC {acc(y, init.numpy()):.4f}", flush=True)
if a.method == "dcn" and a.counts != "sizes":
    head.counts.fill_(float(a.counts))
model = nn.ModuleDict({"autoencoder": ae, "head": head})
Xt = torch.from_numpy(X)
torch.manual_seed(a.seed)
phase = est._clustering_phase(model, Xt, init)


@torch.no_grad()
def labels_now():
    ae.eval()
    z = ae.encoder(Xt)
    ae.train()
    return z, head.predict(z).numpy()


class Log(Callback):
    def on_batch_begin(self, st):  # after TargetUpdate (listed first): ACC at each target update, score only
        if a.method == "dcn" or st.step % a.update_interval or st.stop:
            return
        _, lab = labels_now()
        print(json.dumps({"step": st.step, "acc": round(acc(y, lab), 4), "delta_label": round(phase.history["delta_label"][-1], 4),
                          "min_size": int(np.bincount(lab, minlength=10).min())}), flush=True)

    def on_epoch_end(self, st):
        if a.method != "dcn":
            return
        z, lab = labels_now()
        e = st.epoch + 1
        row = dict(epoch=e, loss=st.logs.get("loss"), rec=st.logs.get("reconstruction"), clu=st.logs.get("clustering"),
                   min_size=int(np.bincount(lab, minlength=10).min()), counts_min=float(head.counts.min()), acc=acc(y, lab))
        if a.refit and e % a.refit == 0 and e < a.epochs:
            km = KMeans(10, init=head.centers.numpy().astype(np.float64), n_init=1).fit(z.numpy())
            head.centers.copy_(torch.as_tensor(km.cluster_centers_, dtype=torch.float32))
            if a.counts == "sizes":
                head.counts.copy_(torch.as_tensor(np.bincount(km.labels_, minlength=10), dtype=torch.float32))
            else:
                head.counts.fill_(float(a.counts))
            row["refit_acc"] = acc(y, km.labels_)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)


t0 = time.time()
st = fit_module(model, phase.loss_fn, (Xt,), epochs=int(phase.epochs), batch_size=256, optimizer=phase.optimizer,
                generator=torch.Generator().manual_seed(a.seed), callbacks=[*phase.callbacks, Log()], max_steps=phase.max_steps)
_, lab = labels_now()
extra = ""
if a.method != "dcn":
    h = phase.history
    extra = f" n_iter={st.step} stop={st.stop_reason!r} delta_label={[round(v, 4) for v in h.get('delta_label', [])]}"
    if "reconstruction" in st.history:
        extra += f" rec/epoch={[round(v, 5) for v in st.history['reconstruction'][::5]]} clu/epoch={[round(v, 4) for v in st.history['clustering'][::5]]}"
print(f"RESULT {vars(a)} init_acc={acc(y, init.numpy()):.4f} final_acc={acc(y, lab):.4f} seconds={time.time() - t0:.0f}{extra}", flush=True)
