"""Check vade_loss's reductions against the paper's per-sample negative ELBO (eq. 14), written
here independently: reconstruction summed over pixels, KL summed over latent dims and
components, both per sample, then averaged over the batch (as Keras averages the reference's
per-sample loss). Prints the difference, which must be a constant independent of the inputs.

Usage: PYTHONPATH=src python benchmarks/diagnostics/vade_loss_check.py
"""
import math

import torch

from deepclust.heads.gmm_prior import GMMPrior, vade_loss

torch.manual_seed(0)
B, D, d, K = 64, 784, 10, 10
diffs = []
for trial in range(5):
    x = torch.rand(B, D).round()
    logits = torch.randn(B, D) * 3
    mu, logvar = torch.randn(B, d) * 2, torch.randn(B, d) * 0.5 - 1
    z = mu + torch.exp(0.5 * logvar) * torch.randn(B, d)
    prior = GMMPrior(K, d)
    with torch.no_grad():
        prior.means.normal_(0, 2)
        prior.log_vars.normal_(0, 0.5)
        prior.pi_logits.normal_(0, 0.5)
    pi = torch.softmax(prior.pi_logits, 0)
    lam = prior.log_vars.exp()  # (K, d) variances
    u = prior.means
    # paper, per sample: -E[log p(x|z)] = sum_pixels BCE
    rec = -(x * torch.nn.functional.logsigmoid(logits) + (1 - x) * torch.nn.functional.logsigmoid(-logits)).sum(1)
    # gamma_c = p(c|z) from the sample z (paper eq. 16)
    log_pzc = -0.5 * (math.log(2 * math.pi) + torch.log(lam)[None] + (z[:, None] - u[None]) ** 2 / lam[None]).sum(-1)
    log_gamma = torch.log_softmax(torch.log(pi)[None] + log_pzc, 1)
    gamma = log_gamma.exp()
    # eq. 14 without the reconstruction, negated: full constants included
    t1 = 0.5 * (gamma[:, :, None] * (math.log(2 * math.pi) + torch.log(lam)[None] + logvar.exp()[:, None] / lam[None]
                                       + (mu[:, None] - u[None]) ** 2 / lam[None])).sum((1, 2))
    t2 = -(gamma * torch.log(pi)[None]).sum(1) + (gamma * log_gamma).sum(1)
    t3 = -0.5 * (1 + logvar + math.log(2 * math.pi)).sum(1)
    paper = (rec + t1 + t2 + t3).mean()
    ours = vade_loss(x, logits, mu, logvar, prior, z=z, recon="bce")
    diffs.append(float((ours["loss"] - paper).detach()))
    print(f"trial {trial}: ours {float(ours['loss'].detach()):.4f} (rec {float(ours['reconstruction'].detach()):.2f} kl {float(ours['kl'].detach()):.3f})  paper {float(paper.detach()):.4f}  diff {diffs[-1]:.2e}")
print("max |diff|", max(abs(v) for v in diffs))
