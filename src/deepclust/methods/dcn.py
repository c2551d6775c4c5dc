"""DCN: an autoencoder fine-tuned with a k-means loss on its codes (Yang et al., ICML 2017)."""

from __future__ import annotations

import torch
from torch import nn

from deepclust.heads import KMeansHead
from deepclust.heads.modules import DCNModule
from deepclust.methods._deep import ClusteringPhase, ClusterSizeMonitor, DeepClusteringModel
from deepclust.methods._params import POSITIVE_INT, POSITIVE_REAL, Interval, Real
from deepclust.methods._composite import store_params
from deepclust.methods._persist import register_model
from deepclust.train import Callback, TrainState
from deepclust.train.optim import adam
from deepclust.train.distributed import all_reduce_sum


class _EpochAssignments(Callback):
    """Collects the assignments made during an epoch and checks them for empty clusters.

    The module keeps each batch's assignments in ``last_assignments``; they are collected
    after the batch's forward pass, i.e. at the next batch's start and at the epoch's end.
    """

    def __init__(self, monitor: ClusterSizeMonitor, module: DCNModule | None = None) -> None:
        self.monitor, self.module, self.seen = monitor, module, []

    def _collect(self) -> None:
        if self.module is not None and self.module.last_assignments is not None:
            self.seen.append(self.module.last_assignments)
            self.module.last_assignments = None

    def state_dict(self) -> dict:  # between epochs ``seen`` is empty; the centroids are module buffers
        return {"monitor": self.monitor.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.monitor.load_state_dict(state["monitor"])

    def on_epoch_begin(self, state: TrainState) -> None:
        self.seen = []
        if self.module is not None:
            self.module.last_assignments = None

    def on_batch_begin(self, state: TrainState) -> None:
        self._collect()

    def on_epoch_end(self, state: TrainState) -> None:
        self._collect()
        if self.seen:
            self.monitor.record(torch.cat(self.seen), f"epoch {state.epoch}", reduce=all_reduce_sum)
        self.seen = []


@register_model
class DCN(DeepClusteringModel):
    """Deep Clustering Network: "Towards K-means-friendly Spaces" (Yang et al., ICML 2017).

    Pretrain an autoencoder, run k-means (20 restarts) on its codes, then fine-tune the whole
    autoencoder on ``L = L_rec + (lambd / 2) * L_km``, alternating per minibatch between the
    network and the clustering (the paper's Algorithm 1):

    1. assign each code of the batch to its nearest centroid, ``s_i = argmin_k ||z_i - M_k||``;
    2. move the centroids to the running mean of all codes assigned to them so far
       (``count_k += 1``, ``M_k <- M_k - (M_k - z_i) / count_k``; counts start at the
       k-means cluster sizes);
    3. take a gradient step on ``L`` with those assignments and centroids held fixed.

    Steps 1-2 use the batch's codes from the forward pass of step 3 (detached), i.e. the
    network *before* its update, as the reference re-implementation does; this avoids a
    second forward pass and differs from the paper's order only by one step's drift.

    ``L_km`` differs from the paper by default (``normalize=True``): the paper's
    ``mean_i ||z_i - M s_i||^2`` divided by the batch codes' spread ``mean_i ||z_i - mean(z)||^2``,
    i.e. the within-cluster share of the codes' scatter. The paper's term falls when the codes
    shrink, whatever the clusters: on unbounded (linear) codes the network shrank them 6-20x
    and ended below its own k-means start, with an empty cluster on one held-out seed (MNIST
    train[:3000], seed 1: start 0.620, end 0.367; a smaller ``lambd`` slows this, it does not
    stop it). Scale-free, the term falls only by tighter clusters: end 0.617 there, and on 8
    held-out runs (MNIST train[:3000], wine, breast cancer, iris; seeds 0-1) mean ACC 0.735
    against the paper's term's 0.679 from starts of 0.717
    (``benchmarks/diagnostics/dcn_lambda.py``, NOTES_vade_dec.md section 8).
    ``normalize=False`` gives the paper's loss.

    Parameters
    ----------
    n_clusters : int, default=10
    embedding : AutoencoderEmbedding, str or path, default=None
        The pretraining: None uses ``AutoencoderEmbedding()`` (``d-500-500-2000-10``, as in
        the paper). A path to a saved, fitted embedding warm-starts from it.
    lambd : float, default=1.0
        The paper's ``lambda``, weight of the k-means term (spelled like torch's ``lambd``:
        ``lambda`` is reserved and a trailing underscore marks fitted attributes in
        scikit-learn). Here the reconstruction term is the mean squared error *per entry*, so
        the paper's values (which sum the reconstruction error over features, and weight a
        term with the codes' scale) do not carry over one to one.
    normalize : bool, default=True
        Divide the k-means term by the batch codes' spread (above); False: the paper's term.
    epochs : int, default=50
        Passes over the data in the clustering phase (the paper's MNIST setting).
    batch_size : int, default=256
    lr : float, default=1e-4
        Adam learning rate of the clustering phase. The paper used SGD; Adam at 1e-4 is what
        the public PyTorch re-implementation (xuyxu/Deep-Clustering-Network) uses.
    random_state : int, numpy Generator or None, default=None
        Seeds pretraining, k-means and shuffling; global RNGs are left untouched.
    verbose : bool, default=False

    Attributes
    ----------
    embedding_ : AutoencoderEmbedding
        Holds the fine-tuned network: ``transform`` returns the final embedding.
    head_ : KMeansHead
    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
    labels_ : ndarray of shape (n_samples,)
        Nearest centroid of each final training code.
    history_ : dict of str to list
        ``pretrain_*``; per clustering epoch ``loss``, ``reconstruction``, ``clustering``
        (the unweighted k-means term, divided by the codes' spread unless ``normalize=False``), ``seconds``, ``cluster_sizes`` (the K sizes),
        ``min_cluster_size``, ``n_empty_clusters``.
    n_iter_ : int
    init_labels_ : ndarray of shape (n_samples,)
        The k-means clustering of the pretrained codes the centroids started from.
    n_features_in_ : int

    Warns
    -----
    RuntimeWarning
        Once (with the sizes), if a centroid receives no assignment for a whole epoch: a
        collapsed cluster that the method does not recover.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from deepclust.methods import AutoencoderEmbedding
    >>> X, _ = make_classification(200, n_features=8, n_informative=4, n_classes=2, random_state=0)
    >>> model = DCN(2, embedding=AutoencoderEmbedding(latent_dim=2, hidden_dims=(16,), epochs=5), epochs=2, random_state=0)
    >>> model.fit(X).cluster_centers_.shape
    (2, 2)

    References
    ----------
    B. Yang, X. Fu, N. D. Sidiropoulos, M. Hong. Towards K-means-friendly Spaces: Simultaneous
    Deep Learning and Clustering. ICML 2017.
    """

    _desc = "DCN"
    _parameter_constraints = {
        "lambd": [Interval(Real, 0, None, closed="left")],
        "epochs": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "lr": POSITIVE_REAL,
        "normalize": ["boolean"],
    }

    def __init__(self, n_clusters: int = 10, embedding=None, lambd: float = 1.0, epochs: int = 50, batch_size: int = 256, lr: float = 1e-4, normalize: bool = True, random_state=None, verbose: bool = False) -> None:
        store_params(self, locals())

    def _make_head(self, n_clusters: int, latent_dim: int) -> KMeansHead:
        return KMeansHead(n_clusters, latent_dim)

    def _join(self, autoencoder: nn.Module, head: KMeansHead) -> DCNModule:
        return DCNModule(autoencoder, head, lambd=float(self.lambd), reduce=all_reduce_sum, normalize=bool(self.normalize))  # same centroids on every rank

    def _clustering_phase(self, module: DCNModule, X: torch.Tensor, init_labels: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> ClusteringPhase:
        history: dict[str, list] = {}
        monitor = _EpochAssignments(ClusterSizeMonitor(module.head.n_clusters, "DCN", history), module)
        return ClusteringPhase(
            loss_fn=lambda m, batch, state: m(batch[0]),
            optimizer=adam(module.trainable_parameters(), lr=float(self.lr)),
            epochs=int(self.epochs),
            callbacks=[monitor],
            history=history,
        )
