"""Training on data larger than memory: one autoencoder epoch streamed from a .npy file.

Writes a 2,000,000 x 784 float32 .npy (6.3 GB; MNIST digits drawn with replacement, each
with fresh uniform noise of amplitude 0.1, clipped to [0, 1]; the digit labels beside it),
then for each n in --sizes runs, in a fresh process (so VmHWM is its own):

1. one epoch of ``AutoencoderEmbedding`` (d-500-500-2000-10 unless --hidden-dims, batch 256,
   precision auto) streamed from the first n rows of the file (``DiskArray.head``; blocks of ~32 MB,
   8 blocks per shuffle window, the next window read ahead by a thread);
2. ``transform_to_npy``: the codes written to a .npy chunk by chunk;
3. the "kmeans" clusterer (FastKMeans) on the codes, scored against the digit labels.

Each row records the epoch time (``seconds``), the child's peak RSS (``peak_rss_mb``, VmHWM)
and the times of steps 2 and 3. The file is deleted at the end unless --keep.

    python benchmarks/streaming.py --file /work/stream_2m.npy --sizes 10000,100000,1000000,2000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

EXTRA = ("epoch_seconds", "rows_per_second", "transform_seconds", "kmeans_seconds", "file_mb")


def make_file(path: Path, n: int, seed: int = 0, chunk: int = 50_000) -> None:
    """Write ``n`` noisy MNIST rows to ``path`` (and labels to ``path.labels.npy``) chunk by chunk."""
    from deepclust.datasets import load_dataset

    mnist = load_dataset("mnist")
    X0, y0 = mnist.X.astype(np.float32), np.asarray(mnist.y)
    rng = np.random.default_rng(seed)
    labels = np.empty(n, dtype=np.int64)
    tmp = path.with_suffix(".partial")
    with open(tmp, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (n, X0.shape[1])})
        for s in range(0, n, chunk):
            m = min(chunk, n - s)
            pick = rng.integers(0, X0.shape[0], m)
            block = X0[pick] + rng.uniform(-0.1, 0.1, (m, X0.shape[1])).astype(np.float32)
            np.clip(block, 0.0, 1.0, out=block)
            fh.write(block.tobytes())
            labels[s : s + m] = y0[pick]
    os.replace(tmp, path)
    np.save(str(path) + ".labels.npy", labels)


def child(path: str, n: int, seed: int, workdir: str, hidden: tuple[int, ...], batch_size: int) -> None:
    """One measurement, in its own process; prints a JSON line."""
    from deepclust.bench._results import peak_rss_mb
    from deepclust.methods import AutoencoderEmbedding, FastKMeans
    from deepclust.methods.streaming import open_array, transform_to_npy
    from deepclust.metrics import ari, cluster_accuracy, nmi

    data = open_array(path).head(n)
    emb = AutoencoderEmbedding(hidden_dims=hidden, epochs=1, batch_size=batch_size, random_state=seed)
    t0 = time.perf_counter()
    emb.fit(data)
    epoch = time.perf_counter() - t0
    t0 = time.perf_counter()
    codes_path = transform_to_npy(emb, data, Path(workdir) / f"codes_{n}.npy")
    transform = time.perf_counter() - t0
    codes = np.load(codes_path)
    t0 = time.perf_counter()
    labels = FastKMeans(10, n_init=10, random_state=seed).fit(codes).labels_
    kmeans = time.perf_counter() - t0
    os.remove(codes_path)
    y = np.load(path + ".labels.npy", mmap_mode="r")[:n]
    print(json.dumps({
        "epoch_seconds": epoch, "transform_seconds": transform, "kmeans_seconds": kmeans, "peak_rss_mb": peak_rss_mb(),
        "acc": cluster_accuracy(y, labels), "nmi": nmi(y, labels), "ari": ari(y, labels), "history": emb.history_,
    }))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--file", default="/tmp/deepclust_stream.npy", help="the .npy to write and stream (outside the repository)")
    p.add_argument("--sizes", default="10000,100000,1000000,2000000")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", action="store_true", help="keep the data file afterwards")
    p.add_argument("--hidden-dims", default="500,500,2000", help="encoder widths (default: DEC's 500,500,2000)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--out", default="benchmarks/results/streaming.csv")
    p.add_argument("--child", nargs=3, metavar=("PATH", "N", "WORKDIR"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.seed, args.child[2], tuple(int(h) for h in args.hidden_dims.split(",")), args.batch_size)
        return
    from deepclust.bench._results import COLUMNS, append_rows, command_line, device_description, git_commit

    sizes = [int(s) for s in args.sizes.split(",")]
    path = Path(args.file)
    if not path.exists() or np.load(path, mmap_mode="r").shape[0] < max(sizes):
        t0 = time.perf_counter()
        make_file(path, max(sizes), seed=args.seed)
        print(f"wrote {path} ({path.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - t0:.0f} s", flush=True)
    try:
        for n in sizes:
            cmd = [sys.executable, __file__, "--seed", str(args.seed), "--hidden-dims", args.hidden_dims, "--batch-size", str(args.batch_size), "--child", str(path), str(n), str(path.parent)]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"n={n} failed:\n{res.stderr[-3000:]}")
            r = json.loads(res.stdout.strip().splitlines()[-1])
            row = {
                "dataset": f"noisy-mnist-{n}", "method": f"ae-{args.hidden_dims.replace(',', '-')}-stream-1epoch", "seed": args.seed, "n_samples": n,
                "acc": r["acc"], "nmi": r["nmi"], "ari": r["ari"], "seconds": round(r["epoch_seconds"], 2),
                "peak_rss_mb": round(r["peak_rss_mb"], 1), "device": device_description("cpu"), "commit": git_commit(),
                "command": command_line(), "epoch_seconds": round(r["epoch_seconds"], 2),
                "rows_per_second": round(n / r["epoch_seconds"]), "transform_seconds": round(r["transform_seconds"], 2),
                "kmeans_seconds": round(r["kmeans_seconds"], 2), "file_mb": round(n * 784 * 4 / 2**20),
            }
            append_rows(args.out, [row], COLUMNS + EXTRA)
            print(f"n={n}: epoch {row['epoch_seconds']} s ({row['rows_per_second']} rows/s), peak RSS {row['peak_rss_mb']} MB, "
                  f"codes written in {row['transform_seconds']} s, k-means {row['kmeans_seconds']} s, loss {r['history']['loss']}", flush=True)
    finally:
        if not args.keep:
            for f in (path, Path(str(path) + ".labels.npy")):
                f.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
