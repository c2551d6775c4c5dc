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
