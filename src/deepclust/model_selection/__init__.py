"""Model selection: how many clusters (:func:`select_k`) and how stable they are across seeds
(:func:`seed_stability`, consensus labels by co-association and average linkage)."""

from deepclust.model_selection.select_k import DEFAULT_K_RANGE, RULE, SelectKResult, parse_k_range, select_k
from deepclust.model_selection.stability import (
    UNSTABLE_BELOW,
    StabilityResult,
    co_association,
    consensus_labels,
    parse_seeds,
    seed_stability,
)

__all__ = [
    "DEFAULT_K_RANGE",
    "RULE",
    "SelectKResult",
    "StabilityResult",
    "UNSTABLE_BELOW",
    "co_association",
    "consensus_labels",
    "parse_k_range",
    "parse_seeds",
    "seed_stability",
    "select_k",
]
