"""DEC and IDEC: fine-tune an autoencoder's encoder so its codes fit a Student-t clustering.

Both are a :class:`~deepclust.heads.StudentTHead` on a pretrained autoencoder, trained by the
shared loop on ``KL(P || Q)`` with the target ``P`` recomputed from the whole data set every
``update_interval`` steps; IDEC adds the reconstruction loss and keeps training the decoder.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import nn

from deepclust.heads import StudentTHead
from deepclust.heads.modules import DECModule
from deepclust.losses import target_distribution
from deepclust.methods._deep import ClusteringPhase, ClusterSizeMonitor, DeepClusteringModel, encode_all
from deepclust.methods._params import POSITIVE_INT, POSITIVE_REAL, Interval, Real, StrOptions
from deepclust.methods._composite import store_params
from deepclust.methods._persist import register_model
from deepclust.methods.n2d import manifold_partition
from deepclust.train import Callback, TrainState
from deepclust.train.optim import adam


class TargetUpdate(Callback):
    """Every ``update_interval`` steps (step 0 included): Q on the whole data set, P from it,
    the fraction of labels that changed since the last update, and DEC's stopping test.

    Under data parallelism each rank encodes a slice of the rows and the codes are
    all-gathered (:func:`~deepclust.methods._deep.encode_all`), so every rank holds the same
    Q, the same cluster frequencies in P, and takes the same stopping decision. Every rank
    needs all of P, since each epoch's shuffle hands it rows from anywhere in the data.

    Training stops before the batch at which fewer than ``tol`` of the labels changed (not at
    step 0, whose change is measured against the k-means labels), as in DEC's reference code.
    """

    def __init__(self, X: torch.Tensor, model: DECModule, update_interval: int, tol: float, init_labels: torch.Tensor, monitor: ClusterSizeMonitor, history: dict, autocast_dtype: torch.dtype | None = None) -> None:
        self.X, self.model, self.autocast_dtype = X, model, autocast_dtype
        self.update_interval, self.tol = int(update_interval), float(tol)
        self.previous, self.monitor, self.history = init_labels, monitor, history
        self.P: torch.Tensor | None = None  # (n_samples, K), the current targets

    def state_dict(self) -> dict:
        return {"P": self.P, "previous": self.previous, "monitor": self.monitor.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        device = self.X.device
        self.P = None if state["P"] is None else state["P"].to(device)
        self.previous = state["previous"].to(device)
        self.monitor.load_state_dict(state["monitor"])  # also restores this callback's history

    @torch.no_grad()
    def on_batch_begin(self, state: TrainState) -> None:
        if state.step % self.update_interval:
            return
        z = encode_all(self.model.autoencoder, self.X, autocast_dtype=self.autocast_dtype)  # (N, d), eval mode
        q = self.model.head.soft_assign(z)  # (N, K)
        self.P = target_distribution(q)
        labels = q.argmax(dim=1)
        delta = float((labels != self.previous).float().mean())
        self.previous = labels
        self.history.setdefault("update_step", []).append(int(state.step))
        self.history.setdefault("delta_label", []).append(delta)
        self.monitor.record(labels, f"target update at step {state.step}")
        if state.step > 0 and delta < self.tol:
            state.stop = True
            state.stop_reason = f"converged: {delta:.4%} of labels changed at step {state.step} (tol={self.tol:.4%})"


@register_model
class DEC(DeepClusteringModel):
    """Deep Embedded Clustering (Xie, Girshick, Farhadi, ICML 2016).

    Pretrain an autoencoder; put cluster centres on a partition of its codes (``init``); then
    drop the decoder and train encoder and centres together to minimise ``KL(P || Q)``,
    where ``Q`` is a Student-t soft assignment and ``P`` its sharpened, frequency-normalised
    target, recomputed on all samples every ``update_interval`` steps.

    The paper puts the centres where k-means (20 restarts) finds them (``init="kmeans"``). By
    default they start at the means of the clusters N2D's manifold step finds on the same
    codes (``init="manifold"``), a departure chosen by measurement: DEC adds a few points to
    whatever it starts from, and k-means on the codes of images is a weak start (MNIST-test:
    0.73-0.78 where N2D finds 0.95). On held-out data (Fashion-MNIST train, first 10,000
    images, seeds 0-2) DEC ended at ACC 0.587 from the manifold start against 0.517 from
    k-means, IDEC at 0.615 against 0.514 (``benchmarks/NOTES_vade_dec.md`` section 11).

    Defaults follow the authors' reference code (DEC-keras, Xie et al.): SGD with learning
    rate 0.01 and momentum 0.9, batches of 256, ``update_interval=140`` (their MNIST value),
    ``tol=0.001``, ``max_iter=20000``, ``alpha=1``, network ``d-500-500-2000-10``.

    Parameters
    ----------
    n_clusters : int, default=10
    embedding : AutoencoderEmbedding, str or path, default=None
        The pretraining: None uses ``AutoencoderEmbedding()`` (``d-500-500-2000-10``, its own
        ``epochs``, ``lr``, ``precision`` and ``device``). A path to a saved, fitted
        embedding warm-starts from it (no pretraining). The fine-tuning runs on the
        embedding's device and precision.
    alpha : float, default=1.0
        Degrees of freedom of the Student-t kernel.
    update_interval : int, default=140
        Steps between target updates (and label-change tests).
    tol : float, default=0.001
        Stop when fewer than this fraction of labels changed between two target updates.
    max_iter : int, default=20000
        Maximum number of optimiser steps (minibatches) in the clustering phase.
    batch_size : int, default=256
    lr : float, default=0.01
        SGD learning rate of the clustering phase.
    momentum : float, default=0.9
    init : {"kmeans", "manifold"}, default="manifold"
        Where the centres start. "kmeans": k-means with 20 restarts on the pretrained codes
        (the paper's). "manifold": the means of the clusters N2D's manifold step finds on the
        same codes (UMAP, then a full GMM; one more manifold fit); if that leaves a cluster
        empty, a warning and the k-means start.
    random_state : int, numpy Generator or None, default=None
        Seeds pretraining, k-means and shuffling. The same int gives the same labels on CPU;
        the global numpy and torch random states are left untouched.
    verbose : bool, default=False
        Progress bars.

    Attributes
    ----------
    embedding_ : AutoencoderEmbedding
        Holds the *fine-tuned* network: ``embedding_.transform`` is the final embedding.
    head_ : StudentTHead
    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
    labels_ : ndarray of shape (n_samples,)
        The head's assignments of the final training codes (not a k-means re-run).
    history_ : dict of str to list
        ``pretrain_*``: the embedding's per-epoch history. ``loss``, ``seconds``, ``epoch``:
        per clustering epoch. ``update_step``, ``delta_label``, ``cluster_sizes`` (the K
        sizes), ``min_cluster_size``, ``n_empty_clusters``: per target update.
    n_iter_ : int
        Optimiser steps taken in the clustering phase.
    stop_reason_ : str
        Why the clustering phase ended (converged, reached max_steps, or completed its epochs).
    init_labels_ : ndarray of shape (n_samples,)
        The clustering the head started from (``init``'s partition of the pretrained codes), so that what
        fine-tuning changed can be measured (``labels_`` against it).
    n_features_in_ : int

    Warns
    -----
    RuntimeWarning
        Once, with the cluster sizes, if a cluster loses all its points during training.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from deepclust.methods import AutoencoderEmbedding
    >>> X, _ = make_blobs(300, n_features=10, centers=3, random_state=0)
    >>> emb = AutoencoderEmbedding(latent_dim=3, hidden_dims=(32,), epochs=10)
    >>> DEC(3, embedding=emb, max_iter=50, random_state=0).fit(X).labels_.shape
    (300,)

    References
    ----------
    J. Xie, R. Girshick, A. Farhadi. Unsupervised Deep Embedding for Clustering Analysis.
    ICML 2016. https://github.com/XifengGuo/DEC-keras
    """

    _desc = "DEC"
    _parameter_constraints = {
        "alpha": POSITIVE_REAL,
        "update_interval": POSITIVE_INT,
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "lr": POSITIVE_REAL,
        "momentum": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions({"kmeans", "manifold"})],
    }

    def __init__(self, n_clusters: int = 10, embedding=None, alpha: float = 1.0, update_interval: int = 140, tol: float = 0.001, max_iter: int = 20000, batch_size: int = 256, lr: float = 0.01, momentum: float = 0.9, init: str = "manifold", random_state=None, verbose: bool = False) -> None:
        store_params(self, locals())

    def _make_head(self, n_clusters: int, latent_dim: int) -> StudentTHead:
        return StudentTHead(n_clusters, latent_dim, alpha=float(self.alpha))

    def _init_head(self, head: StudentTHead, Z: np.ndarray, k: int, head_seed: int) -> torch.Tensor:
        """The centres start from ``init``'s partition of the codes ``Z``; return its labels."""
        if self.init == "manifold":
            labels = manifold_partition(Z, k, head_seed)
            if np.bincount(labels, minlength=k).min() > 0:
                return head.init_from_labels(torch.from_numpy(Z), labels)
            warnings.warn(
                f"{type(self).__name__}(init='manifold'): the manifold step's mixture left a cluster empty; the centres start from k-means on the codes instead",
                RuntimeWarning,
                stacklevel=5,
            )
        return super()._init_head(head, Z, k, head_seed)

    @property
    def _squared_error_decoder(self) -> bool:
        return self._reconstruction_weight() is not None  # IDEC keeps the decoder; DEC drops it

    def _join(self, autoencoder: nn.Module, head: StudentTHead) -> DECModule:
        return DECModule(autoencoder, head, gamma=self._reconstruction_weight())

    def _make_optimizer(self, params) -> torch.optim.Optimizer:
        return torch.optim.SGD(params, lr=float(self.lr), momentum=float(self.momentum))

    def _reconstruction_weight(self) -> float | None:
        """None: no reconstruction term (DEC). IDEC returns its weighting."""
        return None

    def _clustering_phase(self, module: DECModule, X, init_labels: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> ClusteringPhase:
        history: dict[str, list] = {}
        monitor = ClusterSizeMonitor(module.head.n_clusters, type(self).__name__, history)
        update = TargetUpdate(X, module, self.update_interval, self.tol, init_labels, monitor, history, autocast_dtype)
        n_batches = math.ceil(X.shape[0] / int(self.batch_size))
        return ClusteringPhase(
            loss_fn=lambda m, batch, state: m(batch[0], update.P[state.batch_index]),  # the batch's rows of the targets
            optimizer=self._make_optimizer(module.trainable_parameters()),
            epochs=math.ceil(int(self.max_iter) / n_batches),
            max_steps=int(self.max_iter),
            callbacks=[update],
            history=history,
        )


@register_model
class IDEC(DEC):
    """Improved DEC: DEC's clustering loss plus the reconstruction loss (Guo et al., IJCAI 2017).

    Keeping the decoder and its loss ``L = L_rec + gamma * KL(P || Q)`` preserves the local
    structure of the data that DEC's clustering loss alone can distort. Defaults follow the
    paper (Sec. 4.2) and its reference code: ``gamma=0.1``, Adam with learning rate 0.001,
    batches of 256, ``update_interval=140`` (MNIST), ``tol=0.001``, ``max_iter=20000``.

    Parameters
    ----------
    n_clusters : int, default=10
    embedding : AutoencoderEmbedding, str or path, default=None
        As in :class:`DEC`.
    alpha : float, default=1.0
    gamma : float, default=0.1
        Weight of the clustering loss relative to the reconstruction loss (mean squared
        error per entry, as in pretraining).
    update_interval : int, default=140
    tol : float, default=0.001
    max_iter : int, default=20000
    batch_size : int, default=256
    lr : float, default=0.001
        Adam learning rate of the clustering phase (encoder, decoder and centres).
    init : {"kmeans", "manifold"}, default="manifold"
        As in :class:`DEC`.
    random_state : int, numpy Generator or None, default=None
    verbose : bool, default=False

    Attributes
    ----------
    As :class:`DEC`; ``history_`` also has per-epoch ``reconstruction`` and ``clustering``.

    Examples
    --------
    >>> import numpy as np
    >>> from deepclust.methods import AutoencoderEmbedding as AE
    >>> X = np.repeat(np.eye(3, 6), 50, axis=0) + np.random.default_rng(0).normal(0, 0.1, (150, 6))
    >>> IDEC(3, embedding=AE(latent_dim=2, hidden_dims=(16,), epochs=5), max_iter=30, random_state=0).fit(X).labels_.shape
    (150,)

    References
    ----------
    X. Guo, L. Gao, X. Liu, J. Yin. Improved Deep Embedded Clustering with Local Structure
    Preservation. IJCAI 2017. https://github.com/XifengGuo/IDEC
    """

    _desc = "IDEC"
    _parameter_constraints = {
        **{key: c for key, c in DEC._parameter_constraints.items() if key != "momentum"},
        "gamma": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, n_clusters: int = 10, embedding=None, alpha: float = 1.0, gamma: float = 0.1, update_interval: int = 140, tol: float = 0.001, max_iter: int = 20000, batch_size: int = 256, lr: float = 0.001, init: str = "manifold", random_state=None, verbose: bool = False) -> None:
        store_params(self, locals())

    def _make_optimizer(self, params) -> torch.optim.Optimizer:
        return adam(params, lr=float(self.lr))

    def _reconstruction_weight(self) -> float | None:
        return float(self.gamma)
