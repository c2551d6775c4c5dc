"""N2D on one dataset with a given autoencoder width and epochs: ACC, steps, seconds (one JSON line).

Usage: python benchmarks/diagnostics/n2d_budget_width.py DATASET HIDDEN EPOCHS [SEED] [BATCH]
  e.g. python benchmarks/diagnostics/n2d_budget_width.py digits 256,256,512 1375 0
"""
import sys, time, json
import numpy as np, torch
torch.set_num_threads(1)
from deepclust.datasets import load_dataset
from deepclust.methods import N2D, AutoencoderEmbedding
from deepclust.metrics import evaluate
name = sys.argv[1]; hidden = tuple(int(h) for h in sys.argv[2].split(",")); epochs = int(sys.argv[3]); seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
bs = int(sys.argv[5]) if len(sys.argv) > 5 else 256
d = load_dataset(name)
X = d.X
k = len(np.unique(d.y))
t = time.time()
m = N2D(n_clusters=k, embedding=AutoencoderEmbedding(latent_dim=k, hidden_dims=hidden, epochs=epochs, batch_size=bs, random_state=seed), random_state=seed).fit(X)
acc = evaluate(m.labels_, y_true=d.y)["acc"]
print(json.dumps({"data": name, "hidden": hidden, "epochs": epochs, "bs": bs, "seed": seed, "steps": epochs * int(np.ceil(len(X) / bs)), "acc": round(acc, 4), "sec": round(time.time() - t, 1), "loss": m.embedding_.history_["loss"][-1] if hasattr(m, "embedding_") else None}), flush=True)
