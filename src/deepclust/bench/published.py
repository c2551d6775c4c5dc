"""Published numbers our benchmarks are compared with (``../shared/REFERENCE_RESULTS.md``).

Keys are (dataset, method) in deepclust's names; values hold ACC / NMI / ARI where the source
gives them, and the source.
"""

from __future__ import annotations

_N2D = "McConville et al. 2020 (N2D), Table II"
_N2D_ABL = "McConville et al. 2020 (N2D), Table I (AE + GMM, no UMAP)"
_DECK = "DEC-keras README (re-implementation, mean of 10 runs)"

PUBLISHED: dict[tuple[str, str], dict] = {}


def _add(dataset: str, method: str, acc=None, nmi=None, ari=None, source: str = "") -> None:
    PUBLISHED[(dataset, method)] = {"acc": acc, "nmi": nmi, "ari": ari, "source": source}


for _ds, _vals in {
    "mnist": {"kmeans": (.532, .450), "gmm": (.389, .333), "dcn": (.830, .810), "dec": (.863, .834), "idec": (.881, .867), "vade": (.945, .876), "n2d": (.979, .942)},
    "mnist-test": {"kmeans": (.546, .501), "gmm": (.464, .465), "dcn": (.802, .786), "dec": (.856, .830), "idec": (.846, .802), "vade": (.287, .287), "n2d": (.948, .882)},
    "usps": {"kmeans": (.668, .626), "gmm": (.562, .540), "dcn": (.688, .683), "dec": (.762, .767), "idec": (.761, .785), "vade": (.566, .512), "n2d": (.958, .901)},
    "fashion-mnist": {"kmeans": (.474, .512), "gmm": (.463, .514), "dcn": (.501, .558), "dec": (.518, .546), "idec": (.529, .557), "vade": (.578, .630), "n2d": (.672, .684)},
}.items():
    for _m, (_acc, _nmi) in _vals.items():
        _add(_ds, _m, _acc, _nmi, source=_N2D)
_add("mnist", "ae-gmm", .809, .835, source=_N2D_ABL)
_add("usps", "ae-gmm", .707, .705, source=_N2D_ABL)
_add("fashion-mnist", "ae-gmm", .569, .591, source=_N2D_ABL)
_add("mnist", "ae-kmeans", .879, .807, .783, _DECK)
_add("fashion-mnist", "ae-kmeans", .606, .637, .474, _DECK)
_add("usps", "ae-kmeans", .709, .684, .588, _DECK)
_add("mnist", "umap-gmm", .969, .920, .932, "measured on a 2-core machine of this kind (REFERENCE_RESULTS.md, orientation)")


def published(dataset: str, method: str, extra: list[dict] | None = None) -> dict | None:
    """The published row for (dataset, method): a config's ``[[published]]`` entries first."""
    for p in extra or []:
        if p.get("dataset") == dataset and p.get("method") == method:
            return p
    return PUBLISHED.get((dataset, method))
