"""Pretrain and cache the MSE (linear output) and Bernoulli (logit output, BCE summed) autoencoders.

Usage: PYTHONPATH=src python benchmarks/diagnostics/pretrain.py {mse|bce} EPOCHS
"""
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import acc, codes, data, pretrain  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

recon, epochs = sys.argv[1], int(sys.argv[2])
X, y = data()
ae = pretrain(X, recon, epochs=epochs)
Z = codes(ae, X)
km = KMeans(10, n_init=20, random_state=0).fit(Z)
gm = GaussianMixture(10, covariance_type="diag", random_state=0).fit(Z)
print(f"{recon} e{epochs}: code std {Z.std(0).mean():.3f}  kmeans ACC {acc(y, km.labels_):.3f}  diag-GMM ACC {acc(y, gm.predict(Z)):.3f}  "
      f"GMM mean log-var {float(__import__('numpy').log(gm.covariances_).mean()):.2f}", flush=True)
