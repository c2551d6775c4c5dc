"""AutoencoderEmbedding: a scikit-learn transformer that learns an autoencoder's codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Sequence

import numpy as np

from deepclust.methods._base import check_recon
from deepclust.methods._neural import NeuralEmbedding, ReconstructionMixin
from deepclust.methods._params import StrOptions
from deepclust.methods._persist import register_model
from deepclust.datasets import DiskArray
from deepclust.nn import Autoencoder, build_autoencoder, mlp_autoencoder
from deepclust.preprocess.augment_text import check_augment

__all__ = ["AutoencoderEmbedding"]


@register_model
class AutoencoderEmbedding(ReconstructionMixin, NeuralEmbedding):
    """Learn a low-dimensional embedding with an autoencoder.

    The network is by default DEC's symmetric MLP ``d-500-500-2000-latent_dim`` with linear
    embedding and output layers (Xie et al. 2016; McConville et al. 2020); ``network`` swaps in
    a convolutional autoencoder from a spec (Aljalbout et al. 2018) or your own torch modules.
    It is trained with Adam on the mean squared reconstruction error, or, with
    ``recon="bce"``, on a Bernoulli likelihood (the decoder outputs logits; binary
    cross-entropy summed over features, as VaDE's reference pretrains on pixels in [0, 1]).
    ``transform`` returns the codes.

    Parameters
    ----------
    latent_dim : int, default=10
        Size of the embedding.
    hidden_dims : sequence of int or "auto", default="auto"
        Widths of the encoder's hidden layers; the decoder mirrors them. "auto" sizes them by
        the number of features and of rows (:func:`deepclust.nn.sizing.default_hidden_dims`):
        DEC's 500-500-2000 from 250 features and ~8,000 rows up, 256-256-512 for 64 features or
        fewer, at most n_samples/16 wide (never below 32) for few rows.
    network : dict, str, os.PathLike, Autoencoder, (nn.Module, nn.Module) or None, default=None
        The network, when not the MLP above (``latent_dim`` and ``hidden_dims`` are then
        ignored):

        - a spec dict, or the path of a ``.json`` / ``.yaml`` file holding one: the encoder as
          a list of layers, the decoder mirrored automatically (see
          :func:`deepclust.nn.load_spec`); rows of ``X`` are flattened samples of the spec's
          ``input_shape``, channels first (e.g. 784 columns for ``[1, 28, 28]``);
        - a :class:`deepclust.nn.Autoencoder`, or an ``(encoder, decoder)`` pair of modules:
          your own network. The encoder takes ``(batch, n_features)`` rows and returns
          ``(batch, latent_dim)`` codes; the decoder returns ``(batch, n_features)`` (end it
          with ``nn.Flatten()`` for image decoders). It is copied, not trained in place, and
          keeps your initialisation. Such a model cannot be saved with :meth:`save`, which
          never pickles code; describe the network as a spec to save it.

        Networks built here (the MLP and spec networks) get DEC's initialisation of the
        fully connected layers (:func:`deepclust.nn.glorot_uniform_`).
    epochs : int or None, default=None
        Passes over the data. None (with ``steps`` None): the training budget of
        :mod:`deepclust.train.budget`, 11,000 optimiser steps within 2-2000 epochs. ``training_`` records the steps taken and why training stopped.
    steps : int or None, default=None
        Train this many optimiser steps instead (give ``epochs`` or ``steps``, not both).
    batch_size : int, default=256
    lr : float, default=1e-3
        Adam learning rate.
    patience : int or None, default=None
        Stop when the loss has not improved by 0.01% for this many epochs; None trains all epochs.
    precision : {"auto", "float32", "bf16"}, default="auto"
        Training arithmetic. "auto" uses bfloat16 autocast on CUDA and on CPUs with native bf16
        instructions, float32 elsewhere. Inference is always float32.
    device : str, default="auto"
        "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
    random_state : int, numpy Generator or None, default=None
        Seeds weights and shuffling. The same int gives the same embedding on CPU. The global
        numpy and torch random states are left untouched.
    verbose : bool, default=False
        Show a progress bar.
    augment : dict or None, default=None
        Training-time augmentation of every minibatch for small cohorts, e.g.
        ``{"noise": 0.1, "mixup": 0.2, "marginal": 0.1}``: Gaussian noise of 0.1 feature
        standard deviations, mixup of rows within the batch with Beta(0.2, 0.2) weights, and
        each entry replaced with probability 0.1 by a draw from its feature's marginal (see
        :mod:`deepclust.nn.augment`). The network reconstructs the uncorrupted (mixed) rows.
        Seeded by ``random_state``; ``transform`` never augments.
    recon : {"mse", "bce"}, default="mse"
        Reconstruction likelihood. "mse": Gaussian, the mean squared error over all entries,
        for any real data. "bce": Bernoulli, for data in [0, 1] (e.g. pixel intensities): the
        decoder's last layer gives logits and the loss is the binary cross-entropy summed over
        features, averaged over the batch; :meth:`inverse_transform` and :meth:`reconstruct`
        then return probabilities (the sigmoid of the logits). Saved with the model; models
        saved before this option existed load as "mse".
    cuda_graph : bool, default=False
        On CUDA, capture the training step once in a CUDA graph and replay it
        (:func:`deepclust.train.fit_module`): the same batches, order and arithmetic, without
        Python launching each kernel of every step (on an H100 a captured N2D step took 0.49 ms
        against 3.0 ms eager; benchmarks/PERFORMANCE.md). Ignored on the CPU, with ``augment``,
        and for data streamed from disk. Off by default until whole runs with it have been
        measured on a GPU.

    Attributes
    ----------
    autoencoder_ : deepclust.nn.Autoencoder
    n_features_in_ : int
    training_ : dict
        ``steps``, ``epochs``, ``stop_reason`` and the ``budget`` rule of the last fit.
    history_ : dict of str to list of float
        Per-epoch ``loss`` and ``seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((100, 8)).astype("float32")
    >>> emb = AutoencoderEmbedding(latent_dim=2, hidden_dims=(16,), epochs=2, random_state=0)
    >>> emb.fit_transform(X).shape
    (100, 2)

    A small convolutional autoencoder for 8x8 single-channel images:

    >>> spec = {"input_shape": [1, 8, 8], "encoder": [
    ...     {"type": "Conv2D", "filters": 4, "kernel": 3, "stride": 2},
    ...     {"type": "Flatten"}, {"type": "Dense", "units": 2}]}
    >>> X = np.random.default_rng(0).random((50, 64)).astype("float32")
    >>> AutoencoderEmbedding(network=spec, epochs=2, random_state=0).fit_transform(X).shape
    (50, 2)

    References
    ----------
    Xie, Girshick & Farhadi (2016). Unsupervised deep embedding for clustering analysis. ICML.
    Aljalbout, Golkov, Siddiqui, Strobel & Cremers (2018). Clustering with deep learning:
    taxonomy and new methods. arXiv:1801.07648.
    """

    _parameter_constraints = {**NeuralEmbedding._parameter_constraints, "augment": [None, Mapping, str], "recon": [StrOptions({"mse", "bce"})], "cuda_graph": ["boolean"]}
    _capture_safe = True  # the reconstruction loss reads only the batch (augment, which draws, turns capture off)

    def __init__(
        self, latent_dim: int = 10, hidden_dims: Sequence[int] | str = "auto", network=None, epochs: int | None = None, steps: int | None = None, batch_size: int = 256,
        lr: float = 1e-3, patience: int | None = None, precision: str = "auto", device: str = "auto", random_state=None, verbose: bool = False, augment=None,
        recon: str = "mse", cuda_graph: bool = False,
    ) -> None:
        self.latent_dim, self.hidden_dims, self.network = latent_dim, hidden_dims, network
        self.epochs, self.batch_size, self.lr, self.patience = epochs, batch_size, lr, patience
        self.steps = steps
        self.precision, self.device, self.random_state, self.verbose, self.augment = precision, device, random_state, verbose, augment
        self.recon, self.cuda_graph = recon, cuda_graph

    def _check_extra_params(self) -> None:
        check_augment(self.augment)

    def _output(self) -> str:
        """How the decoder output is read: "linear" (``recon="mse"``) or "bernoulli" (``"bce"``)."""
        return "bernoulli" if self.recon == "bce" else "linear"

    def _check_data(self, X) -> None:
        if self._output() == "bernoulli":
            check_recon("bce", _value_range(X))  # Bernoulli targets must lie in [0, 1]

    def _architecture(self, n_features: int, n_samples: int | None = None):
        """The network record, with its likelihood (``"output"``), so a loaded model knows it."""
        arch, module = super()._architecture(n_features, n_samples)
        return {**arch, "output": self._output()}, module

    def _adopt(self, module, arch: dict):
        module.output = arch["output"]  # the user's Autoencoder (a copy) read with this likelihood
        return module

    def _decode(self, module, z):
        return module.mean(z)  # probabilities for recon="bce"

    @staticmethod
    def _build(arch: dict):
        """The network of a saved architecture: the MLP (``"mlp"``) or a spec (``"spec"``)."""
        kind = arch.get("type")
        output = arch.get("output", "linear")  # models saved before recon existed are MSE autoencoders
        if kind == "mlp":
            return mlp_autoencoder(arch["n_features"], arch["hidden_dims"], arch["latent_dim"], output=output)
        if kind == "spec":
            net = build_autoencoder(arch["spec"], arch["n_features"])
            return Autoencoder(net.encoder, net.decoder, output=output)  # the same layers and weight names
        if kind == "module":
            raise ValueError("this model was trained with a user-supplied torch module, which deepclust cannot rebuild from a file")
        raise ValueError(f"unknown network type {kind!r} in saved model")


def _value_range(X) -> np.ndarray:
    """``[min, max]`` of ``X``, read block by block when ``X`` is on disk."""
    if isinstance(X, DiskArray):
        parts = np.array([(b.min(), b.max()) for _, b in X.blocks(X.default_block_rows())])
        return np.array([parts[:, 0].min(), parts[:, 1].max()])
    return np.array([X.min(), X.max()])
