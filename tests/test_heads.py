"""Hand-computed checks of the clustering heads and their losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepclust.heads import KMeansHead, StudentTHead
from deepclust.losses import kl_divergence, target_distribution


def student_head(centers, alpha=1.0) -> StudentTHead:
    c = torch.tensor(centers, dtype=torch.float32)
    head = StudentTHead(c.shape[0], c.shape[1], alpha=alpha)
    with torch.no_grad():
        head.centers.copy_(c)
    return head


def kmeans_head(centers, counts) -> KMeansHead:
    c = torch.tensor(centers, dtype=torch.float32)
    head = KMeansHead(c.shape[0], c.shape[1])
    head.centers.copy_(c)
    head.counts.copy_(torch.tensor(counts, dtype=torch.float32))
    return head


# --- Student-t head (DEC, IDEC) --------------------------------------------------------------
def test_student_t_q_by_hand():
    # Centres (0,0) and (2,0). z1 = (0,0): squared distances 0 and 4 -> kernels 1 and 1/5 ->
    # q = (5/6, 1/6). z2 = (1,1): distances 2 and 2 -> q = (1/2, 1/2).
    head = student_head([[0.0, 0.0], [2.0, 0.0]])
    q = head.soft_assign(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    torch.testing.assert_close(q, torch.tensor([[5 / 6, 1 / 6], [0.5, 0.5]]))
    assert head.predict(torch.tensor([[0.0, 0.0], [1.9, 0.0]])).tolist() == [0, 1]


def test_student_t_q_with_alpha_two():
    # alpha = 2: kernel (1 + d2/2)^(-3/2); z = 0 with centres 0 and 2 (d2 = 0, 4) -> 1 and 3^-1.5.
    head = student_head([[0.0], [2.0]], alpha=2.0)
    k = 3.0**-1.5
    torch.testing.assert_close(head.soft_assign(torch.tensor([[0.0]])), torch.tensor([[1 / (1 + k), k / (1 + k)]]))


def test_student_t_far_points_do_not_underflow():
    head = student_head([[0.0], [1.0]])
    q = head.soft_assign(torch.tensor([[1e6], [-1e6]]))
    assert torch.isfinite(q).all()
    torch.testing.assert_close(q.sum(1), torch.ones(2))


def test_student_t_loss_trains_centres_and_codes():
    head = student_head([[0.0], [2.0]])
    z = torch.tensor([[0.5], [1.8]], requires_grad=True)
    p = target_distribution(head.soft_assign(z).detach())
    head.loss(z, p).backward()
    assert head.centers.grad is not None and z.grad is not None
    assert torch.count_nonzero(head.centers.grad) > 0


def test_student_t_init_from_embedding_is_kmeans_and_seeded():
    z = torch.tensor([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
    state = np.random.get_state()
    a, b = StudentTHead(2, 2), StudentTHead(2, 2)
    labels = a.init_from_embedding(z, np.random.default_rng(0))
    b.init_from_embedding(z, np.random.default_rng(0))
    assert labels.dtype == torch.int64 and labels[0] == labels[1] != labels[2] == labels[3]
    got = sorted(a.centers.detach().tolist())
    np.testing.assert_allclose(got, [[0.05, 0.0], [10.05, 10.0]], atol=1e-5)
    torch.testing.assert_close(a.centers, b.centers)
    assert np.array_equal(np.random.get_state()[1], state[1])  # global numpy RNG not used


def test_heads_reject_bad_sizes():
    with pytest.raises(ValueError, match="alpha"):
        StudentTHead(2, 2, alpha=0)
    with pytest.raises(ValueError, match="positive"):
        KMeansHead(0, 2)
    with pytest.raises(TypeError, match="Generator"):
        StudentTHead(2, 2).init_from_embedding(torch.zeros(4, 2), 0)


# --- losses ------------------------------------------------------------------------------------
def test_target_distribution_by_hand():
    # f = (1.2, 0.8). Row 1: 0.64/1.2 = 32/60, 0.04/0.8 = 3/60 -> (32/35, 3/35).
    # Row 2: 0.16/1.2 = 8/60, 0.36/0.8 = 27/60 -> (8/35, 27/35).
    p = target_distribution(torch.tensor([[0.8, 0.2], [0.4, 0.6]]))
    torch.testing.assert_close(p, torch.tensor([[32 / 35, 3 / 35], [8 / 35, 27 / 35]]))


def test_kl_divergence_zero_for_equal_and_by_hand():
    q = torch.tensor([[0.7, 0.3], [0.1, 0.9]])
    assert kl_divergence(q, q).item() == pytest.approx(0.0, abs=1e-7)
    # Row 1: KL([1,0] || [.5,.5]) = log 2; row 2: 0. Batch mean: log(2) / 2.
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    q = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    assert kl_divergence(p, q).item() == pytest.approx(math.log(2) / 2, rel=1e-6)
    assert torch.isfinite(kl_divergence(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]])))


# --- k-means head (DCN) -----------------------------------------------------------------------
def test_kmeans_head_running_average_by_hand():
    # Centres 0 (count 2), 10 (count 1), 100 (count 5). Batch 1, 4, 9, 12 -> s = 0, 0, 1, 1.
    # One sample at a time: M0: 0 -> 0 - (0-1)/3 = 1/3 -> 1/3 - (1/3-4)/4 = 5/4.
    #                       M1: 10 -> 10 - (10-9)/2 = 9.5 -> 9.5 - (9.5-12)/3 = 31/3.
    # M2 gets nothing and stays; counts become 4, 3, 5.
    head = kmeans_head([[0.0], [10.0], [100.0]], [2, 1, 5])
    z = torch.tensor([[1.0], [4.0], [9.0], [12.0]])
    s = head.predict(z)
    assert s.tolist() == [0, 0, 1, 1]
    head.update_centers(z, s)
    torch.testing.assert_close(head.centers.squeeze(1), torch.tensor([5 / 4, 31 / 3, 100.0]))
    torch.testing.assert_close(head.counts, torch.tensor([4.0, 3.0, 5.0]))


def test_kmeans_head_batch_update_equals_sequential_updates():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(50, 3, generator=gen)
    head = kmeans_head(torch.randn(4, 3, generator=gen).tolist(), [3, 1, 7, 2])
    s = head.predict(z)
    M, c = head.centers.clone(), head.counts.clone()
    for zi, si in zip(z, s):  # the paper's per-sample rule
        c[si] += 1
        M[si] -= (M[si] - zi) / c[si]
    head.update_centers(z, s)
    torch.testing.assert_close(head.centers, M)
    torch.testing.assert_close(head.counts, c)


def test_kmeans_head_loss_by_hand_and_no_trainable_parameters():
    head = kmeans_head([[0.0], [10.0]], [1, 1])
    z = torch.tensor([[1.0], [4.0]], requires_grad=True)
    loss = head.loss(z, torch.tensor([0, 0]))
    assert loss.item() == pytest.approx((1 + 16) / 2)
    loss.backward()
    torch.testing.assert_close(z.grad, torch.tensor([[1.0], [4.0]]))  # d/dz mean((z - 0)^2) = 2z/2
    assert list(head.parameters()) == []  # centroids are updated in closed form, not by the optimiser
    assert head.loss(torch.tensor([[1.0], [9.0]])).item() == pytest.approx(1.0)  # nearest by default


def test_kmeans_head_init_counts_are_cluster_sizes_and_soft_assign_is_one_hot():
    z = torch.tensor([[0.0], [0.1], [0.2], [5.0]])
    head = KMeansHead(2, 1)
    labels = head.init_from_embedding(z, np.random.default_rng(0))
    assert sorted(head.counts.tolist()) == [1.0, 3.0]
    assert torch.equal(head.predict(z), labels)
    q = head.soft_assign(z)
    assert torch.equal(q.sum(1), torch.ones(4)) and set(q.unique().tolist()) == {0.0, 1.0}


# --- one interface for every head (issue 14) --------------------------------------------------
def test_every_head_takes_sizes_in_one_order_and_has_centers():
    from deepclust.heads import GMMPrior, SCANHead
    from deepclust.heads._base import ClusteringHead

    heads = [StudentTHead(3, 2), KMeansHead(3, 2), GMMPrior(3, 2), SCANHead(n_clusters=3, latent_dim=2)]
    z = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.0, 5.1], [-5.0, 5.0], [-5.0, 5.1]])
    for head in heads:
        assert isinstance(head, ClusteringHead) and (head.n_clusters, head.latent_dim) == (3, 2)
        labels = head.init_from_embedding(z, np.random.default_rng(0))
        assert labels.shape == (6,) and head.predict(z).shape == (6,)
        torch.testing.assert_close(head.soft_assign(z).sum(dim=1), torch.ones(6))
    assert [h.centers is None for h in heads] == [False, False, False, True]
    assert [h.assigns_to_nearest_center for h in heads] == [True, True, False, False]
    assert heads[0].centers.shape == heads[1].centers.shape == heads[2].centers.shape == (3, 2)


def test_scan_head_refuses_the_old_positional_order():
    from deepclust.heads import SCANHead

    with pytest.raises(TypeError, match="by keyword.*latent_dim, n_clusters"):
        SCANHead(2, 3)


def test_modules_return_named_loss_terms():
    from deepclust.heads.modules import DCNModule, DECModule
    from deepclust.nn import mlp_autoencoder

    torch.manual_seed(0)
    x = torch.randn(8, 5)
    ae = mlp_autoencoder(5, (4,), 2)
    head = StudentTHead(2, 2)
    p = torch.full((8, 2), 0.5)
    dec = DECModule(ae, head)(x, p)
    assert set(dec) == {"loss", "clustering"} and torch.equal(dec["loss"], dec["clustering"])
    idec = DECModule(ae, head, gamma=0.1)(x, p)
    assert set(idec) == {"loss", "reconstruction", "clustering"}
    torch.testing.assert_close(idec["loss"], idec["reconstruction"] + 0.1 * idec["clustering"])
    kmeans = KMeansHead(2, 2)
    kmeans.init_from_embedding(ae.encode(x).detach(), np.random.default_rng(0))
    dcn = DCNModule(ae, kmeans, lambd=2.0)
    out = dcn(x)
    torch.testing.assert_close(out["loss"], out["reconstruction"] + 1.0 * out["clustering"])
    assert dcn.last_assignments.shape == (8,)
    assert DECModule(ae, head).trainable_parameters() != DECModule(ae, head, gamma=1.0).trainable_parameters()  # DEC drops the decoder


class _Scaled(torch.nn.Module):
    """An 'autoencoder' whose codes are the input times ``scale`` (the decoder undoes it)."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def encode(self, x):
        return x * self.scale

    def decode(self, z):
        return z / self.scale


def test_dcn_normalized_kmeans_term_is_scale_free_by_hand_and_the_paper_term_is_not():
    from deepclust.heads.modules import DCNModule

    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [11.0, 0.0]])
    terms = {}
    for scale in (1.0, 0.1):
        for normalize in (True, False):
            head = KMeansHead(2, 2)
            head.centers.copy_(torch.tensor([[0.5, 0.0], [10.5, 0.0]]) * scale)
            head.counts.fill_(1e9)  # centroids held still: only the term is under test
            terms[scale, normalize] = DCNModule(_Scaled(scale), head, normalize=normalize).eval()(x)["clustering"]
    # by hand: squared distances to the centroids 0.25 each -> 0.25; to the mean 5.5: 30.25, 20.25, 20.25, 30.25 -> spread 25.25
    torch.testing.assert_close(terms[1.0, False], torch.tensor(0.25))
    torch.testing.assert_close(terms[1.0, True], torch.tensor(0.25 / 25.25))
    torch.testing.assert_close(terms[0.1, True], terms[1.0, True])  # shrinking the codes does not lower it
    torch.testing.assert_close(terms[0.1, False], torch.tensor(0.0025))  # the paper's term falls 100x
    one = DCNModule(_Scaled(1.0), KMeansHead(2, 2))(x[:1])  # a one-sample batch has no spread
    assert one["clustering"].item() == 0.0 and torch.isfinite(one["loss"])
