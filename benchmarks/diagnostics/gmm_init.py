"""VaDE's prior init: a diagonal GMM on the pretrained codes, one init (today) vs the best of 10
by likelihood (ACC-free choice). 5 seeds on each cached autoencoder's codes.

Usage: PYTHONPATH=src python benchmarks/diagnostics/gmm_init.py
"""
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import acc, codes, data, pretrain  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

X, y = data()
for kind in ("mse", "bce"):
    Z = codes(pretrain(X, kind, epochs=20), X).astype(np.float64)
    for n_init in (1, 10):
        accs, lls = [], []
        for seed in range(5):
            gm = GaussianMixture(10, covariance_type="diag", n_init=n_init, random_state=seed).fit(Z)
            accs.append(acc(y, gm.predict(Z)))
            lls.append(gm.score(Z))
        print(f"{kind} AE, n_init={n_init}: ACC {np.mean(accs):.3f} +- {np.std(accs):.3f} (min {min(accs):.3f}, max {max(accs):.3f}); "
              f"mean log-lik {np.mean(lls):.3f}", flush=True)
