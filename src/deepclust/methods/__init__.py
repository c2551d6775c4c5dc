"""The scikit-learn-compatible estimators users call."""

from deepclust.methods._persist import load_model
from deepclust.methods.clustering import AutoencoderClustering
from deepclust.methods.dcn import DCN
from deepclust.methods.dec import DEC, IDEC
from deepclust.methods.embedding import AutoencoderEmbedding
from deepclust.methods.identity import RawFeatures
from deepclust.methods.kmeans_fast import FastKMeans
from deepclust.methods.leiden import LeidenClustering
from deepclust.methods.mae import MaskedEmbedding
from deepclust.methods.n2d import N2D
from deepclust.methods.pca import PCAEmbedding
from deepclust.methods.raw import RawClustering
from deepclust.methods.scan import SCANClustering
from deepclust.methods.simclr import ContrastiveEmbedding
from deepclust.methods.registry import METHODS, build_method
from deepclust.methods.vade import VaDE
from deepclust.methods.vae import VAEClustering, VAEEmbedding

__all__ = ["ContrastiveEmbedding", "DCN", "DEC", "FastKMeans", "IDEC", "LeidenClustering", "METHODS", "AutoencoderClustering", "AutoencoderEmbedding", "MaskedEmbedding", "N2D", "PCAEmbedding", "RawClustering", "RawFeatures", "SCANClustering", "VAEClustering", "VAEEmbedding", "VaDE", "build_method", "load_model"]
