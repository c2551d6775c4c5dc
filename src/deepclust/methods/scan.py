"""SCANClustering: mine neighbours in a learned embedding, train a clustering head on them."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted

from deepclust.heads.scan import SCANHead
from deepclust.methods._base import (
    Float32OutputMixin,
    apply_in_chunks,
    check_array_2d,
    draw_seed,
    resolve_device,
    resolve_precision,
    seed_stream,
    to_tensor,
    torch_seeded,
)
from deepclust.methods._deep import _check_positive, _check_positive_int
from deepclust.methods._persist import load_model, nested_state, prefixed, register_model, restore_nested, save_model, unprefixed
from deepclust.methods.clustering import check_n_clusters, fit_embedding
from deepclust.train import adam, fit_module

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
class SCANClustering(Float32OutputMixin, ClusterMixin, TransformerMixin, BaseEstimator):
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
        None: ``ContrastiveEmbedding()``; the path of a saved embedding warm-starts.
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

    def __init__(
        self,
        n_clusters: int = 10,
        embedding=None,
        n_neighbors: int = 20,
        entropy_weight: float = 5.0,
        hidden_dims: Sequence[int] = (),
        epochs: int = 30,
        self_label_epochs: int = 0,
        confidence: float = 0.99,
        batch_size: int = 256,
        lr: float = 1e-3,
        precision: str = "float32",
        device: str = "auto",
        random_state=None,
        verbose: bool = False,
    ) -> None:
        self.n_clusters = n_clusters
        self.embedding = embedding
        self.n_neighbors = n_neighbors
        self.entropy_weight = entropy_weight
        self.hidden_dims = hidden_dims
        self.epochs = epochs
        self.self_label_epochs = self_label_epochs
        self.confidence = confidence
        self.batch_size = batch_size
        self.lr = lr
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        _check_positive_int(self, "n_neighbors", "epochs", "batch_size")
        _check_positive(self, "lr")
        _check_positive(self, "entropy_weight", allow_zero=True)
        if not isinstance(self.self_label_epochs, (int, np.integer)) or isinstance(self.self_label_epochs, bool) or self.self_label_epochs < 0:
            raise ValueError(f"self_label_epochs must be a non-negative integer, got {self.self_label_epochs!r}")
        if not (isinstance(self.confidence, (int, float)) and 0 < self.confidence < 1):
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence!r}")
        if any(not isinstance(h, (int, np.integer)) or h < 1 for h in self.hidden_dims):
            raise ValueError(f"hidden_dims must be positive integers, got {self.hidden_dims!r}")

    def _default_embedding(self):
        from deepclust.methods.simclr import ContrastiveEmbedding

        return ContrastiveEmbedding()

    def fit(self, X, y=None):
        """Fit the embedding, mine neighbours, train the head; ``y`` is ignored."""
        self._check_params()
        X = check_array_2d(X, min_samples=2)
        k = check_n_clusters(self.n_clusters, X.shape[0], X=X)
        rng = seed_stream(self.random_state)
        emb_seed, head_seed, init_seed = draw_seed(rng), draw_seed(rng), draw_seed(rng)
        device = resolve_device(self.device)
        autocast = resolve_precision(self.precision, device)
        embedding = self._default_embedding() if self.embedding is None else self.embedding
        self.embedding_, Z = fit_embedding(embedding, emb_seed, X)
        nbrs = mine_neighbors(Z, self.n_neighbors)  # (N, k)
        Zt, nt = to_tensor(Z, device), torch.as_tensor(nbrs, dtype=torch.int64, device=device)
        history: dict[str, list] = {}
        with torch_seeded(head_seed, device) as gen:
            head = SCANHead(Z.shape[1], k, self.hidden_dims).to(device)
            head.init_from_embedding(Zt, np.random.default_rng(init_seed))
            w = float(self.entropy_weight)

            def scan_step(module, batch, state):
                z, nb = batch  # (B, d), (B, k)
                pick = torch.randint(0, nb.shape[1], (nb.shape[0],), generator=gen).to(nb.device)
                return module.loss(z, Zt[nb[torch.arange(nb.shape[0], device=nb.device), pick]], w)

            opts = dict(batch_size=int(self.batch_size), generator=gen, autocast_dtype=autocast, progress=bool(self.verbose))
            optimizer = adam(head.parameters(), lr=self.lr)
            state = fit_module(head, scan_step, (Zt, nt), epochs=int(self.epochs), optimizer=optimizer, desc="SCAN", **opts)
            history["scan"] = state.history
            if self.self_label_epochs:
                history["self_label"] = self._self_label(head, Zt, k, optimizer, opts)
        self.head_ = head.eval()
        self.neighbors_ = nbrs
        self.history_ = history
        self.n_features_in_ = X.shape[1]
        self.labels_ = self._predict_codes(Z)
        sizes = np.bincount(self.labels_, minlength=k)
        if (sizes == 0).any():
            logger.warning("SCAN left %d of %d clusters empty", int((sizes == 0).sum()), k)
        return self

    def _self_label(self, head: SCANHead, Zt: torch.Tensor, k: int, optimizer, opts: dict) -> dict:
        """Cross-entropy on confident pseudo-labels, re-chosen every epoch (SCAN step 3)."""
        history: dict[str, list] = {}
        for _ in range(int(self.self_label_epochs)):
            with torch.no_grad():
                head.eval()
                probs = torch.cat([head.soft_assign(Zt[i : i + 4096]) for i in range(0, Zt.shape[0], 4096)])
            conf, target = probs.max(dim=1)
            keep = conf > self.confidence
            n_conf = int(keep.sum())
            history.setdefault("n_confident", []).append(n_conf)
            if n_conf < 2:
                logger.warning("self-labelling stopped: %d samples above confidence %.3f", n_conf, self.confidence)
                break
            counts = torch.bincount(target[keep], minlength=k).float()
            weight = torch.where(counts > 0, counts.sum() / (k * counts.clamp_min(1)), torch.zeros_like(counts))

            def ce(module, batch, state, weight=weight):
                z, t = batch
                return torch.nn.functional.cross_entropy(module(z).float(), t, weight=weight)

            st = fit_module(head, ce, (Zt[keep], target[keep]), epochs=1, optimizer=optimizer, desc="self-label", **opts)
            history.setdefault("loss", []).extend(st.history["loss"])
        return history

    def _predict_codes(self, Z: np.ndarray) -> np.ndarray:
        return apply_in_chunks(self.head_, Z, next(self.head_.parameters()).device).argmax(axis=1).astype(np.int64)

    def transform(self, X) -> np.ndarray:
        """The embedding of ``X``: (n_samples, latent_dim)."""
        check_is_fitted(self, "labels_")
        X = check_array_2d(X, n_features=self.n_features_in_, owner=type(self).__name__)
        return np.asarray(self.embedding_.transform(X), dtype=np.float32)

    def predict(self, X) -> np.ndarray:
        """Cluster labels for new data; ``predict(X_train)`` equals ``labels_``."""
        return self._predict_codes(self.transform(X))

    def predict_proba(self, X) -> np.ndarray:
        """Cluster probabilities of the head: (n_samples, n_clusters)."""
        Z = self.transform(X)
        return apply_in_chunks(self.head_.soft_assign, Z, next(self.head_.parameters()).device)

    def save(self, path, *, overwrite: bool = False):
        """Save to folder ``path`` as JSON + safetensors (no pickle)."""
        check_is_fitted(self, "labels_")
        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        return load_model(path, expected=cls)

    def _save_state(self):
        emb_meta, emb_arrays = nested_state(self.embedding_)
        head = {k: v.detach().cpu().numpy() for k, v in self.head_.state_dict().items()}
        meta = {
            "embedding": emb_meta,
            "head": {"latent_dim": self.head_.latent_dim, "n_clusters": self.head_.n_clusters, "hidden_dims": list(self.head_.hidden_dims)},
            "n_features_in": int(self.n_features_in_),
            "history": _plain(self.history_),
        }
        arrays = {**prefixed("embedding", emb_arrays), **prefixed("head", head), "labels": self.labels_, "neighbors": self.neighbors_}
        return meta, arrays

    def _load_state(self, meta, arrays):
        self.embedding_ = restore_nested(meta["embedding"], unprefixed("embedding", arrays))
        h = meta["head"]
        head = SCANHead(h["latent_dim"], h["n_clusters"], h["hidden_dims"])
        try:
            head.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in unprefixed("head", arrays).items()})
        except RuntimeError as exc:
            raise ValueError(f"saved head weights do not match the saved head: {exc}") from None
        self.head_ = head.to(resolve_device(self.device)).eval()
        self.labels_ = arrays["labels"]
        self.neighbors_ = arrays["neighbors"]
        self.n_features_in_ = int(meta["n_features_in"])
        self.history_ = meta.get("history", {})


def _plain(history: dict) -> dict:
    """History as JSON-able lists of numbers."""
    return {k: _plain(v) if isinstance(v, dict) else [float(x) for x in v] for k, v in history.items()}
