"""Clustering heads on an embedding: ``nn.Module``s with ``init_from_embedding``,
``soft_assign``, ``predict`` and ``loss``. DEC/IDEC use :class:`StudentTHead`, DCN
:class:`KMeansHead`, VaDE :class:`GMMPrior`; the methods differ by head and loss weights, not by training loops."""

from deepclust.heads.gmm_prior import GMMPrior, vade_loss
from deepclust.heads.kmeans import KMeansHead
from deepclust.heads.scan import SCANHead
from deepclust.heads.student_t import StudentTHead, kmeans_init, squared_distances

__all__ = ["GMMPrior", "KMeansHead", "SCANHead", "StudentTHead", "kmeans_init", "squared_distances", "vade_loss"]
