"""The shared skeleton of DEC, IDEC, DCN and VaDE: a pretrained network, a clustering head,
and one fine-tuning run of :func:`deepclust.train.fit_module`.

Each method supplies only what differs: its module (:meth:`DeepClusteringModel._build_module`:
network + head from :mod:`deepclust.heads.modules`, which computes the named loss terms) and its
clustering phase (:meth:`DeepClusteringModel._clustering_phase`: optimiser, callbacks,
length). Validation, seeding, the warm start from a saved embedding, transform/predict and
save/load live in :class:`~deepclust.methods._composite.EmbeddingClusterer`; the rest here.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from deepclust.methods._base import draw_seed, resolve_precision, seed_stream, to_tensor, torch_seeded
from deepclust.methods._composite import CHUNK, EmbeddingClusterer, head_arrays, head_in_chunks, load_head, plain_history
from deepclust.methods._persist import prefixed, unprefixed
from deepclust.datasets import DiskArray
from deepclust.train.batches import BlockBatches
from deepclust.nn import Autoencoder
from deepclust.train import Callback, TrainState, fit_module
from deepclust.train.distributed import all_gather_rows, row_range


@dataclass
class ClusteringPhase:
    """What a method hands to the shared fine-tuning run (one call of :func:`fit_module`).

    ``loss_fn`` only routes a batch to the module (``module(x, ...)``), which computes the
    loss terms; it takes ``(module, batch, state)`` as :func:`fit_module` wants.
    """

    loss_fn: Callable
    optimizer: torch.optim.Optimizer
    epochs: int
    max_steps: int | None = None
    callbacks: Sequence[Callback] = ()
    history: dict[str, list] = field(default_factory=dict)  # extra per-update records (delta_label, ...)

    def run(self, module: nn.Module, data, *, generator: torch.Generator, batch_size: int, autocast_dtype=None, verbose=False, desc: str = "clustering") -> TrainState:
        """Train ``module`` on ``data`` (tensors or a batch source) by the shared loop."""
        return fit_module(
            module,
            self.loss_fn,
            data,
            epochs=int(self.epochs),
            batch_size=int(batch_size),
            optimizer=self.optimizer,
            generator=generator,
            callbacks=self.callbacks,
            autocast_dtype=autocast_dtype,
            progress=bool(verbose),
            desc=desc,
            max_steps=self.max_steps,
        )


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


class DeepClusteringModel(EmbeddingClusterer):
    """Base class: pretrain (or load) a network, initialise a head on its codes, fine-tune.

    Subclasses define ``__init__`` (parameters only), ``_parameter_constraints``,
    :meth:`_make_head`, :meth:`_build_module` (the network + head module, whose forward gives
    the named loss terms) and :meth:`_clustering_phase`. Not for direct use.

    The fitted ``embedding_`` is the embedding estimator whose ``autoencoder_`` is the
    *fine-tuned* network, so ``transform`` returns the final embedding; ``history_`` holds the
    pretraining history under ``pretrain_*`` keys next to the clustering phase's.
    """

    _desc = "clustering"

    # -- to override ------------------------------------------------------------------------
    def _make_head(self, n_clusters: int, latent_dim: int) -> nn.Module:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _build_module(self, emb, Z: np.ndarray, k: int, head_seed: int, device: torch.device) -> tuple[nn.Module, torch.Tensor]:
        """The module to fine-tune and the head's initial labels (n,) on ``device``.

        The default: a copy of the pretrained autoencoder (the caller's weights stay as they
        were) and a head initialised on the codes ``Z``, joined by :meth:`_join`.
        """
        ae = copy.deepcopy(emb.autoencoder_)
        head = self._make_head(k, Z.shape[1])
        init_labels = self._init_head(head, Z, k, head_seed)
        return self._join(ae, head.to(device)), init_labels.to(device)

    def _init_head(self, head: nn.Module, Z: np.ndarray, k: int, head_seed: int) -> torch.Tensor:
        """Set the head's start from the codes ``Z``; return its labels (n,). The default: the
        head's own ``init_from_embedding`` (k-means for the centre heads)."""
        return head.init_from_embedding(torch.from_numpy(Z), np.random.default_rng(head_seed))

    def _join(self, autoencoder: nn.Module, head: nn.Module) -> nn.Module:  # pragma: no cover
        raise NotImplementedError

    def _clustering_phase(self, module: nn.Module, X: "torch.Tensor | DiskArray", init_labels: torch.Tensor, autocast_dtype: torch.dtype | None = None) -> ClusteringPhase:  # pragma: no cover
        raise NotImplementedError

    #: The clustering phase trains the decoder on the squared error (IDEC, DCN; not DEC).
    _squared_error_decoder = True

    def _pretrained(self, emb) -> None:
        """Refuse an embedding without the network this method fine-tunes, or whose decoder
        was trained as Bernoulli logits when this method reads it as a squared-error output."""
        if not isinstance(getattr(emb, "autoencoder_", None), Autoencoder):
            raise ValueError(
                f"{type(self).__name__} fine-tunes a deterministic autoencoder, but the embedding {type(emb).__name__} has none; "
                "pass an AutoencoderEmbedding (or the path of a saved one)"
            )
        if self._squared_error_decoder and emb.autoencoder_.output != "linear":
            raise ValueError(
                f"{type(self).__name__} trains the decoder on the squared error, but the pretrained autoencoder's decoder "
                f"gives Bernoulli logits (recon='bce'); pretrain with AutoencoderEmbedding(recon='mse')"
            )

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Pretrain the embedding, initialise the head on its codes, fine-tune; ``y`` is ignored.

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
        X, k = self._start_fit(X)
        rng = seed_stream(self.random_state)
        emb_seed, head_seed, train_seed = draw_seed(rng), draw_seed(rng), draw_seed(rng)
        emb, Z = self._fit_embedding(X, emb_seed)
        self._pretrained(emb)
        device = next(emb.autoencoder_.parameters()).device
        autocast = resolve_precision(getattr(emb, "precision", "float32"), device)
        streaming = isinstance(X, DiskArray)
        Xt = X if streaming else to_tensor(X, device)
        # Inside the seeded block: layers built for the module and any noise in training draw
        # from a forked copy of the global torch RNG.
        with torch_seeded(train_seed, device) as gen:
            module, init_labels = self._build_module(emb, Z, k, head_seed, device)
            phase = self._clustering_phase(module, Xt, init_labels, autocast)
            data = BlockBatches(X, device) if streaming else (Xt,)
            state = phase.run(module, data, generator=gen, batch_size=self.batch_size, autocast_dtype=autocast, verbose=self.verbose, desc=self._desc)
        self.embedding_ = self._fitted_embedding(emb, module, X.shape[1], state)
        self.head_ = self._head_of(module).cpu().eval()
        self.n_features_in_ = X.shape[1]
        self.n_iter_ = int(state.step)
        self.stop_reason_ = state.why_stopped()
        self.init_labels_ = init_labels.cpu().numpy().astype(np.int64)  # the head's start, for what fine-tuning changed
        pretrain_history = {f"pretrain_{key}": list(v) for key, v in getattr(emb, "history_", {}).items()}
        self.history_ = {**pretrain_history, **plain_history(state.history), **plain_history(phase.history)}
        self._set_fitted(self.embedding_.transform(X))
        return self

    def _fitted_embedding(self, emb, module: nn.Module, n_features: int, state: TrainState):
        """The embedding estimator holding the fine-tuned network."""
        emb.autoencoder_ = module.autoencoder.eval()
        return emb

    @staticmethod
    def _head_of(module: nn.Module) -> nn.Module:
        return module.head

    def _set_fitted(self, Z: np.ndarray) -> None:
        """``labels_`` from the head on the final training codes, through predict's own path."""
        self.labels_ = self._predict_codes(Z)
        self.cluster_centers_ = self.head_.centers.detach().cpu().numpy().astype(np.float32, copy=True)

    # -- inference --------------------------------------------------------------------------
    def _predict_codes(self, Z: np.ndarray) -> np.ndarray:
        return head_in_chunks(self.head_.predict, Z).numpy().astype(np.int64)

    def predict_proba(self, X) -> np.ndarray:
        """The head's soft assignments (n_samples, n_clusters); rows sum to one."""
        Z = self.transform(X)  # checks that the model is fitted
        return head_in_chunks(self.head_.soft_assign, Z).numpy().astype(np.float32)

    # -- persistence ------------------------------------------------------------------------
    def _extra_state(self):
        meta = {
            "n_clusters": int(self.head_.n_clusters),
            "latent_dim": int(self.head_.latent_dim),
            "n_iter": int(self.n_iter_),
            "stop_reason": self.stop_reason_,
            "history": self.history_,
        }
        return meta, {**prefixed_head(self.head_), "init_labels": self.init_labels_}

    def _restore_extra(self, meta, arrays):
        head = self._make_head(int(meta["n_clusters"]), int(meta["latent_dim"]))
        self.head_ = load_head(head, unprefixed("head", arrays))
        self.cluster_centers_ = self.head_.centers.detach().numpy().astype(np.float32, copy=True)
        self.n_iter_ = int(meta["n_iter"])
        self.stop_reason_ = meta.get("stop_reason")
        self.history_ = meta.get("history", {})
        if "init_labels" in arrays:  # models saved before init_labels_ existed have none
            self.init_labels_ = np.asarray(arrays["init_labels"], dtype=np.int64)


def prefixed_head(head: nn.Module) -> dict[str, np.ndarray]:
    """A head's weights under the ``head/`` prefix every saved clustering model uses."""
    return prefixed("head", head_arrays(head))
