"""What one autoencoder optimiser step costs on a CUDA GPU, and what capturing it in a CUDA graph saves (issue 16 items 2 and 5).

On a GPU, N2D's network (d-500-500-2000-10, d=784 as MNIST) at batch 256 is ~5 GFLOP a
step: microseconds of arithmetic at the bf16 rate, so a step costs what launching its ~100
kernels from Python costs. This script times, in one process, one after the other, with the
same device's 8192^3 matrix rates measured first:

* ``fit_module``: seconds per step of ``AutoencoderEmbedding`` training as deepclust runs it
  (shuffle, gather, autocast, loss dict, fused Adam), bf16 and float32, batch 256 and 1024,
  eager and with ``cuda_graph=True`` (the loop's own captured step, ``train.loop._GraphStep``);
* ``eager``: the bare step (gather rows by index, forward, MSE, backward, fused Adam) in a
  Python loop, bf16 autocast;
* ``graph``: the same step captured once in a CUDA graph (``torch.cuda.graph``; Adam with
  ``capturable=True``, autocast without its weight-cast cache) and replayed, the batch's row
  indices copied into the graph's input before each replay;

and, for ``eager`` and ``graph`` from the same initial weights and the same row order, the
loss after the timed steps, which says whether the captured step trains the same way.

    python benchmarks/ae_step_cuda.py [--steps 300] [--out benchmarks/results/ae_step_cuda.json]

Needs a CUDA device; exits with one line where there is none.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ae_step_profile import DIMS, _network, fit_module_step, step_flops  # noqa: E402


def _timed(fn, steps: int, warmup: int = 20) -> float:
    """Seconds per call of ``fn`` over ``steps`` calls after ``warmup``, the device synchronised around them."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps


def _setup(batch: int, n_rows: int, capturable: bool):
    from deepclust.train.optim import adam

    torch.manual_seed(0)
    net = _network().cuda()
    opt = adam(net.parameters(), lr=1e-3, capturable=capturable)
    X = torch.rand(n_rows, DIMS[0], generator=torch.Generator().manual_seed(1)).cuda()
    order = torch.randint(0, n_rows, (64, batch), generator=torch.Generator().manual_seed(2)).cuda()  # 64 batches, cycled
    return net, opt, X, order


def _loss(net, xb):
    with torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False):
        return torch.nn.functional.mse_loss(net(xb).float(), xb)


def eager_step(batch: int, steps: int) -> tuple[float, float]:
    """(seconds per step, loss after warm-up + steps) of the bare step in a Python loop."""
    net, opt, X, order = _setup(batch, 70000, capturable=False)
    i = [0]

    def step():
        xb = X[order[i[0] % order.shape[0]]]
        i[0] += 1
        opt.zero_grad(set_to_none=True)
        _loss(net, xb).backward()
        opt.step()

    sec = _timed(step, steps)
    with torch.no_grad():
        return sec, float(_loss(net, X[:4096]))


def graph_step(batch: int, steps: int) -> tuple[float, float]:
    """The same step captured in a CUDA graph and replayed; same initial weights and row order as :func:`eager_step`."""
    net, opt, X, order = _setup(batch, 70000, capturable=True)
    idx = order[0].clone()

    def body():
        opt.zero_grad(set_to_none=False)  # the gradients' memory must stay where the graph wrote it
        _loss(net, X[idx]).backward()
        opt.step()

    # Warm-up on a side stream (lazy state, cuBLAS workspaces), as torch.cuda.graph requires; these
    # steps train, so the replayed run below starts 3 steps later than the eager one (counted in i).
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for j in range(3):
            idx.copy_(order[j])
            body()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        body()
    i = [3]

    def step():
        idx.copy_(order[i[0] % order.shape[0]])
        i[0] += 1
        g.replay()

    sec = _timed(step, steps, warmup=17)  # 3 + 17 = the eager run's 20 warm-up steps
    with torch.no_grad():
        return sec, float(_loss(net, X[:4096]))


def _add_row(out: dict, row: dict, measure) -> None:
    """Append ``row`` with the fields ``measure()`` returns, or with its error: one variant
    failing (e.g. a capture this torch does not support) must not lose the others."""
    try:
        row = {**row, **measure()}
    except Exception as exc:
        row = {**row, "error": f"{type(exc).__name__}: {exc}"[:300]}
    out["rows"].append(row)
    print(row, flush=True)


def _timing(batch: int, sec: float, **extra) -> dict:
    return {"ms_per_step": round(sec * 1e3, 4), "tflops": round(step_flops(batch) / sec / 1e12, 2), **extra}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="timed steps per variant")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ae_step_cuda.json"))
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("ae_step_cuda.py: no CUDA device here; it times the GPU step")
    from n2d_speed import matmul_rates

    from deepclust.bench._results import device_description, git_commit

    rates = matmul_rates("cuda")
    out = {"device": device_description("cuda"), "torch": torch.__version__, "commit": git_commit(Path(__file__).resolve().parents[1]),
           "command": "python " + " ".join(["benchmarks/ae_step_cuda.py", *(argv if argv is not None else sys.argv[1:])]),
           **rates, "steps": a.steps, "rows": []}
    for batch in (256, 1024):
        for name, fn in (("eager", eager_step), ("graph", graph_step)):
            def bare(fn=fn):
                sec, loss = fn(batch, a.steps)
                return _timing(batch, sec, loss_after=round(loss, 6))

            _add_row(out, {"variant": name, "batch": batch, "precision": "bf16"}, bare)
        for precision, graph in (("bf16", False), ("float32", False), ("bf16", True), ("float32", True)):
            # fit_module_step runs steps x batch rows as three epochs and takes the median epoch
            def loop(precision=precision, graph=graph):
                return _timing(batch, fit_module_step(batch, precision == "bf16", a.steps, cuda_graph=graph))

            _add_row(out, {"variant": "fit_module" + (" cuda_graph" if graph else ""), "batch": batch, "precision": precision}, loop)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
