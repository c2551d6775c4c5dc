"""N2D on the exposures table with narrower autoencoders than the width rule's (seed 0): is the
N2D miss on exposures (0.978 vs UMAP + GMM 0.996) the network's size for 1,152 rows?

The default (222 features -> 222-500-500-1776-6, 1.6 M weights) is in
results/n2d_seed_spread_exposures.jsonl. Labels only score; a width chosen from this output
would be tuned on the exposures row, so it is a lead for a rule that reads n_samples, to be
chosen on other data.

    DEEPCLUST_DATA=../shared/data OMP_NUM_THREADS=2 python benchmarks/diagnostics/exposures_narrow_n2d.py
"""
import json, sys, time
import numpy as np
from deepclust.datasets import load_dataset
from deepclust.methods import build_method, N2D, AutoencoderEmbedding
from deepclust.metrics import evaluate
from deepclust.runs.data import plan_preprocessing
data = load_dataset("exposome", table="exposures")
X = plan_preprocessing(data, "auto", []).fit_transform(data)
k = len(np.unique(data.y))
for dims in [(64, 64, 256), (32, 32, 128)]:
    t0 = time.time()
    m = build_method("n2d", k, 0, hidden_dims=list(dims)).fit(X)
    print(json.dumps({"hidden_dims": dims, "acc": round(evaluate(m.labels_, y_true=data.y)["acc"], 4), "seconds": round(time.time() - t0, 1)}), flush=True)
