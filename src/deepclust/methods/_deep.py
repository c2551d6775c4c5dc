"""The shared skeleton of DEC, IDEC and DCN: a pretrained autoencoder, a clustering head, and
one fine-tuning run of :func:`deepclust.train.fit_module`.

Each method supplies only what differs: its head (:meth:`DeepClusteringModel._make_head`) and
its clustering phase (:meth:`DeepClusteringModel._clustering_phase`: loss, optimiser,
callbacks, length). Everything else (validation, seeding, warm start from a saved embedding,
labels, transform/predict, save/load) lives here once.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from deepclust.methods._base import (
    Float32OutputMixin,
    draw_seed,
    resolve_precision,
    seed_stream,
    to_tensor,
    torch_seeded,
)
from deepclust.methods._persist import load_model, nested_state, prefixed, restore_nested, save_model, unprefixed
from deepclust.methods.clustering import check_n_clusters, fit_embedding
from deepclust.methods.streaming import BlockBatches, DiskArray, as_input_for, check_array_or_disk
from deepclust.nn import Autoencoder
from deepclust.train import Callback, TrainState, fit_module
from deepclust.train.distributed import all_gather_rows, all_reduce_sum, row_range

CHUNK = 4096  # rows per forward pass when encoding a whole data set


@dataclass
class ClusteringPhase:
    """What a method hands to the shared fine-tuning run."""

    loss_fn: Callable  # (module, batch, state) -> Tensor or dict, as fit_module wants
    optimizer: torch.optim.Optimizer
    epochs: int
    max_steps: int | None = None
    callbacks: Sequence[Callback] = ()
    history: dict[str, list] = field(default_factory=dict)  # extra per-update records (delta_label, ...)


@torch.no_grad()
def encode_all(autoencoder: nn.Module, X: "torch.Tensor | DiskArray", chunk_size: int = CHUNK, autocast_dtype: torch.dtype | None = None) -> torch.Tensor:
    """Codes of every row of ``X`` (n, d) -> (n, latent_dim) float32, in eval mode and chunks.

    ``X`` is a tensor on the model's device or a :class:`DiskArray` (read chunk by chunk).
    Under data parallelism each rank encodes its slice of the rows and the slices are
    all-gathered, so every rank gets all the codes for a fraction of the work.
    Restores the module's train/eval mode afterwards, so a callback may call it mid-training.
    ``autocast_dtype`` runs the encoder under the training's autocast (DEC's target updates
    encode the whole data set every ``update_interval`` steps: in bf16 that pass is about 4x
    cheaper on CPUs with native bf16, and it sees the same arithmetic as the training steps).
    """
    was_training = autoencoder.training
    autoencoder.eval()
    n = X.shape[0]
    start, stop = row_range(n)
    device = next(autoencoder.parameters()).device

    def rows(a: int, b: int) -> torch.Tensor:
        return X[a:b] if isinstance(X, torch.Tensor) else torch.from_numpy(X.read(a, b)).to(device)

    try:
        with torch.autocast(device_type=device.type, dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None):
            parts = [autoencoder.encode(rows(i, min(i + chunk_size, stop))).float() for i in range(start, stop, chunk_size)]
            z = torch.cat(parts) if parts else autoencoder.encode(rows(0, 1)).float()[:0]  # a rank with no rows
        return all_gather_rows(z, n)
    finally:
        autoencoder.train(was_training)


class ClusterSizeMonitor:
    """Records the cluster sizes and warns once, with the sizes, when a cluster has emptied.

    An empty cluster in DEC/DCN/VaDE is a collapse: a centre no point is nearest to anymore,
    which the method never recovers from. The fit goes on (the other clusters are still
    valid), but the user is told, and ``history_`` shows when it happened:
    ``cluster_sizes`` (the K sizes), ``min_cluster_size`` and ``n_empty_clusters`` per record.
    """

    def __init__(self, n_clusters: int, method: str, history: dict[str, list]) -> None:
        self.n_clusters, self.method, self.warned = n_clusters, method, False
        self.history = history  # filled in place: the method's extra history

    def record(self, labels: torch.Tensor, where: str, reduce=None) -> None:
        """``reduce`` adds up the sizes over ranks when each rank saw only its own labels."""
        sizes = torch.bincount(labels.reshape(-1), minlength=self.n_clusters)
        if reduce is not None:
            sizes = reduce(sizes)
        n_empty = int((sizes == 0).sum())
        self.history.setdefault("cluster_sizes", []).append([int(s) for s in sizes.tolist()])
        self.history.setdefault("min_cluster_size", []).append(int(sizes.min()))
        self.history.setdefault("n_empty_clusters", []).append(n_empty)
        if n_empty and not self.warned:
            self._warn(self.history["cluster_sizes"][-1], n_empty, where)

    def _warn(self, sizes: list[int], n_empty: int, where: str) -> None:
        self.warned = True
        warnings.warn(
            f"{self.method}: {n_empty} of {self.n_clusters} clusters became empty ({where}; cluster sizes {sizes}); "
            "the result has fewer clusters than asked for. Try fewer clusters, a smaller learning rate or a longer pretraining",
            RuntimeWarning,
            stacklevel=3,
        )

    # For checkpoints: the history records so far (the callbacks that own a monitor save it).
    def state_dict(self) -> dict:
        return {"history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.history.clear()
        self.history.update({k: list(v) for k, v in state["history"].items()})
        self.warned = False
        empty = [i for i, n in enumerate(self.history.get("n_empty_clusters", [])) if n]
        if empty:  # the warning went to the interrupted process: repeat it for this one
            i = empty[0]
            self._warn(self.history["cluster_sizes"][i], self.history["n_empty_clusters"][i], "before the checkpoint this fit resumed from")


def _check_positive_int(est, *names: str) -> None:
    for name in names:
        v = getattr(est, name)
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def _check_positive(est, *names: str, allow_zero: bool = False) -> None:
    for name in names:
        v = getattr(est, name)
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and (v >= 0 if allow_zero else v > 0)
        if not ok:
            raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {v!r}")


class DeepClusteringModel(Float32OutputMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """Base class: pretrain (or load) an autoencoder, initialise a head by k-means, fine-tune.

    Subclasses define ``__init__`` (parameters only), :meth:`_check_params`,
    :meth:`_make_head` and :meth:`_clustering_phase`. Not for direct use.

    The fitted ``embedding_`` is the embedding estimator whose ``autoencoder_`` is the
    *fine-tuned* network, so ``transform`` returns the final embedding; ``history_`` holds the
    pretraining history under ``pretrain_*`` keys next to the clustering phase's.
    """

    _desc = "clustering"

    # -- to override ------------------------------------------------------------------------
    def _check_params(self) -> None:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _make_head(self, n_clusters: int, latent_dim: int) -> nn.Module:  # pragma: no cover
        raise NotImplementedError

    def _clustering_phase(self, model: nn.ModuleDict, X: "torch.Tensor | DiskArray", init_labels: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> ClusteringPhase:  # pragma: no cover
        raise NotImplementedError

    def _default_embedding(self):
        from deepclust.methods.embedding import AutoencoderEmbedding

        return AutoencoderEmbedding()

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Pretrain the embedding, initialise the head by k-means, fine-tune; ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or data on disk
            A ``.npy``/``.parquet`` path, ``np.memmap``, h5py dataset or zarr array is
            streamed in blocks (pretraining, fine-tuning and DEC's target updates alike).
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        X = check_array_or_disk(X, min_samples=2)
        k = check_n_clusters(self.n_clusters, X.shape[0], X=X if isinstance(X, np.ndarray) else None)  # on disk: not read twice
        rng = seed_stream(self.random_state)
        emb_seed, head_seed, train_seed = draw_seed(rng), draw_seed(rng), draw_seed(rng)
        embedding = self._default_embedding() if self.embedding is None else self.embedding
        emb, Z = fit_embedding(embedding, emb_seed, X)
        if not isinstance(getattr(emb, "autoencoder_", None), Autoencoder):
            raise ValueError(
                f"{type(self).__name__} fine-tunes a deterministic autoencoder, but the embedding {type(emb).__name__} has none; "
                "pass an AutoencoderEmbedding (or the path of a saved one)"
            )
        pretrain_history = {f"pretrain_{key}": list(v) for key, v in getattr(emb, "history_", {}).items()}
        # Fine-tune a copy: the pretrained weights stay as they were in case the caller holds them.
        ae = copy.deepcopy(emb.autoencoder_)
        device = next(ae.parameters()).device
        autocast = resolve_precision(getattr(emb, "precision", "float32"), device)
        head = self._make_head(k, Z.shape[1])
        init_labels = head.init_from_embedding(torch.from_numpy(Z), np.random.default_rng(head_seed))
        head = head.to(device)
        model = nn.ModuleDict({"autoencoder": ae, "head": head})
        streaming = isinstance(X, DiskArray)
        Xt = X if streaming else to_tensor(X, device)
        with torch_seeded(train_seed, device) as gen:
            phase = self._clustering_phase(model, Xt, init_labels.to(device), autocast)
            state: TrainState = fit_module(
                model,
                phase.loss_fn,
                BlockBatches(X, device) if streaming else (Xt,),
                epochs=int(phase.epochs),
                batch_size=int(self.batch_size),
                optimizer=phase.optimizer,
                generator=gen,
                callbacks=phase.callbacks,
                autocast_dtype=autocast,
                progress=bool(self.verbose),
                desc=self._desc,
                max_steps=phase.max_steps,
            )
        emb.autoencoder_ = ae.eval()
        self.embedding_ = emb
        self.head_ = head.cpu().eval()
        self.n_features_in_ = X.shape[1]
        self.n_iter_ = int(state.step)
        self.stop_reason_ = state.stop_reason
        self.history_ = {**pretrain_history, **_plain(state.history), **_plain(phase.history)}
        self._set_fitted(self.embedding_.transform(X))
        return self

    def _set_fitted(self, Z: np.ndarray) -> None:
        """``labels_`` from the head on the final training codes, through predict's own path."""
        self.labels_ = self._predict_codes(Z)
        self.cluster_centers_ = self.head_.centers.detach().cpu().numpy().astype(np.float32, copy=True)

    # -- inference --------------------------------------------------------------------------
    def transform(self, X) -> np.ndarray:
        """The fine-tuned embedding of ``X``: (n_samples, latent_dim) float32."""
        check_is_fitted(self, "labels_")
        X = check_array_or_disk(X, n_features=self.n_features_in_, owner=type(self).__name__)
        return self.embedding_.transform(as_input_for(self.embedding_, X))

    @torch.no_grad()
    def _predict_codes(self, Z: np.ndarray) -> np.ndarray:
        z = torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float32))
        return torch.cat([self.head_.predict(z[i : i + CHUNK]) for i in range(0, z.shape[0], CHUNK)]).numpy().astype(np.int64)

    def predict(self, X) -> np.ndarray:
        """Cluster labels (n_samples,) from the head; ``predict(X_train)`` equals ``labels_``."""
        return self._predict_codes(self.transform(X))

    @torch.no_grad()
    def predict_proba(self, X) -> np.ndarray:
        """The head's soft assignments (n_samples, n_clusters); rows sum to one."""
        z = torch.from_numpy(self.transform(X))
        return torch.cat([self.head_.soft_assign(z[i : i + CHUNK]) for i in range(0, z.shape[0], CHUNK)]).numpy().astype(np.float32)

    # -- persistence ------------------------------------------------------------------------
    def save(self, path, *, overwrite: bool = False):
        """Save to folder ``path`` as JSON + safetensors (no pickle). Returns the path."""
        check_is_fitted(self, "labels_")
        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        """Load a model saved with :meth:`save`."""
        return load_model(path, expected=cls)

    def _save_state(self):
        emb_meta, emb_arrays = nested_state(self.embedding_)
        head_arrays = {key: v.detach().cpu().numpy() for key, v in self.head_.state_dict().items()}
        meta = {
            "embedding": emb_meta,
            "n_clusters": int(self.head_.n_clusters),
            "latent_dim": int(self.head_.latent_dim),
            "n_features_in": int(self.n_features_in_),
            "n_iter": int(self.n_iter_),
            "stop_reason": self.stop_reason_,
            "history": self.history_,
        }
        return meta, {**prefixed("embedding", emb_arrays), **prefixed("head", head_arrays), "labels": self.labels_}

    def _load_state(self, meta, arrays):
        self.embedding_ = restore_nested(meta["embedding"], unprefixed("embedding", arrays))
        head = self._make_head(int(meta["n_clusters"]), int(meta["latent_dim"]))
        try:
            head.load_state_dict({key: torch.from_numpy(v.copy()) for key, v in unprefixed("head", arrays).items()})
        except RuntimeError as exc:
            raise ValueError(f"saved head does not match the saved sizes: {exc}") from None
        self.head_ = head.eval()
        self.labels_ = np.asarray(arrays["labels"], dtype=np.int64)
        self.cluster_centers_ = self.head_.centers.detach().numpy().astype(np.float32, copy=True)
        self.n_features_in_ = int(meta["n_features_in"])
        self.n_iter_ = int(meta["n_iter"])
        self.stop_reason_ = meta.get("stop_reason")
        self.history_ = meta.get("history", {})


def _plain(history: dict) -> dict[str, list]:
    """History as JSON-ready Python numbers (saved with the model)."""
    return {key: [v.item() if hasattr(v, "item") else v for v in values] for key, values in history.items()}
