"""Loss functions: pure functions of tensors.

The clustering losses live here. The representation-learning losses live next to the module
they train (scvi-tools' module layer: each ``nn`` module's ``loss`` returns named terms) and are
re-exported here, so that ``from deepclust.losses import nt_xent`` keeps working:
:func:`reconstruction_mse` and :func:`reconstruction_bce` (:mod:`deepclust.nn.autoencoder`), :func:`nt_xent`
(:mod:`deepclust.nn.contrastive`), :func:`masked_reconstruction_loss`
(:mod:`deepclust.nn.masked`), and the ELBO terms (:mod:`deepclust.nn.vae`).
"""

from __future__ import annotations

import torch

from deepclust.nn.autoencoder import reconstruction_bce, reconstruction_mse
from deepclust.nn.contrastive import nt_xent
from deepclust.nn.masked import masked_reconstruction_loss
from deepclust.nn.vae import elbo_loss, gaussian_kl, reconstruction_nll

__all__ = [
    "elbo_loss",
    "gaussian_kl",
    "kl_divergence",
    "masked_reconstruction_loss",
    "nt_xent",
    "reconstruction_bce",
    "reconstruction_mse",
    "reconstruction_nll",
    "scan_loss",
    "target_distribution",
]


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
