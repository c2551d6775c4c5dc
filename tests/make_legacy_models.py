"""Write tests/data/legacy_models/: tiny embedding models saved by deepclust before issue 14.

Run once, on the code before the embedding estimators moved onto one base
(``methods/_neural.py``), so that tests/test_neural.py can check that models saved by the
old layout still load and give the same codes. Each model folder sits next to
``<name>_codes.npy``, its ``transform`` of ``inputs.npy``. Do not re-run on newer code: the
point of these files is that they were written by the old one.

    python tests/make_legacy_models.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "data" / "legacy_models"
SPEC = {"input_shape": [1, 4, 4], "encoder": [{"type": "Conv2D", "filters": 2, "kernel": 3, "stride": 2}, {"type": "Flatten"}, {"type": "Dense", "units": 2}]}


def models():
    from deepclust.methods import AutoencoderClustering, AutoencoderEmbedding, ContrastiveEmbedding, MaskedEmbedding, VAEEmbedding

    common = {"epochs": 2, "batch_size": 16, "precision": "float32", "device": "cpu", "random_state": 0}
    return {
        "ae_mlp": AutoencoderEmbedding(latent_dim=2, hidden_dims=(8,), **common),
        "ae_spec": AutoencoderEmbedding(network=SPEC, **common),
        "vae_mlp": VAEEmbedding(latent_dim=2, hidden_dims=(8,), recon="bce", **common),
        "vae_spec": VAEEmbedding(network=SPEC, **common),
        "simclr_mlp": ContrastiveEmbedding(latent_dim=3, hidden_dims=(8,), projection_dims=(4,), **common),
        "mae_mlp": MaskedEmbedding(latent_dim=2, hidden_dims=(8,), **common),
        # an embedding nested inside a clustering model (saved through nested_state)
        "aekmeans_mlp": AutoencoderClustering(3, embedding=AutoencoderEmbedding(latent_dim=2, hidden_dims=(8,), **common), random_state=0),
    }


def main() -> None:
    import torch

    torch.set_num_threads(1)
    X = np.random.default_rng(0).random((40, 16)).astype(np.float32)  # in [0, 1] for recon="bce"
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "inputs.npy", X)
    for name, est in models().items():
        est.fit(X)
        est.save(OUT / name, overwrite=True)
        np.save(OUT / f"{name}_codes.npy", est.transform(X))


if __name__ == "__main__":
    main()
