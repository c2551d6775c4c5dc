"""SCANClustering: mine neighbours in a learned embedding, train a clustering head on them."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from deepclust.heads.scan import SCANHead
from deepclust.methods._base import draw_seed, resolve_device, resolve_precision, seed_stream, to_tensor, torch_seeded
from deepclust.methods._composite import CHUNK, EmbeddingClusterer, head_arrays, head_in_chunks, load_head, plain_history, store_params
from deepclust.methods._deep import ClusteringPhase
from deepclust.methods._params import POSITIVE_INT, POSITIVE_REAL, Integral, Interval, Real
from deepclust.methods._persist import prefixed, register_model, unprefixed
from deepclust.train import adam

logger = logging.getLogger(__name__)


def mine_neighbors(Z: np.ndarray, n_neighbors: int) -> np.ndarray:
    """Indices (n, k) of each row's ``k`` nearest other rows of ``Z`` (Euclidean; self excluded)."""
    k = min(int(n_neighbors), Z.shape[0] - 1)
    idx = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z, return_distance=False)
    # Row i's own index is normally first; with duplicate rows it may come later, so drop it
    # wherever it is, else the last column.
    own = idx == np.arange(Z.shape[0])[:, None]
    own[~own.any(axis=1), -1] = True
    return idx[~own].reshape(Z.shape[0], k)


@register_model
class SCANClustering(EmbeddingClusterer):
    """SCAN: a clustering head trained on nearest neighbours in a self-supervised embedding.

    1. Learn the embedding (by default a :class:`ContrastiveEmbedding`) and mine each
       sample's ``n_neighbors`` nearest neighbours in it.
    2. Train a softmax head on the embedding so that a sample and a random one of its
       neighbours get the same cluster, with an entropy term that keeps all clusters in use
       (:func:`deepclust.losses.scan_loss`). A linear head starts from k-means.
    3. Optionally self-label: samples whose top probability exceeds ``confidence`` become
       pseudo-labels, and the head is trained on them by cross-entropy, weighted against
       cluster imbalance, so that confident samples pull the uncertain ones along.

    Van Gansbeke et al. train the backbone with the head and use strong augmentations in
    self-labelling; here the embedding stays fixed once learned (any transformer works:
    contrastive, autoencoder, UMAP coordinates), which makes the head cheap to train on a
    CPU and ``predict`` exact on new data: ``head(embedding.transform(X))``.

    Parameters
    ----------
    n_clusters : int, default=10
    embedding : transformer, str, path or None, default=None
        None: ``ContrastiveEmbedding()`` (tabular views and an MLP; for images pass
        ``ContrastiveEmbedding(input_shape=(C, H, W))``, which trains on image views with a
        conv encoder, as ``simclr-scan`` does from the CLI); the path of a saved embedding
        warm-starts.
    n_neighbors : int, default=20
    entropy_weight : float, default=5.0
    hidden_dims : sequence of int, default=()
        The head: linear (k-means start) or an MLP with these hidden widths.
    epochs : int, default=30
        Epochs of the SCAN step.
    self_label_epochs : int, default=0
        Epochs of self-labelling (0: none).
    confidence : float, default=0.99
        Probability above which a sample becomes a pseudo-label.
    batch_size : int, default=256
    lr : float, default=1e-3
        Adam learning rate of the head.
    precision : {"auto", "float32", "bf16"}, default="float32"
        The head is small; float32 is as fast and exact.
    device : str, default="auto"
    random_state : int, numpy Generator or None, default=None
    verbose : bool, default=False

    Attributes
    ----------
    embedding_ : fitted transformer
    head_ : deepclust.heads.SCANHead
    labels_ : ndarray of shape (n_samples,)
    neighbors_ : ndarray of shape (n_samples, n_neighbors)
        The mined neighbours (indices into the training data).
    history_ : dict
        ``scan`` and ``self_label`` per-epoch losses, ``n_confident`` per self-label epoch.
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from deepclust.methods import RawFeatures
    >>> X, _ = make_blobs(200, n_features=4, centers=3, random_state=0)
    >>> SCANClustering(3, embedding=RawFeatures(), epochs=5, random_state=0).fit(X).labels_.shape
    (200,)

    References
    ----------
    Van Gansbeke, Vandenhende, Georgoulis, Proesmans & Van Gool (2020). SCAN: learning to
    classify images without labels. ECCV.
    """

    _reads_disk_input = False
    _parameter_constraints = {
        "n_neighbors": POSITIVE_INT,
        "entropy_weight": [Interval(Real, 0, None, closed="left")],
        "epochs": POSITIVE_INT,
        "self_label_epochs": [Interval(Integral, 0, None, closed="left")],
        "confidence": [Interval(Real, 0, 1, closed="neither")],
        "batch_size": POSITIVE_INT,
        "lr": POSITIVE_REAL,
    }

    def __init__(self, n_clusters: int = 10, embedding=None, n_neighbors: int = 20, entropy_weight: float = 5.0, hidden_dims: Sequence[int] = (), epochs: int = 30, self_label_epochs: int = 0, confidence: float = 0.99, batch_size: int = 256, lr: float = 1e-3, precision: str = "float32", device: str = "auto", random_state=None, verbose: bool = False) -> None:
        store_params(self, locals())

    def _default_embedding(self):
        from deepclust.methods.simclr import ContrastiveEmbedding

        return ContrastiveEmbedding()

    def fit(self, X, y=None):
        """Fit the embedding, mine neighbours, train the head; ``y`` is ignored."""
        X, k = self._start_fit(X)
        if any(not isinstance(h, (int, np.integer)) or h < 1 for h in self.hidden_dims):
            raise ValueError(f"hidden_dims must be positive integers, got {self.hidden_dims!r}")
        rng = seed_stream(self.random_state)
        emb_seed, head_seed, init_seed = draw_seed(rng), draw_seed(rng), draw_seed(rng)
        device = resolve_device(self.device)
        autocast = resolve_precision(self.precision, device)
        self.embedding_, Z = self._fit_embedding(X, emb_seed)
        nbrs = mine_neighbors(Z, self.n_neighbors)  # (N, k)
        Zt, nt = to_tensor(Z, device), torch.as_tensor(nbrs, dtype=torch.int64, device=device)
        history: dict[str, list] = {}
        run = dict(batch_size=self.batch_size, autocast_dtype=autocast, verbose=self.verbose)
        with torch_seeded(head_seed, device) as gen:
            head = SCANHead(n_clusters=k, latent_dim=Z.shape[1], hidden_dims=self.hidden_dims).to(device)
            head.init_from_embedding(Zt, np.random.default_rng(init_seed))
            phase = ClusteringPhase(NeighbourPairs(Zt, gen, float(self.entropy_weight)), adam(head.parameters(), lr=self.lr), int(self.epochs))
            history["scan"] = phase.run(head, (Zt, nt), generator=gen, desc="SCAN", **run).history
            if self.self_label_epochs:
                history["self_label"] = self._self_label(head, Zt, k, phase.optimizer, dict(generator=gen, **run))
        self.head_ = head.eval()
        self.neighbors_ = nbrs
        self.history_ = history
        self.n_features_in_ = X.shape[1]
        self.labels_ = self._predict_codes(Z)
        sizes = np.bincount(self.labels_, minlength=k)
        if (sizes == 0).any():
            logger.warning("SCAN left %d of %d clusters empty", int((sizes == 0).sum()), k)
        return self

    def _self_label(self, head: SCANHead, Zt: torch.Tensor, k: int, optimizer, run: dict) -> dict:
        """Cross-entropy on confident pseudo-labels, re-chosen every epoch (SCAN step 3)."""
        history: dict[str, list] = {}
        for _ in range(int(self.self_label_epochs)):
            with torch.no_grad():
                head.eval()
                probs = torch.cat([head.soft_assign(Zt[i : i + CHUNK]) for i in range(0, Zt.shape[0], CHUNK)])
            conf, target = probs.max(dim=1)
            keep = conf > self.confidence
            n_conf = int(keep.sum())
            history.setdefault("n_confident", []).append(n_conf)
            if n_conf < 2:
                logger.warning("self-labelling stopped: %d samples above confidence %.3f", n_conf, self.confidence)
                break
            counts = torch.bincount(target[keep], minlength=k).float()
            weight = torch.where(counts > 0, counts.sum() / (k * counts.clamp_min(1)), torch.zeros_like(counts))
            phase = ClusteringPhase(lambda m, batch, state, weight=weight: m.self_label_loss(*batch, weight), optimizer, 1)
            st = phase.run(head, (Zt[keep], target[keep]), desc="self-label", **run)
            history.setdefault("loss", []).extend(st.history["loss"])
        return history

    def _predict_codes(self, Z: np.ndarray) -> np.ndarray:
        return head_in_chunks(self.head_.predict, Z, next(self.head_.parameters()).device).numpy().astype(np.int64)

    def predict_proba(self, X) -> np.ndarray:
        """Cluster probabilities of the head: (n_samples, n_clusters)."""
        Z = self.transform(X)  # checks that the model is fitted
        return head_in_chunks(self.head_.soft_assign, Z, next(self.head_.parameters()).device).numpy().astype(np.float32)

    def _extra_state(self):
        head = {"latent_dim": self.head_.latent_dim, "n_clusters": self.head_.n_clusters, "hidden_dims": list(self.head_.hidden_dims)}
        meta = {"head": head, "history": plain_history(self.history_)}
        return meta, {**prefixed("head", head_arrays(self.head_)), "neighbors": self.neighbors_}

    def _restore_extra(self, meta, arrays):
        h = meta["head"]
        head = SCANHead(n_clusters=h["n_clusters"], latent_dim=h["latent_dim"], hidden_dims=h["hidden_dims"])
        self.head_ = load_head(head, unprefixed("head", arrays)).to(resolve_device(self.device))
        self.neighbors_ = arrays["neighbors"]
        self.history_ = meta.get("history", {})


class NeighbourPairs:
    """SCAN's batch routing: each anchor's codes and one neighbour drawn at random from its list.

    A callable ``(head, batch, state) -> loss terms`` for :func:`deepclust.train.fit_module`;
    the neighbour is drawn from the loop's own generator, so the run is reproducible.
    """

    def __init__(self, Z: torch.Tensor, generator: torch.Generator, entropy_weight: float) -> None:
        self.Z, self.generator, self.entropy_weight = Z, generator, entropy_weight

    def __call__(self, head: SCANHead, batch, state) -> dict[str, torch.Tensor]:
        z, nb = batch  # (B, d), (B, k)
        pick = torch.randint(0, nb.shape[1], (nb.shape[0],), generator=self.generator).to(nb.device)
        return head.loss(z, self.Z[nb[torch.arange(nb.shape[0], device=nb.device), pick]], self.entropy_weight)
