"""The payoff of the shared bases (issue 14): a new method is a module, a loss and a registry row."""

import numpy as np
import torch
from sklearn.utils.estimator_checks import check_estimator
from torch import nn

from deepclust.methods import AutoencoderClustering
from deepclust.methods._composite import store_params
from deepclust.methods._neural import NeuralEmbedding
from deepclust.methods._persist import register_model
from deepclust.methods.registry import METHODS, MethodSpec, build_method, register_method


class NoisyLinearAE(nn.Module):
    """A linear autoencoder trained to undo Gaussian noise; its loss comes as named terms."""

    def __init__(self, n_features: int, latent_dim: int, noise: float) -> None:
        super().__init__()
        self.encoder, self.decoder, self.noise = nn.Linear(n_features, latent_dim), nn.Linear(latent_dim, n_features), noise

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def loss(self, x, target=None):
        recon = ((self.decode(self.encode(x + self.noise * torch.randn_like(x))) - x) ** 2).mean()
        shrink = 1e-3 * self.encoder.weight.pow(2).sum()
        return {"loss": recon + shrink, "reconstruction": recon, "shrinkage": shrink}


@register_model
class NoisyLinearEmbedding(NeuralEmbedding):
    def __init__(self, latent_dim=2, noise=0.1, hidden_dims=(), network=None, epochs=3, steps=None, batch_size=32, lr=1e-2,
                 patience=None, precision="float32", device="cpu", random_state=None, verbose=False):
        store_params(self, locals())

    def _build(self, arch):
        return NoisyLinearAE(arch["n_features"], arch["latent_dim"], self.noise)


def test_a_toy_method_plugs_into_the_bases_and_the_registry(tmp_path):
    register_method(MethodSpec("toy-kmeans", "noisy linear autoencoder, then k-means", AutoencoderClustering, {"clusterer": "kmeans"}, NoisyLinearEmbedding))
    try:  # a registry row like any other; removed again so the other tests see the real registry
        est = build_method("toy-kmeans", 2, 0, embedding={"epochs": 20})
    finally:
        METHODS.pop("toy-kmeans")
    X = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
    X[:30] += 8.0
    est.fit(X)
    assert sorted(np.bincount(est.labels_)) == [30, 30]
    assert {"reconstruction", "shrinkage"} <= set(est.embedding_.history_)
    back = type(est).load(est.save(tmp_path / "toy"))
    np.testing.assert_array_equal(back.predict(X), est.labels_)
    check_estimator(NoisyLinearEmbedding(random_state=0))
