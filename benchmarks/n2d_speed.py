"""N2D time to accuracy on MNIST-70k, deepclust vs ClustPy, as a ratio measured in one invocation (issue 16).

One invocation runs, one after the other, for each seed: ClustPy's ``N2D`` (UMAP manifold
``n_neighbors=20, min_dist=0``, d-500-500-2000-10, batch 256, 40 pretraining epochs, float32)
and deepclust's ``N2D`` with its own default recipe. Each run is its own process, so wall time
and peak RSS are its own; both libraries run with the same Python and torch build (the ClustPy
environment, into which this checkout is installed in editable mode). Before the runs, the same
environment times a bf16 and a float32 2048 x 2048 matrix product, so that rows from different
days can be compared against the hardware rate of their own invocation. Rows record wall time,
peak RSS, ACC/NMI, optimizer steps, both matrix rates, the command, commit, seed and machine,
and for deepclust the seconds of each phase (``N2D.timings_``; empty in rows from before it).

The ClustPy environment is created at ``benchmarks/_work/venv-clustpy`` when absent: the torch
release of the Python that runs this script (e.g. 2.13.0+cpu; a bare ``torch==2.14.1`` from
PyPI pulls several GB of CUDA libraries), a torchvision that matches it, clustpy and this
checkout. An existing environment (e.g. clustpy_compare.py's) is used as it is. Resumable: a
(library, seed, rows, epochs) already in the results file is skipped.

    DEEPCLUST_DATA=../shared/data python benchmarks/n2d_speed.py --seeds 0-2      # ~40 min idle
    DEEPCLUST_DATA=../shared/data python benchmarks/n2d_speed.py --smoke          # 3,000 rows, 1 epoch, seed 0
    DEEPCLUST_DATA=../shared/data python benchmarks/n2d_speed.py --seeds 0 --cuda-graph   # + deepclust with a captured step (CUDA)

Rows go to ``benchmarks/results/n2d_speed.csv`` (``--smoke``: ``n2d_speed_smoke.csv``);
``--report`` prints the table with the speed ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
VENV = Path(__file__).parent / "_work" / "venv-clustpy"
MARK = "N2D_SPEED_RESULT "
COLUMNS = (
    "dataset", "library", "seed", "n_samples", "pretrain_epochs", "acc", "nmi", "seconds", "peak_rss_mb", "optimizer_steps",
    "bf16_gflops", "float32_gflops", "speedup_vs_clustpy", "device", "commit", "command", "phase_seconds",
)
CLUSTPY_EPOCHS = 40  # the shortest ClustPy setting measured at ACC 0.978 (issue 16)


# -- in the child process -------------------------------------------------------------------
def matmul_rates(device: str = "cpu", repeats: int = 10) -> dict:
    """GFLOP/s of a square matrix product in float32 and in bf16 (best of ``repeats``) on ``device``.

    2048 x 2048 on the CPU; 8192 x 8192 on CUDA, where a smaller product does not fill the GPU.
    A CPU without native bf16 (AVX2 only) emulates it 20-70x slower than float32: there the bf16
    rate is measured on 512 x 512 (the 2048 product took minutes), and is that emulated rate.
    """
    import torch

    from deepclust.methods._base import cpu_has_fast_bf16

    size = 8192 if device == "cuda" else 2048
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    out = {}
    for name, dtype in (("float32", torch.float32), ("bf16", torch.bfloat16)):
        if device == "cpu" and dtype == torch.bfloat16 and not cpu_has_fast_bf16():
            size = 512
        a = torch.randn(size, size, device=device).to(dtype)
        b = torch.randn(size, size, device=device).to(dtype)
        a @ b  # warm-up: thread pool, kernel choice
        sync()
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ b
            sync()
            best = min(best, time.perf_counter() - t0)
        out[f"{name}_gflops"] = round(2 * size**3 / best / 1e9, 1)
    return out


def _mnist(rows: int | None, seed: int):
    import numpy as np

    from deepclust.datasets import load_dataset

    data = load_dataset("mnist")
    X, y = data.X.astype(np.float32), np.asarray(data.y)
    if rows:
        idx = np.random.default_rng(seed).permutation(X.shape[0])[:rows]  # the same subset for both libraries
        X, y = X[idx], y[idx]
    return X, y


def device_type(device: str) -> str:
    """"cpu" or "cuda" for ``device`` ("auto": CUDA when present), as deepclust resolves it."""
    from deepclust.methods._base import resolve_device

    return resolve_device(device).type


def child(library: str, seed: int, rows: int | None, epochs: int | None, device: str = "auto") -> dict:
    """Fit one N2D on ``device`` and return its wall time, quality, steps and peak memory."""
    import numpy as np

    from deepclust.bench._results import peak_rss_mb
    from deepclust.metrics import evaluate

    X, y = _mnist(rows, seed)
    t0 = time.perf_counter()
    if library == "clustpy":
        import torch
        import umap
        from clustpy.deep import N2D as ClustpyN2D

        pre = epochs or CLUSTPY_EPOCHS
        model = ClustpyN2D(n_clusters=10, batch_size=256, pretrain_epochs=pre, embedding_size=10, device=torch.device(device_type(device)),
                           manifold_class=umap.UMAP, random_state=seed,
                           manifold_params={"n_components": 10, "n_neighbors": 20, "min_dist": 0.0, "metric": "euclidean", "random_state": seed})
        labels = model.fit(X).labels_
        steps = pre * math.ceil(X.shape[0] / 256)
    else:
        from deepclust.methods import N2D, AutoencoderEmbedding

        # None: N2D's own default recipe, on device="auto" (CUDA when present); "deepclust-cudagraph":
        # the same with the training step captured in a CUDA graph (AutoencoderEmbedding(cuda_graph=True))
        graph = library == "deepclust-cudagraph"
        emb = AutoencoderEmbedding(epochs=epochs, device=device, cuda_graph=graph) if epochs or device != "auto" or graph else None
        model = N2D(10, embedding=emb, random_state=seed).fit(X)
        labels, e = model.labels_, model.embedding_
        steps = getattr(e, "n_steps_", None) or len(e.history_.get("loss", [])) * math.ceil(X.shape[0] / e.batch_size)
    seconds = time.perf_counter() - t0
    # where deepclust's time went (N2D.timings_: autoencoder + encoding, manifold, mixture); ClustPy does not say
    phases = ";".join(f"{k}={v:.1f}" for k, v in getattr(model, "timings_", {}).items())
    m = evaluate(np.asarray(labels), y_true=y)
    return {"n_samples": int(X.shape[0]), "acc": m["acc"], "nmi": m["nmi"], "seconds": seconds, "peak_rss_mb": peak_rss_mb(),
            "optimizer_steps": int(steps), "phase_seconds": phases}


# -- in the parent ----------------------------------------------------------------------------
def ensure_venv(venv: Path) -> Path:
    """The ClustPy environment's python, created (from the package index) when absent."""
    python = venv / "bin" / "python"
    if python.exists():
        return python
    import torch

    print(f"creating {venv} (torch {torch.__version__}, clustpy, deepclust from {ROOT})", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"torch=={torch.__version__}", "torchvision"], check=True)  # pinned: no multi-GB CUDA build by accident
    subprocess.run([*pip, "clustpy", "-e", str(ROOT)], check=True)
    return python


def _in_child(python: Path, argv: list[str]) -> dict | None:
    # this checkout's deepclust first, whatever was installed; an existing PYTHONPATH (e.g. carried wheels) after it
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([str(python), __file__, *argv], capture_output=True, text=True, env=env)
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith(MARK)), None)
    if line is None:
        print(f"{' '.join(argv)} failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}", flush=True)
        return None
    return json.loads(line[len(MARK):])


def run(a) -> None:
    from deepclust.bench import append_rows, parse_seeds, read_rows
    from deepclust.bench._results import command_line, cpu_description, git_commit

    done = {(r["library"], int(r["seed"]), int(r["n_samples"]), r["pretrain_epochs"], r["device"]) for r in read_rows(a.out)}
    python = ensure_venv(a.venv) if not a.no_clustpy else Path(sys.executable)
    rates = _in_child(python, ["--rates", a.device]) or {}
    print(f"matrix rates: {rates}", flush=True)
    n = a.rows or 70000
    libraries = ("deepclust",) if a.no_clustpy else ("clustpy", "deepclust")
    libraries += ("deepclust-cudagraph",) if a.cuda_graph else ()
    dev = _in_child(python, ["--device-name", a.device]) or {}
    base = {"dataset": "mnist" if not a.rows else f"mnist[{a.rows}]", "device": dev.get("device", cpu_description()), "commit": git_commit(ROOT),
            "command": command_line(), **rates}
    for seed in parse_seeds(a.seeds):
        ref = None
        for library in libraries:
            epochs = a.epochs or (CLUSTPY_EPOCHS if library == "clustpy" else None)
            key = (library, seed, n, str(epochs or "default"), base["device"])
            if key in done:
                continue
            res = _in_child(python, ["--child", library, str(seed), str(a.rows or 0), str(a.epochs or 0), a.device])
            if res is None:
                continue
            ref = res["seconds"] if library == "clustpy" else ref
            row = {**base, "library": library, "seed": seed, "pretrain_epochs": epochs or "default", **res,
                   "seconds": round(res["seconds"], 1), "peak_rss_mb": round(res["peak_rss_mb"], 1),
                   "speedup_vs_clustpy": round(ref / res["seconds"], 2) if ref and library.startswith("deepclust") else ""}
            append_rows(a.out, [row], columns=COLUMNS)
            print(f"{library} seed {seed}: ACC {res['acc']:.4f} in {res['seconds']:.1f} s, {res['peak_rss_mb']:.0f} MiB, "
                  f"{res['optimizer_steps']} steps", flush=True)


def report(path: Path) -> str:
    """Mean over seeds per library, and deepclust's speed ratio against ClustPy."""
    import pandas as pd

    from deepclust.bench import read_rows

    df = pd.DataFrame(read_rows(path))
    num = ["acc", "nmi", "seconds", "peak_rss_mb", "optimizer_steps", "bf16_gflops", "float32_gflops"]
    df[num] = df[num].apply(pd.to_numeric, errors="coerce")
    lines = ["| device | commit | library | seeds | ACC | seconds | peak MiB | steps | bf16 / fp32 GFLOP/s |", "|---|---|---|---|---|---|---|---|---|"]
    for (device, commit, lib), g in df.groupby(["device", "commit", "library"], sort=False):
        lines.append(f"| {device} | {commit} | {lib} | {len(g)} | {g['acc'].mean():.4f} | {g['seconds'].mean():.1f} | {g['peak_rss_mb'].mean():.0f} | "
                     f"{g['optimizer_steps'].mean():.0f} | {g['bf16_gflops'].mean():.0f} / {g['float32_gflops'].mean():.0f} |")
    for (device, commit), d in df.groupby(["device", "commit"], sort=False):
        t = d.groupby("library")["seconds"].mean()
        for lib in (x for x in t.index if x.startswith("deepclust") and "clustpy" in t.index):  # a ratio only within one device and commit
            lines.append(f"\n{device}, {commit}: speed-up (mean seconds, ClustPy / {lib}): {t['clustpy'] / t[lib]:.2f}x")
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--rates":
        print(MARK + json.dumps(matmul_rates(device_type(sys.argv[2]))), flush=True)
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--device-name":
        from deepclust.bench._results import device_description

        print(MARK + json.dumps({"device": device_description(device_type(sys.argv[2]))}), flush=True)
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        library, seed, rows, epochs, device = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
        print(MARK + json.dumps(child(library, seed, rows or None, epochs or None, device)), flush=True)
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0-2")
    p.add_argument("--rows", type=int, default=0, help="a random subset of MNIST-70k (0: all rows)")
    p.add_argument("--epochs", type=int, default=0, help="pretraining epochs for BOTH libraries (0: ClustPy 40, deepclust its default)")
    p.add_argument("--smoke", action="store_true", help="3,000 rows, 1 epoch, seed 0: shows that the script works")
    p.add_argument("--no-clustpy", action="store_true", help="deepclust only, in this Python (no ClustPy environment)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where both libraries train (auto: CUDA when present); the rates are measured there too")
    p.add_argument("--cuda-graph", action="store_true",
                   help="also run deepclust with its training step captured in a CUDA graph (library 'deepclust-cudagraph'; CUDA only)")
    p.add_argument("--venv", type=Path, default=VENV)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--report", action="store_true", help="print the table of the results file and exit")
    a = p.parse_args()
    if a.smoke:
        a.seeds, a.rows, a.epochs = "0", a.rows or 3000, a.epochs or 1
    a.out = a.out or RESULTS / ("n2d_speed_smoke.csv" if a.smoke else "n2d_speed.csv")
    if a.report:
        print(report(a.out))
        return 0
    run(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
