"""One base for the estimators that are an embedding plus a clusterer.

DEC/IDEC/DCN/VaDE (a head on a fine-tuned network), SCAN (a head on a fixed embedding),
AutoencoderClustering, N2D, Leiden and the raw baselines all: validate parameters (declared
``_parameter_constraints``), validate ``X``, resolve the embedding (an estimator to fit, the
path of a saved one, or none), map new data into the space the clusters live in
(:meth:`EmbeddingClusterer.transform`), label it there (``_predict_codes``), and save/load as
JSON + safetensors. Those steps are written here once; each method file keeps its maths.

The on-disk layout is the one every class used before this base existed (``embedding/*``,
``labels`` and ``n_features_in`` are common; the rest is each class's own), so models saved
earlier load unchanged.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from deepclust.methods._base import Float32OutputMixin, check_array_2d
from deepclust.methods._clusterers import Assigner, has_predict_proba
from deepclust.methods._params import Interval
from deepclust.methods._persist import SavableMixin, load_model, nested_state, prefixed, restore_nested, unprefixed
from deepclust.datasets import as_input_for
from deepclust.methods.streaming import check_array_or_disk

CHUNK = 4096  # rows per forward pass of a head over a whole data set


def check_n_clusters(n_clusters, n_samples: int, *, X: np.ndarray | None = None) -> int:
    """Validate the number of clusters against the data size (and, given ``X``, its content).

    Raises
    ------
    ValueError
        ``n_clusters`` is not an integer in [2, n_samples], or every row of ``X`` is the same
        (a constant data set has no clusters; typically a column mix-up or an empty export).
    """
    if not isinstance(n_clusters, (int, np.integer)) or isinstance(n_clusters, bool):
        raise ValueError(f"n_clusters must be an integer, got {n_clusters!r}")
    if n_clusters < 2:
        raise ValueError(f"n_clusters must be at least 2, got {n_clusters}")
    if n_clusters > n_samples:
        raise ValueError(f"n_clusters={n_clusters} is larger than the number of samples ({n_samples})")
    if X is not None:
        check_distinct_rows(X, int(n_clusters))
    return int(n_clusters)


def check_distinct_rows(X: np.ndarray, n_clusters: int = 2) -> None:
    """Refuse a data set whose rows are all identical: there is nothing to cluster.

    Typically a column mix-up or an empty export. Rows 0 and 1 differ in almost every data
    set, so that comparison comes first and keeps the check cheap.
    """
    if X.shape[0] > 1 and not (X[1] != X[0]).any() and bool((X == X[:1]).all()):
        raise ValueError(
            f"all {X.shape[0]} rows of X are identical, so there is nothing to cluster; expected data with at least "
            f"{int(n_clusters)} distinct rows (check the columns that were read)"
        )


def fit_embedding(embedding, seed: int, X: np.ndarray):
    """Fit the representation and return ``(fitted estimator, codes of X)``.

    ``embedding`` is None (the default :class:`AutoencoderEmbedding`), an unfitted transformer
    (cloned, seeded if unseeded, fitted), or the path of a saved, already trained embedding
    (warm start: loaded and used as is, so one pretraining serves many methods).
    """
    if isinstance(embedding, (str, os.PathLike)):
        est = load_model(embedding)
        if not hasattr(est, "transform") or not hasattr(est, "n_features_in_") or hasattr(est, "labels_"):
            raise ValueError(f"{str(embedding)!r} holds a {type(est).__name__}, not a pretrained embedding")
        if est.n_features_in_ != X.shape[1]:
            raise ValueError(f"pretrained embedding {str(embedding)!r} expects {est.n_features_in_} features, the data have {X.shape[1]}")
        return est, np.asarray(est.transform(as_input_for(est, X)), dtype=np.float32)
    if embedding is None:
        from deepclust.methods.embedding import AutoencoderEmbedding

        embedding = AutoencoderEmbedding()
    est = clone(embedding)
    if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
        est.set_params(random_state=seed)
    Z = est.fit_transform(as_input_for(est, X))
    return est, np.asarray(Z, dtype=np.float32)


class EmbeddingClusterer(SavableMixin, Float32OutputMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """Base class: fit an embedding, cluster in it, label new points there. Not for direct use.

    Subclasses set ``_parameter_constraints`` and implement ``fit`` (with
    :meth:`_start_fit` and :meth:`_fit_embedding`), ``_predict_codes(Z) -> labels`` and, to
    save more than the common state, ``_extra_state()`` / ``_restore_extra(meta, arrays)``.

    Class attributes
    ----------------
    _reads_disk_input : bool
        True: ``X`` may be data on disk (a ``.npy`` path, a memmap, ...), streamed to the
        embedding; False: ``X`` is read into memory and checked as a 2-D array.
    _has_embedding : bool
        False for estimators that cluster the input itself (no ``embedding_``).
    """

    _parameter_constraints: dict = {}
    _reads_disk_input = True
    _has_embedding = True

    # -- fitting --------------------------------------------------------------------------
    def _validate_params(self) -> None:
        """scikit-learn's declared checks, and no ``True``/``False`` where a number is meant
        (``bool`` is an ``int`` to Python, so ``Interval`` alone would take ``epochs=True``)."""
        super()._validate_params()
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) and all(isinstance(c, Interval) for c in constraints):
                raise ValueError(f"The {name!r} parameter of {type(self).__name__} must be a number, got {value!r}")

    def _check_input(self, X, **kwargs):
        """Validated ``X``: an in-memory float32 array, or a :class:`DiskArray` when streamed."""
        check = check_array_or_disk if self._reads_disk_input else check_array_2d
        return check(X, **kwargs)

    def _start_fit(self, X, *, n_clusters=None):
        """Validate the parameters, ``X`` and ``n_clusters``; return ``(X, k)``.

        ``n_clusters`` defaults to ``self.n_clusters``; None (Leiden without a target) gives
        ``k = None``. Data on disk are not read twice to look for identical rows.
        """
        self._validate_params()
        X = self._check_input(X, min_samples=2)
        n_clusters = self.n_clusters if n_clusters is None else n_clusters
        k = None if n_clusters is None else check_n_clusters(n_clusters, X.shape[0], X=X if isinstance(X, np.ndarray) else None)
        return X, k

    def _default_embedding(self):
        """The embedding used when ``embedding=None`` (subclasses swap it)."""
        from deepclust.methods.embedding import AutoencoderEmbedding

        return AutoencoderEmbedding()

    def _embedding_to_fit(self, default=None):
        """The embedding :meth:`fit` pretrains (or the path it loads): ``self.embedding``, or
        ``default`` (else :meth:`_default_embedding`) when it is None. Shared pretraining in
        the benchmarks asks for it too, so a method that adjusts its embedding (VaDE's
        likelihood) gets the same pretraining there."""
        if self.embedding is None:
            return self._default_embedding() if default is None else default
        return self.embedding

    def _fit_embedding(self, X, seed: int, default=None):
        """``(fitted embedding, codes of X)`` of :meth:`_embedding_to_fit`; a path loads a
        saved, fitted one."""
        return fit_embedding(self._embedding_to_fit(default), seed, X)

    # -- inference ------------------------------------------------------------------------
    def transform(self, X) -> np.ndarray:
        """The representation the clusters live in: (n_samples, n_components) float32."""
        check_is_fitted(self, "labels_")
        X = self._check_input(X, n_features=self.n_features_in_, owner=type(self).__name__)
        return self._embed(X)

    def _embed(self, X) -> np.ndarray:
        """Validated ``X`` -> the clustered representation (override to add a step, e.g. UMAP)."""
        if not self._has_embedding:
            return X
        return np.asarray(self.embedding_.transform(as_input_for(self.embedding_, X)), dtype=np.float32)

    def predict(self, X) -> np.ndarray:
        """Cluster labels (n_samples,) for new data; ``predict(X_train)`` equals ``labels_``."""
        check_is_fitted(self, "labels_")
        return self._predict_codes(self.transform(X))

    def _predict_codes(self, Z: np.ndarray) -> np.ndarray:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def assigns_to_nearest_center(self) -> bool:
        """Whether labels are the nearest cluster centre in :meth:`transform`'s space.

        Callers (plots, reports) ask this instead of matching class names: True for a
        k-means assigner and for heads with ``assigns_to_nearest_center`` (DEC, IDEC, DCN).
        """
        assigner = getattr(self, "_assigner", None)
        if assigner is not None:
            return assigner.kind == "centroids"
        head = getattr(self, "head_", None)
        return bool(getattr(head, "assigns_to_nearest_center", False))

    # -- persistence ----------------------------------------------------------------------
    def _save_state(self):
        meta, arrays = self._extra_state()
        meta = {"n_features_in": int(self.n_features_in_), **meta}
        arrays = {**arrays, "labels": self.labels_}
        if self._has_embedding:
            emb_meta, emb_arrays = nested_state(self.embedding_)
            meta = {"embedding": emb_meta, **meta}
            arrays = {**prefixed("embedding", emb_arrays), **arrays}
        return meta, arrays

    def _load_state(self, meta, arrays):
        if self._has_embedding:
            self.embedding_ = restore_nested(meta["embedding"], unprefixed("embedding", arrays))
        self.labels_ = np.asarray(arrays["labels"], dtype=np.int64)
        self.n_features_in_ = int(meta["n_features_in"])
        self._restore_extra(meta, arrays)

    def _extra_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The class's own metadata and arrays, next to the common ones."""
        return {}, {}

    def _restore_extra(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        """Inverse of :meth:`_extra_state`."""


def _has_predict_proba(est) -> bool:
    # predict_proba exists only for probabilistic clusterers, so hasattr() tells the truth.
    return has_predict_proba(est, default=est._default_is_probabilistic)


class AssignerClusterer(EmbeddingClusterer):
    """An :class:`EmbeddingClusterer` whose labels come from a scikit-learn clusterer.

    The fitted clusterer is kept as an :class:`~deepclust.methods._clusterers.Assigner`
    (``_assigner``), saved as plain arrays under ``assigner/*``.
    """

    _default_is_probabilistic = False  # does clusterer=None mean a mixture model?

    def _predict_codes(self, Z: np.ndarray) -> np.ndarray:
        return self._assigner.predict(Z)

    @available_if(_has_predict_proba)
    def predict_proba(self, X) -> np.ndarray:
        """Cluster probabilities (n_samples, n_clusters); needs a probabilistic clusterer ("gmm")."""
        check_is_fitted(self, "labels_")
        return self._assigner.predict_proba(self.transform(X))

    def _extra_state(self):
        a_meta, a_arrays = self._assigner.state()
        arrays = prefixed("assigner", a_arrays)
        if getattr(self, "cluster_centers_", None) is not None:  # N2D has none
            arrays["centers"] = self.cluster_centers_
        return {"assigner": a_meta}, arrays

    def _restore_extra(self, meta, arrays):
        self._assigner = Assigner.from_state(meta["assigner"], unprefixed("assigner", arrays))
        self.clusterer_ = self._assigner.estimator
        if "centers" in arrays:
            self.cluster_centers_ = arrays["centers"]


# -- heads on codes -------------------------------------------------------------------------
def head_arrays(head: torch.nn.Module) -> dict[str, np.ndarray]:
    """A head's state dict as numpy arrays (for safetensors)."""
    return {key: v.detach().cpu().numpy() for key, v in head.state_dict().items()}


def load_head(head: torch.nn.Module, arrays: dict[str, np.ndarray]) -> torch.nn.Module:
    """Load saved ``arrays`` into a freshly built ``head``; a size mismatch is a ValueError."""
    try:
        head.load_state_dict({key: torch.from_numpy(v.copy()) for key, v in arrays.items()})
    except RuntimeError as exc:
        raise ValueError(f"saved head weights do not match the saved head sizes: {exc}") from None
    return head.eval()


@torch.no_grad()
def head_in_chunks(fn, Z: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    """Apply a head function (``predict`` or ``soft_assign``) to codes ``Z`` in fixed chunks.

    Fixed chunks make a row's result independent of how the caller batched the data, so
    ``predict(X_train)`` reproduces ``labels_`` bit for bit. Returns a CPU tensor.
    """
    z = torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float32))
    parts = [fn(z[i : i + CHUNK] if device is None else z[i : i + CHUNK].to(device)).cpu() for i in range(0, z.shape[0], CHUNK)]
    return torch.cat(parts)


def plain_history(history: dict) -> dict:
    """History as JSON-ready Python numbers (saved with the model); nested dicts stay nested."""
    return {key: plain_history(v) if isinstance(v, dict) else [x.item() if hasattr(x, "item") else x for x in v] for key, v in history.items()}


def store_params(estimator, params: dict) -> None:
    """scikit-learn's ``__init__`` rule: store each constructor argument unchanged under its name.

    Called as ``store_params(self, locals())`` first thing in ``__init__``, so the parameter
    list is written once (in the signature) instead of once more as assignments.
    """
    for name, value in params.items():
        if name != "self":
            setattr(estimator, name, value)
