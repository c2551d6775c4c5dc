"""Tuning probe for issue 4 (not a benchmark): train one ContrastiveEmbedding on a dataset,
then score several clusterers on that one embedding, so they are compared on equal terms.

    DEEPCLUST_DATA=../shared/data nice -n 10 python benchmarks/tuning/ssl_probe.py mnist m1 \
        '{"hidden_dims": [500, 500], "latent_dim": 64, "epochs": 15, "batch_size": 1024, "lr": 0.002, "augment": {"crop_scale": [0.6, 1.0]}}'

Prints one line per clusterer (ACC, NMI, ARI, cluster sizes, seconds); labels are used for
scoring only. Results and the machine state are recorded by hand in benchmarks/NOTES_ssl.md.
"""

import json
import sys
import time
import warnings

import numpy as np
import umap
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from deepclust.bench._results import peak_rss_mb
from deepclust.datasets import load_dataset
from deepclust.methods import ContrastiveEmbedding, RawFeatures, SCANClustering
from deepclust.metrics import evaluate

warnings.filterwarnings("ignore")


def main(name: str, tag: str, params: dict) -> None:
    d = load_dataset(name)
    X, y = d.X, d.y
    t0 = time.time()
    emb = ContrastiveEmbedding(input_shape=d.image_shape, random_state=0, **params).fit(X)
    Z = emb.transform(X)
    losses = [round(v, 3) for v in emb.history_["loss"]]
    print(tag, "embedding s", round(time.time() - t0), "s/epoch", round(float(np.mean(emb.history_["seconds"])), 1), "loss", losses, flush=True)

    def report(what, labels, t):
        e = evaluate(labels, y_true=y)
        scores = {k: round(e[k], 4) for k in ("acc", "nmi", "ari")}
        print(tag, what, scores, "sizes", e["smallest_cluster"], e["largest_cluster"], "s", round(time.time() - t), flush=True)

    k = len(np.unique(y))
    t = time.time()
    report("kmeans", KMeans(k, n_init=10, random_state=0).fit_predict(Z), t)
    t = time.time()
    M = umap.UMAP(n_neighbors=20, min_dist=0, n_components=k, random_state=0).fit_transform(Z)
    report("umap-gmm", GaussianMixture(k, covariance_type="full", random_state=0).fit_predict(M), t)
    for what, data in (("scan", Z), ("umap-scan", M)):
        t = time.time()
        report(what, SCANClustering(k, embedding=RawFeatures(), epochs=20, self_label_epochs=5, random_state=0).fit(data).labels_, t)
    print(tag, "peak MB", round(peak_rss_mb()))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
