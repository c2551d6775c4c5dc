"""ComBat: empirical-Bayes location/scale batch-effect correction (Johnson, Li & Rabinovic 2007).

Model, for feature ``g`` of sample ``j`` in batch ``i``::

    Y_ijg = alpha_g + C_j beta_g + gamma_ig + delta_ig * eps_ijg

``C`` holds the biological covariates to preserve. The additive (gamma) and multiplicative
(delta) batch effects of all features of a batch are shrunk towards common priors (normal
for gamma, inverse gamma for delta, hyper-parameters by the method of moments), which keeps
the correction stable for small batches, then removed.

Why written here rather than imported: the maintained implementations (``inmoose``'s
pycombat, GPL, heavy, no fitted model to apply to new samples; ``combatlearn``, MIT, but
pulling in plotly, seaborn and nbformat and keeping its fit as Python objects) do not give a
small, pickle-free state that ``deepclust predict`` can replay; ``combatlearn`` also estimates
the priors across batches per feature rather than across features per batch as the paper
does. ``neuroCombat`` (MIT, a port of the authors' R code, unmaintained since 2021) has no
model to apply to new samples. ``tests/test_combat.py`` cross-checks this implementation
against ``neuroCombat`` when that is installed (agreement to the convergence tolerance).

References
----------
Johnson, Li & Rabinovic (2007). Adjusting batch effects in microarray expression data using
empirical Bayes methods. Biostatistics 8(1):118-127.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd

from deepclust.preprocess._base import PreprocessStep, check_groups, check_table, register_step
from deepclust.preprocess.batch import batch_index


@register_step
class ComBat(PreprocessStep):
    """Parametric empirical-Bayes ComBat, fitted once and replayable on new samples.

    Parameters
    ----------
    batch_key : str or None, default=None
        Metadata column holding the batch (plate, run) when used in a
        :class:`~deepclust.preprocess.Preprocessor`; direct callers pass ``batch=``.
    preserve : sequence of str, default=()
        Metadata columns of biological covariates whose effect is kept (sex, age, ...). In a
        Preprocessor they are read from the metadata; direct callers pass ``covariates=``, a
        DataFrame with these columns (or any DataFrame / 2-D array when ``preserve`` is
        empty). Numeric columns enter the design as they are; text or category columns as
        treatment-coded indicators (first level the reference).
    mean_only : bool, default=False
        Correct only the additive effect (gamma), leaving each batch's variance alone.
    max_iter : int, default=1000
    tol : float, default=1e-4
        The posterior of each batch is iterated until the largest relative change of gamma
        and delta is below ``tol`` (the published convergence rule).

    Attributes
    ----------
    batches_ : list of str
    gamma_star_, delta_star_ : ndarray of shape (n_batches, n_features)
        Posterior additive and multiplicative batch effects (on standardised data).
    gamma_hat_, delta_hat_ : ndarray of shape (n_batches, n_features)
        Their per-batch estimates before shrinkage.
    grand_mean_, var_pooled_ : ndarray of shape (n_features,)
    beta_covariates_ : ndarray of shape (n_design_columns, n_features)
        Covariate effects, added back after the correction.
    design_ : list of dict
        How each covariate column was encoded (name, kind, levels).

    Notes
    -----
    Batch and covariates are needed again at ``transform`` time. A batch not seen at fit time
    cannot be corrected (its effect was never estimated) and raises a ValueError, as does an
    unseen level of a categorical covariate. Features with zero pooled variance pass through
    unchanged. Every batch needs at least two samples unless ``mean_only``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> batch = np.repeat(["p1", "p2"], 20)
    >>> X = rng.normal(size=(40, 5)) + np.where(batch == "p2", 3.0, 0.0)[:, None]
    >>> Xc = ComBat().fit_transform(X, batch=batch)
    >>> bool(abs(Xc[batch == "p1"].mean() - Xc[batch == "p2"].mean()) < 0.2)
    True
    """

    _fitted_arrays = ("gamma_star_", "delta_star_", "gamma_hat_", "delta_hat_", "grand_mean_", "var_pooled_", "beta_covariates_")
    _fitted_values = ("batches_", "design_", "n_iter_")

    def __init__(self, batch_key: str | None = None, preserve=(), mean_only: bool = False, max_iter: int = 1000, tol: float = 1e-4) -> None:
        self.batch_key = batch_key
        self.preserve = preserve
        self.mean_only = mean_only
        self.max_iter = max_iter
        self.tol = tol

    def covariate_columns(self):
        return {"batch": self.batch_key, "covariates": list(self.preserve)}

    # -- design -------------------------------------------------------------------------------
    def _covariate_frame(self, covariates, n: int) -> pd.DataFrame | None:
        if covariates is None:
            if list(self.preserve):
                raise ValueError(f"ComBat preserves {list(self.preserve)} but no covariates were given")
            return None
        frame = covariates.copy() if isinstance(covariates, pd.DataFrame) else pd.DataFrame(np.asarray(covariates))
        if frame.ndim != 2 or len(frame) != n:
            raise ValueError(f"ComBat: covariates have {len(frame)} rows but X has {n} samples")
        if list(self.preserve):
            missing = [c for c in self.preserve if c not in frame.columns]
            if missing:
                raise ValueError(f"ComBat: covariate column(s) {missing} not found; available: {list(frame.columns)}")
            frame = frame[list(self.preserve)]
        frame.columns = [str(c) for c in frame.columns]
        if frame.shape[1] == 0:
            return None
        return frame.reset_index(drop=True)

    @staticmethod
    def _fit_design(frame: pd.DataFrame | None) -> list[dict]:
        design = []
        for col in [] if frame is None else frame.columns:
            s = frame[col]
            if s.isna().any():
                raise ValueError(f"ComBat: covariate {col!r} is missing for sample {int(np.argmax(s.isna().to_numpy()))}")
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                design.append({"name": col, "kind": "numeric"})
            else:
                levels = sorted({_level(v) for v in s})
                design.append({"name": col, "kind": "categorical", "levels": levels})
        return design

    def _design_matrix(self, frame: pd.DataFrame | None, design: list[dict], n: int) -> np.ndarray:
        cols = []
        for spec in design:
            s = frame[spec["name"]]
            if s.isna().any():
                raise ValueError(f"ComBat: covariate {spec['name']!r} is missing for sample {int(np.argmax(s.isna().to_numpy()))}")
            if spec["kind"] == "numeric":
                cols.append(pd.to_numeric(s).to_numpy(dtype=np.float64))
                continue
            values = np.array([_level(v) for v in s], dtype=object)
            unseen = sorted(set(values) - set(spec["levels"]))
            if unseen:
                raise ValueError(f"ComBat: covariate {spec['name']!r} has level {unseen[0]!r}, not seen when fitting (known: {spec['levels']})")
            for level in spec["levels"][1:]:  # treatment coding: the first level is the reference
                cols.append((values == level).astype(np.float64))
        return np.column_stack(cols) if cols else np.zeros((n, 0))

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X, y=None, *, batch=None, covariates=None):
        """Estimate the batch effects of ``X`` (n_samples, n_features); see the class notes."""
        self._fit(X, batch, covariates)
        return self

    def fit_transform(self, X, y=None, *, batch=None, covariates=None):
        return self.fit(X, batch=batch, covariates=covariates).transform(X, batch=batch, covariates=covariates)

    def _fit(self, X, batch, covariates) -> None:
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol > 0:
            raise ValueError(f"tol must be a positive number, got {self.tol!r}")
        Y = check_table(X, allow_nan=False, owner="ComBat")
        n, d = Y.shape
        labels = check_groups(batch, n, what="batch", owner="ComBat")
        batches = sorted(set(labels.tolist()))
        if len(batches) < 2:
            raise ValueError(f"ComBat needs at least two batches; all {n} samples are in batch {batches[0]!r}")
        idx = np.array([batches.index(b) for b in labels])
        counts = np.bincount(idx, minlength=len(batches))
        if counts.min() < 2 and not self.mean_only:
            raise ValueError(
                f"ComBat: batch {batches[int(np.argmin(counts))]!r} has a single sample, so its variance cannot be estimated; "
                "merge it into another batch or use mean_only"
            )
        frame = self._covariate_frame(covariates, n)
        design = self._fit_design(frame)
        C = self._design_matrix(frame, design, n)
        B = np.eye(len(batches))[idx]  # (n, n_batches) batch indicators, no intercept
        D = np.hstack([B, C])
        if np.linalg.matrix_rank(D) < D.shape[1]:
            raise ValueError(
                "ComBat: the covariates to preserve are confounded with the batch (the design is not of full rank): "
                "a covariate that is constant within batches cannot be told apart from the batch effect"
            )
        # Standardise: least squares on batch + covariates; the grand mean weighs batches by size.
        coef, *_ = np.linalg.lstsq(D, Y, rcond=None)  # (n_batches + p, d)
        grand_mean = (counts / n) @ coef[: len(batches)]
        var_pooled = ((Y - D @ coef) ** 2).mean(axis=0)  # divided by n, as the published code
        beta_cov = coef[len(batches):]
        varying = var_pooled > 0
        sd = np.where(varying, np.sqrt(var_pooled), 1.0)
        Z = (Y - grand_mean - C @ beta_cov) / sd
        gamma_hat = np.stack([Z[idx == i].mean(axis=0) for i in range(len(batches))])
        if self.mean_only:
            delta_hat = np.ones_like(gamma_hat)
        else:
            delta_hat = np.stack([Z[idx == i].var(axis=0, ddof=1) for i in range(len(batches))])
        gamma_star, delta_star, n_iter = _posterior(Z[:, varying], idx, counts, gamma_hat[:, varying], delta_hat[:, varying], self.mean_only, int(self.max_iter), float(self.tol))
        self.gamma_hat_, self.delta_hat_ = gamma_hat, delta_hat
        self.gamma_star_ = np.zeros_like(gamma_hat)
        self.delta_star_ = np.ones_like(delta_hat)
        self.gamma_star_[:, varying], self.delta_star_[:, varying] = gamma_star, delta_star
        self.grand_mean_, self.var_pooled_, self.beta_covariates_ = grand_mean, var_pooled, beta_cov
        self.batches_, self.design_, self.n_iter_ = batches, design, n_iter
        self.n_features_in_ = d

    def transform(self, X, *, batch=None, covariates=None):
        """Remove the fitted batch effects from ``X``; ``batch`` (and ``covariates``) per sample."""
        Y = check_table(X, allow_nan=False, n_features=self.n_features_in_, owner="ComBat")
        idx = batch_index(list(self.batches_), batch, Y.shape[0], "ComBat")
        C = self._design_matrix(self._covariate_frame(covariates, Y.shape[0]) if self.design_ else None, self.design_, Y.shape[0])
        stand_mean = self.grand_mean_ + C @ self.beta_covariates_
        sd = np.where(self.var_pooled_ > 0, np.sqrt(self.var_pooled_), 1.0)
        Z = (Y - stand_mean) / sd
        return (Z - self.gamma_star_[idx]) / np.sqrt(self.delta_star_[idx]) * sd + stand_mean


def _level(v) -> str:
    if isinstance(v, numbers.Real) and not isinstance(v, bool) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _posterior(Z, idx, counts, gamma_hat, delta_hat, mean_only: bool, max_iter: int, tol: float):
    """Empirical-Bayes posterior of every batch's gamma and delta (JLR 2007, section 3.2).

    Priors across the features of a batch: gamma ~ N(gamma_bar, tau2); delta ~ InvGamma(a, b)
    with a, b by the method of moments of the delta_hat. The posterior is solved by the
    fixed-point iteration of the paper, started from the per-batch estimates.
    """
    n_batches, d = gamma_hat.shape
    gamma_star, delta_star = np.empty_like(gamma_hat), np.ones_like(delta_hat)
    if d < 2:
        raise ValueError("ComBat needs at least two features to estimate the priors across features")
    gamma_bar = gamma_hat.mean(axis=1)
    tau2 = gamma_hat.var(axis=1, ddof=1)
    n_iter = 0
    for i in range(n_batches):
        n_i = counts[i]
        if mean_only:  # delta fixed at 1; n = 1 in the posterior mean, as the authors' R code (sva) has it
            gamma_star[i] = (tau2[i] * gamma_hat[i] + gamma_bar[i]) / (tau2[i] + 1.0)
            continue
        m, s2 = delta_hat[i].mean(), delta_hat[i].var(ddof=1)
        if not s2 > 0:  # every feature has the same spread in this batch: no shrinkage of delta
            a, b = np.inf, None
        else:
            a, b = (2 * s2 + m**2) / s2, (m * s2 + m**3) / s2
        Zi = Z[idx == i]
        g_old, d_old = gamma_hat[i].copy(), delta_hat[i].copy()
        for it in range(1, max_iter + 1):
            g_new = (tau2[i] * n_i * gamma_hat[i] + d_old * gamma_bar[i]) / (tau2[i] * n_i + d_old)
            sum2 = ((Zi - g_new) ** 2).sum(axis=0)
            d_new = np.full(d, m) if b is None else (b + 0.5 * sum2) / (n_i / 2.0 + a - 1.0)
            change = max(_relative_change(g_new, g_old), _relative_change(d_new, d_old))
            g_old, d_old = g_new, d_new
            if change < tol:
                break
        else:
            warnings.warn(f"ComBat: the posterior of batch {i} did not converge in {max_iter} iterations", RuntimeWarning, stacklevel=3)
        n_iter = max(n_iter, it)
        gamma_star[i], delta_star[i] = g_old, d_old
    return gamma_star, delta_star, n_iter


def _relative_change(new: np.ndarray, old: np.ndarray) -> float:
    """Largest ``|new - old| / |old|`` over entries with ``old != 0`` (exact zeros stay put)."""
    nz = old != 0
    return float(np.max(np.abs(new[nz] - old[nz]) / np.abs(old[nz]), initial=0.0))
