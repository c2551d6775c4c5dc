"""Seconds per SimCLR optimiser step of candidate encoders for 28x28 images (one JSON line each).

One step: the encoder and SimCLR's projection head on 512 rows (two views of a batch of 256),
NT-Xent, backward, Adam; the views are random rows (the augmentation costs ~0.02 s a step and
is the same for every encoder). Best of ``REPEATS`` steps after a warm-up.

Usage: OMP_NUM_THREADS=1 python benchmarks/diagnostics/conv_step_time.py [THREADS] [REPEATS]
"""
import json, sys, time
import torch
from deepclust.nn import MLP, ContrastiveNet, build_autoencoder
from deepclust.nn.sizing import default_conv_spec

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
torch.set_num_threads(threads)
torch.manual_seed(0)
stride1 = default_conv_spec((1, 28, 28), 64)
stride1["encoder"][0]["stride"] = 1  # the first layer at full resolution: 28 -> 28 -> 14 -> 7
encoders = {
    "mlp 784-500-500-2000-64": MLP([784, 500, 500, 2000, 64], batch_norm=True),
    "default conv 32-64-128, strides 2-2-2": build_autoencoder(default_conv_spec((1, 28, 28), 64), 784).encoder,
    "conv 32-64-128, strides 1-2-2": build_autoencoder(stride1, 784).encoder,
}
x = torch.rand(512, 784)
for name, encoder in encoders.items():
    net = ContrastiveNet(encoder, 64, (256, 64))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    times = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        loss = net.loss(x[:256], x[256:])["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    params = sum(p.numel() for p in encoder.parameters())
    print(json.dumps({"encoder": name, "threads": threads, "sec_per_step": round(min(times[1:]), 3), "encoder_params": params}), flush=True)
