"""Clustering metrics.

External metrics compare clusters with reference classes: :func:`cluster_accuracy` (ACC with
Hungarian matching), :func:`nmi`, :func:`ari`, :func:`ami`, :func:`purity`. Internal metrics
judge clusters from the data alone: :func:`silhouette`, :func:`davies_bouldin`,
:func:`calinski_harabasz`. :func:`evaluate` computes all that apply.
"""

from deepclust.metrics._evaluate import evaluate
from deepclust.metrics._external import ami, ari, cluster_accuracy, hungarian_mapping, nmi, purity
from deepclust.metrics._internal import calinski_harabasz, davies_bouldin, silhouette

__all__ = [
    "cluster_accuracy",
    "purity",
    "nmi",
    "ari",
    "ami",
    "hungarian_mapping",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "evaluate",
]
