"""deepclust vs ClustPy: DEC and VaDE on MNIST-70k with the same network, epochs and batch size.

Both libraries run in ONE environment (the same torch build, same data, same machine), each
(library, method, seed) in its own process so wall time and peak memory are its own. The
network is the d-500-500-2000-10 MLP autoencoder in both (ClustPy's default); pretraining and
clustering epochs and the batch size are the same; everything else is each library's own
default (ClustPy: float32, Adam; deepclust: bf16 autocast where the CPU has it, DEC's SGD).
deepclust's DEC gets ``tol=0`` so that it runs all its clustering epochs, as ClustPy does.

ClustPy is never a dependency of deepclust. Set up the comparison environment once:

    python3 -m venv benchmarks/_work/venv-clustpy
    benchmarks/_work/venv-clustpy/bin/pip install torch==2.14.1 torchvision==0.29.1   # ClustPy needs torchvision
    benchmarks/_work/venv-clustpy/bin/pip install clustpy -e .
    DEEPCLUST_DATA=../shared/data benchmarks/_work/venv-clustpy/bin/python benchmarks/clustpy_compare.py --seeds 0-2

Rows go to ``benchmarks/results/clustpy_compare.csv`` (the results schema; method is
``dec (deepclust)``, ``dec (clustpy)``, ...). ``--report`` prints the side-by-side table with
the speed ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "results" / "clustpy_compare.csv"
MARK = "COMPARE_RESULT "


def child(library: str, method: str, seed: int, pretrain_epochs: int, clustering_epochs: int, batch_size: int) -> dict:
    import numpy as np

    from deepclust.bench._results import peak_rss_mb
    from deepclust.datasets import load_dataset
    from deepclust.metrics import evaluate

    data = load_dataset("mnist")
    X = data.X.astype(np.float32)
    t0 = time.perf_counter()
    if library == "clustpy":
        import torch
        from clustpy.deep import DEC as CDEC
        from clustpy.deep import VaDE as CVaDE

        cls = {"dec": CDEC, "vade": CVaDE}[method]
        model = cls(n_clusters=10, batch_size=batch_size, pretrain_epochs=pretrain_epochs, clustering_epochs=clustering_epochs,
                    embedding_size=10, device=torch.device("cpu"), random_state=seed)
        labels = model.fit(X).labels_
    else:
        from deepclust.methods import DEC, AutoencoderEmbedding, VaDE

        emb = AutoencoderEmbedding(epochs=pretrain_epochs, batch_size=batch_size)
        if method == "dec":
            steps = clustering_epochs * math.ceil(X.shape[0] / batch_size)
            model = DEC(10, embedding=emb, batch_size=batch_size, max_iter=steps, tol=0.0, init="kmeans", random_state=seed)  # ClustPy's DEC starts from k-means
        else:
            model = VaDE(10, embedding=emb, epochs=clustering_epochs, batch_size=batch_size, random_state=seed)
        labels = model.fit(X).labels_
    seconds = time.perf_counter() - t0
    m = evaluate(np.asarray(labels), y_true=data.y)
    return {"n_samples": int(X.shape[0]), "acc": m["acc"], "nmi": m["nmi"], "ari": m["ari"], "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def run(args) -> None:
    from deepclust.bench import append_rows, parse_seeds, read_rows
    from deepclust.bench._results import COLUMNS, command_line, device_description, git_commit

    done = {(r["method"], int(r["seed"])) for r in read_rows(args.out)}
    command = command_line()
    for method in args.methods:
        for seed in parse_seeds(args.seeds):
            for library in ("deepclust", "clustpy"):
                key = f"{method} ({library})"
                if (key, seed) in done:
                    continue
                argv = [sys.executable, __file__, "--child", library, method, str(seed), str(args.pretrain_epochs), str(args.clustering_epochs), str(args.batch_size)]
                proc = subprocess.run(argv, capture_output=True, text=True)
                line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith(MARK)), None)
                if line is None:
                    print(f"{key} seed {seed} failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}", flush=True)
                    continue
                res = json.loads(line[len(MARK):])
                row = {"dataset": "mnist", "method": key, "seed": seed, **{k: res[k] for k in ("n_samples", "acc", "nmi", "ari")},
                       "seconds": round(res["seconds"], 1), "peak_rss_mb": round(res["peak_rss_mb"], 1), "device": device_description("cpu"),
                       "commit": git_commit(), "command": command + f"  # pretrain_epochs={args.pretrain_epochs} clustering_epochs={args.clustering_epochs} batch_size={args.batch_size}"}
                append_rows(args.out, [row], columns=COLUMNS)
                print(f"{key} seed {seed}: ACC {res['acc']:.4f} in {res['seconds']:.0f} s, {res['peak_rss_mb']:.0f} MiB", flush=True)


def report(path: Path) -> str:
    import pandas as pd

    from deepclust.bench import read_rows

    df = pd.DataFrame(read_rows(path))
    for c in ("acc", "nmi", "ari", "seconds", "peak_rss_mb"):
        df[c] = pd.to_numeric(df[c])
    df["library"] = df["method"].str.extract(r"\((\w+)\)")
    df["algo"] = df["method"].str.split(" ").str[0]
    lines = ["| method | library | seeds | ACC | NMI | seconds | peak MiB | speed-up vs ClustPy |", "|---|---|---|---|---|---|---|---|"]
    for algo, g in df.groupby("algo", sort=False):
        ref = g[g["library"] == "clustpy"]["seconds"].mean()
        for lib, h in g.groupby("library", sort=False):
            sd = lambda s: f"{s.mean():.3f} ± {s.std(ddof=1):.3f}" if len(s) > 1 else f"{s.mean():.3f}"
            ratio = f"{ref / h['seconds'].mean():.2f}x" if lib == "deepclust" and ref == ref else "1.00x" if lib == "clustpy" else "-"
            lines.append(f"| {algo} | {lib} | {len(h)} | {sd(h['acc'])} | {sd(h['nmi'])} | {h['seconds'].mean():.0f} | {h['peak_rss_mb'].mean():.0f} | {ratio} |")
    prov = [f"- {c}: " + ", ".join(f"`{v}`" for v in sorted(set(df[c].astype(str)))) for c in ("commit", "device", "command")]
    return "\n".join(lines) + "\n\n" + "\n".join(prov) + "\n"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        library, method, seed, pe, ce, bs = sys.argv[2:8]
        print(MARK + json.dumps(child(library, method, int(seed), int(pe), int(ce), int(bs))), flush=True)
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", nargs="+", default=["dec", "vade"], choices=["dec", "vade"])
    p.add_argument("--seeds", default="0-2")
    p.add_argument("--pretrain-epochs", type=int, default=20)
    p.add_argument("--clustering-epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--report", action="store_true", help="print the table of the results file and exit")
    a = p.parse_args()
    if a.report:
        print(report(a.out))
        return 0
    run(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
