"""Record a 2-D view of the embedding of a fixed subsample after every training epoch.

:class:`EmbeddingSnapshots` is a training callback meant to be used as an observer
(:func:`deepclust.train.observe_training`) around an estimator's ``fit``: it encodes the same
rows after each epoch of every training phase (pretraining, then clustering), projects the
codes on their first two principal components and rotates each frame onto the previous one
(orthogonal Procrustes) so that the animation does not flip or spin between epochs.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import orthogonal_procrustes

from deepclust.methods._base import to_tensor
from deepclust.train import Callback, TrainState

__all__ = ["EmbeddingSnapshots"]


def _encoder(module):
    """The encoding function of a training module, or None when it has none."""
    if hasattr(module, "encode"):
        return module.encode
    if isinstance(module, torch.nn.ModuleDict):  # a network and its clustering head: the part that encodes
        for part in module.values():
            if hasattr(part, "encode"):
                return part.encode
    return None


class EmbeddingSnapshots(Callback):
    """Collect (epoch, 2-D coordinates) of ``X[index]`` during training.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The data as the network sees it (after scaling).
    max_points : int, default=2000
        Size of the fixed random subsample recorded.
    random_state : int, default=0
        Seed of the subsample.
    max_frames_per_phase : int, default=100
        Long phases (DEC's clustering phase can run thousands of short epochs) are recorded
        every ``ceil(epochs / max_frames_per_phase)`` epochs, plus their last epoch.

    Attributes
    ----------
    index : ndarray of shape (n_points,)
        Rows of ``X`` recorded, sorted.

    Examples
    --------
    >>> import numpy as np
    >>> from deepclust.methods import AutoencoderEmbedding
    >>> from deepclust.train import observe_training
    >>> X = np.random.default_rng(0).random((50, 6)).astype("float32")
    >>> rec = EmbeddingSnapshots(X, max_points=20)
    >>> with observe_training(rec):
    ...     _ = AutoencoderEmbedding(latent_dim=3, hidden_dims=(8,), epochs=2, random_state=0).fit(X)
    >>> rec.arrays()["coords"].shape  # before training + 2 epochs
    (3, 20, 2)
    """

    def __init__(self, X: np.ndarray, *, max_points: int = 2000, random_state: int = 0, max_frames_per_phase: int = 100) -> None:
        n = X.shape[0]
        rng = np.random.default_rng(random_state)
        self.index = np.sort(rng.choice(n, size=min(n, max_points), replace=False))
        self._X = np.ascontiguousarray(X[self.index], dtype=np.float32)
        self._frames: list[np.ndarray] = []
        self._epochs: list[int] = []
        self._phases: list[int] = []
        self._phase = -1
        self._max = max(1, int(max_frames_per_phase))
        self._stride = 1
        self._last = None

    def on_train_begin(self, state: TrainState) -> None:
        self._phase += 1
        self._stride = max(1, -(-int(state.epochs) // self._max))
        self._last = None
        if self._phase == 0:
            self._record(state, -1)  # the untrained embedding: the animation's first frame

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self._stride == 0 or state.epoch == state.epochs - 1:
            self._record(state, state.epoch)
        self._last = state.epoch

    def on_train_end(self, state: TrainState) -> None:
        # a phase stopped early (tolerance, max_steps) still shows its final embedding
        if self._last is not None and (not self._epochs or self._epochs[-1] != self._last or self._phases[-1] != self._phase):
            self._record(state, self._last)

    @torch.no_grad()
    def _record(self, state: TrainState, epoch: int) -> None:
        module = state.module
        encode = _encoder(module)
        if encode is None:
            return
        device = next(module.parameters()).device
        was_training = module.training
        module.eval()
        try:
            z = encode(to_tensor(self._X, device))
        finally:
            module.train(was_training)
        z = (z[0] if isinstance(z, (tuple, list)) else z).float().cpu().numpy().astype(np.float64)  # (n, latent)
        self._frames.append(self._project(z))
        self._epochs.append(int(epoch))
        self._phases.append(self._phase)

    def _project(self, z: np.ndarray) -> np.ndarray:
        z = z - z.mean(axis=0)
        if z.shape[1] == 1:
            z = np.c_[z, np.zeros_like(z)]
        if z.shape[1] > 2:
            _, _, vt = np.linalg.svd(z, full_matrices=False)
            z = z @ vt[:2].T  # (n, 2) first two principal components
        if self._frames:
            R, _ = orthogonal_procrustes(z, self._frames[-1])
            z = z @ R
        return z.astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        """``coords`` (n_frames, n_points, 2), ``epoch`` and ``phase`` (n_frames,), ``index`` (n_points,)."""
        coords = np.stack(self._frames) if self._frames else np.zeros((0, self.index.shape[0], 2), np.float32)
        return {
            "coords": coords,
            "epoch": np.asarray(self._epochs, dtype=np.int64),
            "phase": np.asarray(self._phases, dtype=np.int64),
            "index": self.index.astype(np.int64),
        }
