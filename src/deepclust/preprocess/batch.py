"""Per-batch centring and scaling: the simplest batch-effect correction.

Each feature is shifted so that every batch has the same mean (the overall mean), and with
``scale=True`` also stretched so that every batch has the same spread (the pooled
within-batch standard deviation). It removes additive (and multiplicative) plate or run
effects when the biology is balanced over the batches, which a randomised design ensures;
when a biological group sits mostly in one batch, it removes biology too: use
:class:`~deepclust.preprocess.combat.ComBat` with that covariate preserved instead.
"""

from __future__ import annotations

import numpy as np

from deepclust.preprocess._base import PreprocessStep, check_groups, check_table, register_step


def batch_index(batches_seen: list[str], batch, n_samples: int, owner: str) -> np.ndarray:
    """Row of each sample's batch in ``batches_seen``; an unseen batch is a clear error."""
    labels = check_groups(batch, n_samples, what="batch", owner=owner)
    lookup = {b: i for i, b in enumerate(batches_seen)}
    unseen = sorted({b for b in labels if b not in lookup})
    if unseen:
        shown = ", ".join(repr(b) for b in batches_seen[:20]) + (" ..." if len(batches_seen) > 20 else "")
        raise ValueError(
            f"{owner}: batch {unseen[0]!r} was not seen when fitting ({len(unseen)} unseen batch(es)); a batch effect can "
            f"only be removed for the batches it was estimated on: {shown}. Refit including these samples"
        )
    return np.array([lookup[b] for b in labels], dtype=np.int64)


@register_step
class BatchCenterer(PreprocessStep):
    """Centre (and optionally scale) every feature within each batch.

    Parameters
    ----------
    scale : bool, default=False
        Also give every batch the pooled within-batch standard deviation.
    batch_key : str or None, default=None
        The metadata column holding the batch, when used in a
        :class:`~deepclust.preprocess.Preprocessor`; direct callers pass ``batch=`` instead.

    Attributes
    ----------
    batches_ : list of str
    means_, stds_ : ndarray of shape (n_batches, n_features)
    grand_mean_, pooled_std_ : ndarray of shape (n_features,)

    Examples
    --------
    >>> X = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> BatchCenterer().fit_transform(X, batch=["a", "a", "b", "b"]).ravel()
    array([5., 7., 5., 7.])
    """

    _fitted_arrays = ("means_", "stds_", "grand_mean_", "pooled_std_")
    _fitted_values = ("batches_",)

    def __init__(self, scale: bool = False, batch_key: str | None = None) -> None:
        self.scale = scale
        self.batch_key = batch_key

    def covariate_columns(self):
        return {"batch": self.batch_key}

    def fit(self, X, y=None, *, batch=None):
        X = check_table(X)
        labels = check_groups(batch, X.shape[0], what="batch", owner="BatchCenterer")
        self.batches_ = sorted(set(labels.tolist()))
        idx = np.array([self.batches_.index(b) for b in labels])
        means = np.stack([np.nanmean(X[idx == i], axis=0) for i in range(len(self.batches_))])
        stds = np.stack([np.nanstd(X[idx == i], axis=0) for i in range(len(self.batches_))])
        resid = X - means[idx]
        self.grand_mean_ = np.nanmean(X, axis=0)
        self.pooled_std_ = np.sqrt(np.nanmean(resid**2, axis=0))
        self.means_, self.stds_ = means, np.where(stds > 0, stds, 1.0)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X, *, batch=None):
        X = check_table(X, n_features=self.n_features_in_, owner="BatchCenterer")
        idx = batch_index(list(self.batches_), batch, X.shape[0], "BatchCenterer")
        out = X - self.means_[idx]
        if self.scale:
            out = out / self.stds_[idx] * self.pooled_std_
        return out + self.grand_mean_

    def fit_transform(self, X, y=None, *, batch=None):
        return self.fit(X, batch=batch).transform(X, batch=batch)
