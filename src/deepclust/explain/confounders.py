"""Do the clusters follow the measurement (batch, plate, run order) rather than the biology?

After clustering a table, :func:`confounder_check` tests the association of the labels with
every covariate the user marks as *technical* and every one marked *biological*
(:mod:`deepclust.explain.associations`), and warns when the clusters track a technical factor
more strongly than any biological one: the classic sign that a batch effect, not biology,
shaped the clusters (Leek et al. 2010).

To compare a categorical with a numeric covariate, strengths are put on one 0-1 scale:
Cramér's V for categorical covariates and the correlation ratio eta = sqrt(eta²) for numeric
ones (for a two-level covariate V equals the correlation ratio of its 0/1 coding on the
clusters, so the two measure the same thing there). Only associations significant at ``alpha`` after a Bonferroni correction over all
tested covariates count.

References
----------
Leek et al. (2010). Tackling the widespread and critical impact of batch effects in
high-throughput data. Nature Reviews Genetics 11:733-739.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from deepclust.explain.associations import categorical_association, numeric_association

KINDS = ("categorical", "numeric")
MAX_LEVELS = 20  # integer-coded covariates with at most this many values are categories (plates)


class ConfounderWarning(UserWarning):
    """The clusters track a technical covariate more strongly than any biological one."""


def _split(name: str) -> tuple[str, str | None]:
    """``"plate:categorical"`` -> ("plate", "categorical")."""
    base, sep, kind = name.rpartition(":")
    if sep and kind in KINDS:
        return base, kind
    if sep and kind in ("cat", "num"):
        return base, {"cat": "categorical", "num": "numeric"}[kind]
    return name, None


def covariate_kind(values: pd.Series) -> str:
    """"categorical" for text, booleans, categories and integer codes with at most
    :data:`MAX_LEVELS` values (plate 1..18, cohort 1..6); "numeric" otherwise."""
    s = values.dropna()
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return "categorical"
    x = s.to_numpy(dtype=np.float64)
    if np.all(np.equal(np.mod(x, 1), 0)) and np.unique(x).size <= MAX_LEVELS:
        return "categorical"
    return "numeric"


def parse_covariates(text: str | Sequence[str] | None) -> list[str]:
    """``"plate_batch,run_order"`` or a list -> list of names (each may end in ``:categorical``
    or ``:numeric`` to override the guess)."""
    if text is None:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    return [str(i).strip() for i in items if str(i).strip()]


def confounder_check(
    labels,
    metadata: pd.DataFrame,
    *,
    technical: Sequence[str] = (),
    biological: Sequence[str] = (),
    alpha: float = 0.05,
    warn: bool = True,
) -> dict:
    """Test the clusters against technical and biological covariates.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
    metadata : DataFrame with n_samples rows, aligned with ``labels``
    technical, biological : sequence of str
        Column names; ``"name:categorical"`` or ``"name:numeric"`` overrides the guess of
        :func:`covariate_kind`.
    alpha : float, default=0.05
        Family-wise significance level (Bonferroni over all tested covariates).
    warn : bool, default=True
        Also emit the warning with :func:`warnings.warn` (:class:`ConfounderWarning`).

    Returns
    -------
    dict
        ``{"associations": [{covariate, role, kind, test, statistic, p_value, effect_size,
        measure, strength, n}, ...], "warning": str}``; ``"warning"`` is absent when the
        clusters follow no technical covariate more than the biology.

    Examples
    --------
    >>> import pandas as pd
    >>> meta = pd.DataFrame({"plate": [1, 1, 2, 2] * 25, "sex": ["f", "m"] * 50})
    >>> out = confounder_check([0, 0, 1, 1] * 25, meta, technical=["plate"], biological=["sex"], warn=False)
    >>> out["warning"].split(" (")[0]
    "the clusters track the technical covariate 'plate'"
    """
    labels = np.asarray(labels).reshape(-1)
    if metadata is None:
        raise ValueError("the confounder check needs per-sample metadata (a covariates table)")
    if len(metadata) != labels.shape[0]:
        raise ValueError(f"metadata has {len(metadata)} rows but there are {labels.shape[0]} labels")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    rows = []
    for role, names in (("technical", technical), ("biological", biological)):
        for raw in parse_covariates(names):
            name, kind = _split(raw)
            if name not in metadata.columns:
                import difflib

                hint = difflib.get_close_matches(name, [str(c) for c in metadata.columns], n=1)
                more = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(f"{role} covariate {name!r} is not a metadata column{more}; available: {', '.join(map(str, metadata.columns))}")
            values = metadata[name].reset_index(drop=True)
            kind = kind or covariate_kind(values)
            if kind == "categorical":
                stat, p, effect = categorical_association(labels, values)
                test, measure, strength = "chi-square", "cramers_v", effect
            else:
                numeric = pd.to_numeric(values, errors="coerce")
                if numeric.notna().sum() < values.notna().sum():
                    raise ValueError(f"covariate {name!r} was marked numeric but holds text values such as {values[numeric.isna() & values.notna()].iloc[0]!r}")
                stat, p, effect = numeric_association(labels, numeric)
                test, measure, strength = "kruskal-wallis", "eta_squared", float(np.sqrt(effect))
            rows.append({
                "covariate": name, "role": role, "kind": kind, "test": test, "statistic": stat, "p_value": p,
                "effect_size": effect, "measure": measure, "strength": strength, "n": int(values.notna().sum()),
            })
    out: dict = {"associations": rows}
    message = _warning(rows, alpha)
    if message:
        out["warning"] = message
        if warn:
            warnings.warn(message, ConfounderWarning, stacklevel=2)
    return out


def _warning(rows: list[dict], alpha: float) -> str | None:
    if not rows:
        return None
    threshold = alpha / len(rows)
    tech = [r for r in rows if r["role"] == "technical" and r["p_value"] < threshold]
    if not tech:
        return None
    top = max(tech, key=lambda r: r["strength"])
    bio = [r for r in rows if r["role"] == "biological"]
    bio_sig = [r for r in bio if r["p_value"] < threshold]
    best_bio = max(bio_sig, key=lambda r: r["strength"]) if bio_sig else None
    if best_bio is not None and best_bio["strength"] >= top["strength"]:
        return None
    what = f"the clusters track the technical covariate {top['covariate']!r} ({_describe(top)})"
    if best_bio is not None:
        what += f" more strongly than any biological one (the strongest, {best_bio['covariate']!r}: {_describe(best_bio)})"
    elif bio:
        what += f", while no biological covariate ({', '.join(repr(r['covariate']) for r in bio)}) is significantly associated"
    else:
        what += "; no biological covariate was given to compare with"
    if top["kind"] == "categorical":
        advice = f"consider a batch correction (--preprocess combat:batch={top['covariate']})"
    else:  # run order, sampling time: no batches to correct, and often tied to the biology
        advice = "a numeric factor has no batches to correct: check whether it is tied to the biology before removing it"
    return what + f"; they may reflect how the samples were measured rather than biology: {advice}"


def _describe(row: dict) -> str:
    name = "Cramér's V" if row["measure"] == "cramers_v" else "eta"
    return f"{name} {row['strength']:.2f}, p={row['p_value']:.1e}"
