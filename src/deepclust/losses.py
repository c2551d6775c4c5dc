"""Loss functions: pure functions of tensors."""

from __future__ import annotations

import torch


def reconstruction_mse(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared reconstruction error over all entries, as in DEC/N2D pretraining.

    Computed in float32 even under bfloat16 autocast, so the loss value is comparable.
    """
    return torch.mean((x_hat.float() - x.float()) ** 2)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC's auxiliary target distribution P from soft assignments Q (Xie et al. 2016, eq. 3).

    ``p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j')`` with cluster frequencies
    ``f_j = sum_i q_ij``: squaring sharpens confident assignments, dividing by ``f_j`` keeps
    large clusters from swallowing the others.

    Parameters
    ----------
    q : Tensor of shape (n_samples, n_clusters)
        Rows sum to one. P must be computed from Q over the *whole* data set (``f_j`` is a
        sum over all samples), not one minibatch.

    Returns
    -------
    Tensor of shape (n_samples, n_clusters), rows summing to one.

    Examples
    --------
    >>> target_distribution(torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    q = q.float()
    weight = q**2 / q.sum(dim=0, keepdim=True)  # (N, K)
    return weight / weight.sum(dim=1, keepdim=True)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``KL(P || Q)`` summed over clusters and averaged over samples ("batchmean").

    This is DEC's clustering loss (Xie et al. 2016, eq. 2, divided by the batch size as
    Keras' ``kld`` and ``torch.nn.KLDivLoss(reduction="batchmean")`` do). Entries with
    ``p_ij = 0`` contribute zero; ``q`` is clamped away from zero before its log.

    Parameters
    ----------
    p, q : Tensor of shape (batch, n_clusters)
        Rows are distributions. Gradients flow into ``q`` (``p`` is a fixed target).

    Returns
    -------
    Scalar tensor (float32).
    """
    p, q = p.float(), q.float()
    log_q = torch.log(q.clamp_min(torch.finfo(torch.float32).tiny))
    return (torch.xlogy(p, p) - p * log_q).sum() / p.shape[0]


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's normalised temperature-scaled cross-entropy (NT-Xent) of two views.

    Row ``i`` of ``z1`` and row ``i`` of ``z2`` are two views of one sample (a positive pair);
    the other ``2B - 2`` rows of the batch are its negatives. With cosine similarities
    ``s_ab`` and temperature ``t``, the loss of anchor ``a`` with positive ``p`` is
    ``-log(exp(s_ap / t) / sum_{b != a} exp(s_ab / t))``, averaged over all ``2B`` anchors
    (Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations",
    ICML 2020, eq. 1). Computed in float32 even under bf16 autocast: similarities near 1 need
    more than bf16's 8 bits of mantissa once divided by a small temperature.

    Parameters
    ----------
    z1, z2 : Tensor of shape (B, d)
        Projections of the two views; they are L2-normalised here.
    temperature : float, default=0.5

    Returns
    -------
    Scalar tensor (float32).

    Examples
    --------
    Two orthogonal samples, each view identical to the other: every anchor has similarity 1
    with its positive and 0 with both negatives, so the loss is ``log((e + 2) / e)``.

    >>> z = torch.eye(2)
    >>> round(float(nt_xent(z, z, temperature=1.0)), 4)
    0.5514
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"the two views must have the same shape (B, d), got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    b = z1.shape[0]
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z = torch.nn.functional.normalize(torch.cat([z1, z2]).float(), dim=1)  # (2B, d)
        sim = z @ z.T / temperature  # (2B, 2B)
        sim = sim.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
        positives = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
        return torch.nn.functional.cross_entropy(sim, positives)


def scan_loss(anchor_logits: torch.Tensor, neighbor_logits: torch.Tensor, entropy_weight: float = 5.0) -> dict[str, torch.Tensor]:
    """SCAN's clustering objective: neighbours agree, clusters are used evenly.

    ``consistency = -mean_i log <p_i, p_j>`` over (anchor ``i``, mined neighbour ``j``) pairs,
    and ``entropy = H(mean_i p_i)``, the entropy of the batch's mean assignment; the loss is
    ``consistency - entropy_weight * entropy`` (Van Gansbeke et al., "SCAN: Learning to
    Classify Images without Labels", ECCV 2020, eq. 2). Without the entropy term every
    sample would fall into one cluster.

    Parameters
    ----------
    anchor_logits, neighbor_logits : Tensor of shape (B, K)
        Head outputs (before the softmax) for the anchors and one neighbour of each.
    entropy_weight : float, default=5.0

    Returns
    -------
    dict of scalar float32 tensors: ``loss``, ``consistency``, ``entropy``.

    Examples
    --------
    Confident, agreeing pairs split evenly over two clusters: consistency 0, entropy log 2.

    >>> logits = torch.tensor([[20.0, -20.0], [-20.0, 20.0]])
    >>> {k: round(float(v), 4) for k, v in scan_loss(logits, logits, 1.0).items()}
    {'loss': -0.6931, 'consistency': 0.0, 'entropy': 0.6931}
    """
    if anchor_logits.shape != neighbor_logits.shape:
        raise ValueError(f"anchor and neighbour logits differ in shape: {tuple(anchor_logits.shape)} vs {tuple(neighbor_logits.shape)}")
    p = torch.softmax(anchor_logits.float(), dim=1)  # (B, K)
    q = torch.softmax(neighbor_logits.float(), dim=1)
    tiny = torch.finfo(torch.float32).tiny
    consistency = -torch.log((p * q).sum(dim=1).clamp_min(tiny)).mean() + 0.0  # + 0.0: no -0.0
    mean_p = p.mean(dim=0)
    # clamped inside the log: a cluster whose mean probability underflows to 0 would give an
    # infinite gradient (d/dp p log p = log p + 1) and NaN weights
    entropy = -(mean_p * torch.log(mean_p.clamp_min(1e-8))).sum()
    return {"loss": consistency - entropy_weight * entropy, "consistency": consistency, "entropy": entropy}


def self_label_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """SCAN's self-labelling loss: cross-entropy of ``logits`` (B, K) against pseudo-labels (B,).

    ``weight`` (K,) counters cluster imbalance among the confident samples (Van Gansbeke et
    al., ECCV 2020, Sec. 3.3); computed in float32 whatever the autocast.
    """
    return torch.nn.functional.cross_entropy(logits.float(), target, weight=weight)
