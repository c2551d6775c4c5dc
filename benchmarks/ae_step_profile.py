"""Where an autoencoder optimiser step's time goes, against the matrix rate measured in the same run (issue 16 item 2).

For N2D's network (d-500-500-2000-10, d=784 as MNIST) at batch 256 and 1024, in float32 and
in bf16 autocast (``precision="auto"`` on this CPU), it times, in one process and one after
the other:

* the machine's matrix rate: a square product (``n2d_speed.matmul_rates``: 2048^3; bf16 on 512^3
  where the CPU has no native bf16), and the step's own GEMM shapes (the eight
  forward layers, the backward's input- and weight-gradient products) run back to back
  without the rest of the step: the *attainable* rate for this network;
* the step split in parts: forward, forward + backward, the fused Adam update, the full step
  (``zero_grad``, forward, backward, update), and the full step as ``fit_module`` runs it
  (shuffle, gather, the loss dict, logging);

and reports the FLOPs of a step (forward 2*B*P, backward 4*B*P less the first layer's
input gradient) over its time, as a fraction of the same run's attainable and square rates.

    OMP_NUM_THREADS=2 python benchmarks/ae_step_profile.py [--steps 40] [--out benchmarks/results/ae_step_profile.json]

Run on an otherwise idle machine (``uptime`` is recorded): the rates move from day to day,
so only ratios within one run compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import sys

import torch

sys.path.insert(0, str(Path(__file__).parent))
DIMS = (784, 500, 500, 2000, 10)


def _median_seconds(fn, reps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def layer_shapes(batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of every GEMM of one step: forward, input gradients (not the first layer's), weight gradients."""
    pairs = list(zip(DIMS[:-1], DIMS[1:])) + list(zip(DIMS[::-1][:-1], DIMS[::-1][1:]))  # encoder then decoder
    forward = [(batch, i, o) for i, o in pairs]
    grad_input = [(batch, o, i) for i, o in pairs[1:]]
    grad_weight = [(o, batch, i) for i, o in pairs]
    return forward + grad_input + grad_weight


def step_flops(batch: int) -> float:
    return float(sum(2 * m * k * n for m, k, n in layer_shapes(batch)))


def shapes_rate(batch: int, dtype: torch.dtype, reps: int) -> float:
    """GFLOP/s of the step's GEMMs alone, back to back: the rate this network can attain."""
    mats = [(torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)) for m, k, n in layer_shapes(batch)]

    def run():
        for a, b in mats:
            a @ b

    return step_flops(batch) / _median_seconds(run, reps) / 1e9


def _network():
    from deepclust.nn.autoencoder import mlp_autoencoder

    return mlp_autoencoder(DIMS[0], list(DIMS[1:-1]), DIMS[-1])


def step_parts(batch: int, bf16: bool, reps: int) -> dict[str, float]:
    """Median seconds of the parts of one step on random [0, 1] inputs."""
    from deepclust.train.optim import adam

    torch.manual_seed(0)
    net = _network()
    opt = adam(net.parameters(), lr=1e-3)
    x = torch.rand(batch, DIMS[0])
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16 else (lambda: torch.autocast("cpu", enabled=False))

    def forward():
        with ctx():
            return torch.nn.functional.mse_loss(net(x).float(), x)

    def forward_backward():
        opt.zero_grad(set_to_none=True)
        forward().backward()

    def full():
        forward_backward()
        opt.step()

    out = {"forward": _median_seconds(lambda: forward().item(), reps)}
    out["forward_backward"] = _median_seconds(forward_backward, reps)
    forward_backward()
    out["adam_step"] = _median_seconds(opt.step, reps)
    out["full_step"] = _median_seconds(full, reps)
    return out


def fit_module_step(batch: int, bf16: bool, steps: int, cuda_graph: bool = False) -> float:
    """Seconds per step of ``AutoencoderEmbedding`` training through ``fit_module`` (after one warm-up pass)."""
    import numpy as np

    from deepclust.methods import AutoencoderEmbedding

    X = np.random.default_rng(0).random((batch * steps, DIMS[0]), dtype=np.float32)
    kw = dict(latent_dim=DIMS[-1], hidden_dims=DIMS[1:-1], batch_size=batch, precision="bf16" if bf16 else "float32", random_state=0, cuda_graph=cuda_graph)
    AutoencoderEmbedding(epochs=1, **kw).fit(X[: batch * 4])  # warm-up: first-call costs
    emb = AutoencoderEmbedding(epochs=3, **kw).fit(X)  # the median epoch: not the first (a captured step's warm-up and capture)
    return statistics.median(emb.history_["seconds"]) / steps


def _machine() -> dict:
    load = os.getloadavg()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent).stdout.strip()
    from deepclust.bench._results import cpu_description

    return {"cpu": cpu_description(), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "load_1min_at_start": round(load[0], 2), "commit": commit}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40, help="repetitions per timing (median)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ae_step_profile.json"))
    ap.add_argument("--bf16", choices=["auto", "yes", "no"], default="auto",
                    help="profile the bf16 autocast step too (auto: only where the CPU has native bf16; emulated bf16 is 20-70x slower)")
    args = ap.parse_args(argv)
    from deepclust.methods._base import cpu_has_fast_bf16
    from n2d_speed import matmul_rates  # one definition of the square-product rates for every benchmark

    with_bf16 = args.bf16 == "yes" or (args.bf16 == "auto" and cpu_has_fast_bf16())
    result = {"machine": _machine(), "network": list(DIMS), "square_gflops": {}, "rows": []}
    rates = matmul_rates("cpu")
    result["square_gflops"] = {"float32": rates["float32_gflops"], "bf16": rates["bf16_gflops"]}
    result["machine"]["native_bf16"] = cpu_has_fast_bf16()
    for batch in (256, 1024):
        for bf16 in (False, True) if with_bf16 else (False,):
            dtype = torch.bfloat16 if bf16 else torch.float32
            attain = shapes_rate(batch, dtype, args.steps)
            parts = step_parts(batch, bf16, args.steps)
            loop = fit_module_step(batch, bf16, args.steps)
            flops = step_flops(batch)
            row = {"batch": batch, "precision": "bf16" if bf16 else "float32", "gflop_per_step": round(flops / 1e9, 3),
                   "gemm_only_gflops": round(attain, 1), **{f"{k}_ms": round(v * 1e3, 3) for k, v in parts.items()},
                   "fit_module_step_ms": round(loop * 1e3, 3), "fit_module_gflops": round(flops / loop / 1e9, 1),
                   "fraction_of_gemm_only": round(flops / loop / 1e9 / attain, 3),
                   "fraction_of_square": round(flops / loop / 1e9 / result["square_gflops"]["bf16" if bf16 else "float32"], 3)}
            result["rows"].append(row)
            print(json.dumps(row), flush=True)
    result["machine"]["load_1min_at_end"] = round(os.getloadavg()[0], 2)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["square_gflops"]), "->", args.out)
    return result


if __name__ == "__main__":
    main()
