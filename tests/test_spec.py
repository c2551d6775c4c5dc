"""Tests of deepclust.nn.spec (autoencoders from a declarative spec) and of
AutoencoderEmbedding's ``network`` parameter: shapes round-trip for any input size, errors
name the bad layer, and spec networks fit, save and load like the MLP."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch import nn

from conftest import tiny_autoencoder
from deepclust.datasets import load_network_spec
from deepclust.methods import AutoencoderEmbedding
from deepclust.nn import Autoencoder, build_autoencoder, load_spec
from deepclust.nn.spec import latent_dim

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "networks"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def conv_spec(shape=(1, 16, 16), **top) -> dict:
    return {
        "input_shape": list(shape),
        "encoder": [
            {"type": "Conv2D", "filters": 4, "kernel": 3, "stride": 2},
            {"type": "Conv2D", "filters": 8, "kernel": 3, "stride": 2},
            {"type": "Flatten"},
            {"type": "Dense", "units": 3},
        ],
        **top,
    }


def round_trip(ae: Autoencoder, n_features: int, batch: int = 2) -> tuple[torch.Size, torch.Size]:
    ae.train()  # batch norm in training mode needs batch > 1, as in fitting
    z = ae.encode(torch.zeros(batch, n_features))
    return z.shape, ae.decode(z).shape


# -- reading ------------------------------------------------------------------------------
def test_spec_from_dict_json_and_yaml_agree(tmp_path):
    spec = conv_spec()
    (tmp_path / "net.json").write_text(json.dumps(spec))
    from_dict, from_json = load_spec(spec), load_network_spec(tmp_path / "net.json")
    assert from_dict == from_json == load_network_spec(str(tmp_path / "net.json"))
    assert load_spec(from_dict) == from_dict  # canonical form is a fixed point
    assert from_dict["encoder"][0]["activation"] == "relu"  # hidden layers: the default activation
    assert from_dict["encoder"][-1]["activation"] is None  # the embedding is linear
    yaml = pytest.importorskip("yaml")
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(spec))
    assert load_network_spec(tmp_path / "net.yaml") == from_dict


def test_yaml_without_pyyaml_suggests_json(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_yaml(name, *args, **kwargs):
        if name == "yaml":
            raise ImportError("No module named 'yaml'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    (tmp_path / "net.yml").write_text("encoder: []\n")
    with pytest.raises(ImportError, match=r"PyYAML.*json"):
        load_network_spec(tmp_path / "net.yml")


def test_aljalbout_key_names_are_accepted():
    # A layer list as the Aljalbout et al. repository writes it (archs/mnist.json).
    theirs = {
        "name": "c-3-32_p_c-3-64_p_fc-32",
        "use_batch_norm": 1,
        "layers": [
            {"type": "Input", "output_shape": [1, 28, 28]},
            {"type": "Conv2D", "num_filters": 32, "filter_size": [3, 3], "non_linearity": "rectify", "conv_mode": "same"},
            {"type": "MaxPool2D", "filter_size": [2, 2]},
            {"type": "Conv2D", "num_filters": 64, "filter_size": [3, 3], "non_linearity": "rectify", "conv_mode": "same"},
            {"type": "MaxPool2D", "filter_size": [2, 2]},
            {"type": "Dense", "num_units": 32, "non_linearity": "linear"},
        ],
    }
    spec = load_spec(theirs)
    assert spec["batch_norm"] is True and spec["encoder"][1]["filters"] == 32
    assert round_trip(build_autoencoder(theirs, 784), 784) == ((2, 32), (2, 784))


def test_mlp_spec():
    spec = {"type": "mlp", "hidden_dims": [16, 8], "latent_dim": 3}
    assert latent_dim(spec) == 3
    ae = build_autoencoder(spec, 20)
    assert [m.out_features for m in ae.encoder if isinstance(m, nn.Linear)] == [16, 8, 3]
    assert round_trip(ae, 20) == ((2, 3), (2, 20))


# -- shapes -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "n_features", "latent"),
    [("conv_mnist.json", 784, 10), ("conv_usps.json", 256, 10), ("conv_128.json", 3 * 128 * 128, 32), ("conv_mnist.yaml", 784, 10)],
)
def test_example_specs_build_and_round_trip(name, n_features, latent):
    if name.endswith(".yaml"):
        pytest.importorskip("yaml")
    path = EXAMPLES / name
    assert latent_dim(load_network_spec(path)) == latent
    assert round_trip(build_autoencoder(load_network_spec(path), n_features), n_features) == ((2, latent), (2, n_features))


@pytest.mark.parametrize("shape", [(1, 15, 15), (1, 7, 7), (3, 9, 13), (2, 1, 1), (1, 28, 28)])
@pytest.mark.parametrize("padding", ["same", "valid", 1])
@pytest.mark.parametrize(("kernel", "stride"), [(3, 2), (4, 2), (5, 3), (2, 1), (1, 1)])
def test_odd_sizes_round_trip(shape, padding, kernel, stride):
    spec = {
        "input_shape": list(shape),
        "padding": padding,
        "batch_norm": True,
        "encoder": [
            {"type": "Conv2D", "filters": 3, "kernel": kernel, "stride": stride},
            {"type": "Conv2D", "filters": 2, "kernel": kernel, "stride": stride},
        ],
    }
    n = math.prod(shape)
    try:
        ae = build_autoencoder(spec, n)
    except ValueError as exc:  # "valid" kernels larger than a tiny map are refused, clearly
        assert padding != "same" and "does not fit" in str(exc)
        return
    (b, k), x_shape = round_trip(ae, n)
    assert b == 2 and k == latent_dim(spec) and x_shape == (2, n)


def test_pooling_and_reshape_mirror():
    spec = {
        "input_shape": [1, 8, 8],
        "encoder": [
            {"type": "Conv2D", "filters": 2, "kernel": 3},
            {"type": "MaxPool2D", "pool": 2},
            {"type": "Flatten"},
            {"type": "Dense", "units": 18},
            {"type": "Reshape", "shape": [2, 3, 3]},
            {"type": "Conv2D", "filters": 1, "kernel": 3, "padding": "valid"},
        ],
    }
    ae = build_autoencoder(spec, 64)
    assert any(isinstance(m, nn.Upsample) for m in ae.decoder)
    assert round_trip(ae, 64) == ((2, 1), (2, 64))


def test_decoder_mirrors_activations_and_ends_linear():
    ae = build_autoencoder(conv_spec(batch_norm=True), 256)
    enc, dec = list(ae.encoder), list(ae.decoder)
    assert isinstance(enc[-1], nn.Linear)  # linear embedding, no batch norm after it
    assert isinstance(dec[-1], nn.Flatten) and isinstance(dec[-2], (nn.ConvTranspose2d, nn.Module))
    assert not any(isinstance(m, (nn.ReLU, nn.BatchNorm2d)) for m in dec[-3:])  # linear reconstruction
    assert sum(isinstance(m, nn.ReLU) for m in enc) == sum(isinstance(m, nn.ReLU) for m in dec) == 2
    assert sum(isinstance(m, nn.BatchNorm2d) for m in enc) == sum(isinstance(m, nn.BatchNorm2d) for m in dec) == 2


# -- errors -------------------------------------------------------------------------------
def test_unknown_layer_type_names_index_and_suggests():
    spec = conv_spec()
    spec["encoder"][1]["type"] = "Conv2d_"
    with pytest.raises(ValueError, match=r"encoder\[1\].*unknown layer type 'Conv2d_'.*did you mean 'Conv2D'.*MaxPool2D"):
        load_spec(spec)


def test_unknown_key_suggests():
    spec = conv_spec()
    spec["encoder"][0]["filter"] = 4
    with pytest.raises(ValueError, match=r"encoder\[0\] \(Conv2D\): unknown key 'filter' \(did you mean 'filters'\?\)"):
        load_spec(spec)
    with pytest.raises(ValueError, match=r"unknown key 'batchnorm' \(did you mean 'batch_norm'\?\)"):
        load_spec({**conv_spec(), "batchnorm": True})


def test_missing_key_and_bad_values():
    with pytest.raises(ValueError, match=r"encoder\[0\] \(Conv2D\): missing the required key 'kernel'"):
        load_spec({"input_shape": [1, 8, 8], "encoder": [{"type": "Conv2D", "filters": 2}]})
    with pytest.raises(ValueError, match=r"filters must be an integer >= 1, got -2"):
        load_spec({"input_shape": [1, 8, 8], "encoder": [{"type": "Conv2D", "filters": -2, "kernel": 3}]})
    with pytest.raises(ValueError, match=r"unknown activation 'relux'.*did you mean 'relu'"):
        load_spec({"input_shape": [4], "encoder": [{"type": "Dense", "units": 2, "activation": "relux"}]})
    with pytest.raises(ValueError, match="no Conv2D or Dense"):
        load_spec({"input_shape": [1, 8, 8], "encoder": [{"type": "Flatten"}]})
    with pytest.raises(ValueError, match="switches"):
        load_spec({"input_shape": [1, 8, 8], "encoder": [{"type": "MaxPool2D*", "pool": 2}, {"type": "Dense", "units": 2}]})


def test_n_features_mismatch():
    with pytest.raises(ValueError, match=r"input_shape \[1, 16, 16\] holds 256 values per sample, but the data has 784"):
        build_autoencoder(conv_spec(), 784)


def test_pooling_that_does_not_divide():
    spec = {"input_shape": [1, 28, 28], "encoder": [
        {"type": "MaxPool2D", "pool": 2}, {"type": "MaxPool2D", "pool": 2},
        {"type": "MaxPool2D", "pool": 2}, {"type": "Dense", "units": 2},
    ]}  # fmt: skip
    with pytest.raises(ValueError, match=r"encoder\[2\] \(MaxPool2D\): cannot pool a 7x7 map by 2x2: 7 is not divisible by 2"):
        build_autoencoder(spec, 784)


def test_conv_on_flat_input_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match=r"needs a \(channels, height, width\) input"):
        build_autoencoder({"encoder": [{"type": "Conv2D", "filters": 2, "kernel": 3}]}, 64)
    with pytest.raises(FileNotFoundError):
        load_network_spec(tmp_path / "missing.json")
    (tmp_path / "net.txt").write_text("{}")
    with pytest.raises(ValueError, match=r"\.json, \.yaml, \.yml"):
        load_network_spec(tmp_path / "net.txt")
    (tmp_path / "list.json").write_text(json.dumps([conv_spec(), conv_spec()]))
    with pytest.raises(ValueError, match="list of 2"):
        load_network_spec(tmp_path / "list.json")


# -- the estimator ------------------------------------------------------------------------
def emb(**kw) -> AutoencoderEmbedding:
    return tiny_autoencoder(**{"hidden_dims": (500, 500, 2000), "latent_dim": 10, "epochs": 1, "random_state": 0, **kw})


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((64, 256)).astype(np.float32)  # 64 "1x16x16 images"


def test_embedding_with_spec_fits_saves_and_loads(images, tmp_path):
    spec = conv_spec(batch_norm=True)
    model = emb(network=spec).fit(images)
    Z = model.transform(images)
    assert Z.shape == (64, 3) and Z.dtype == np.float32
    assert model.inverse_transform(Z).shape == images.shape
    assert model.reconstruct(images[:5]).shape == (5, 256)
    model.save(tmp_path / "m")
    loaded = AutoencoderEmbedding.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.transform(images), Z)
    assert loaded.get_params()["network"] == json.loads(json.dumps(spec))


def test_embedding_with_spec_path_is_reproducible(images, tmp_path):
    (tmp_path / "net.json").write_text(json.dumps(conv_spec()))
    a = emb(network=str(tmp_path / "net.json")).fit_transform(images)
    b = emb(network=tmp_path / "net.json").fit_transform(images)
    np.testing.assert_array_equal(a, b)


def test_embedding_with_user_modules(images, tmp_path):
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Unflatten(1, (1, 16, 16)), nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(128, 4))
    decoder = nn.Sequential(nn.Linear(4, 256))
    before = encoder[-1].weight.detach().clone()
    for network in [(encoder, decoder), Autoencoder(encoder, decoder)]:
        model = emb(network=network).fit(images)
        assert model.transform(images).shape == (64, 4)
        assert model.inverse_transform(np.zeros((2, 4), np.float32)).shape == (2, 256)
        assert model.autoencoder_.encoder is not encoder  # trained on a copy
    torch.testing.assert_close(encoder[-1].weight, before)  # the user's module is untouched
    with pytest.raises(ValueError, match="user-supplied torch module"):
        model.save(tmp_path / "m")


def test_user_module_with_wrong_shapes_is_explained(images):
    encoder = nn.Sequential(nn.Conv2d(1, 2, 3))  # expects images, gets flat rows
    with pytest.raises(ValueError, match=r"fails on input of shape \(2, 256\).*nn.Unflatten"):
        emb(network=(encoder, nn.Identity())).fit(images)
    with pytest.raises(ValueError, match=r"decoder maps codes \(2, 4\) to shape \(2, 1, 16, 16\)"):
        emb(network=(nn.Linear(256, 4), nn.Sequential(nn.Linear(4, 256), nn.Unflatten(1, (1, 16, 16))))).fit(images)
    with pytest.raises(ValueError, match="network must be None"):
        emb(network=nn.Linear(256, 4)).fit(images)


@pytest.mark.parametrize("network", [None, conv_spec(), "net.json", (nn.Linear(256, 2), nn.Linear(2, 256))])
def test_clone_keeps_network(network):
    model = AutoencoderEmbedding(hidden_dims=(8,), network=network)
    copy = clone(model)
    assert list(copy.get_params()) == list(model.get_params())
    if isinstance(network, dict):
        assert copy.network == network and copy.network is not network
    if isinstance(network, tuple):
        assert copy.network[0] is not network[0]


@pytest.mark.parametrize(("name", "n_features"), [("conv_mnist.json", 784), ("conv_usps.json", 256), ("conv_mnist.yaml", 784)])
def test_example_specs_train_through_the_embedding(name, n_features):
    # The embedding normalises the spec, then builds from the normalised form: a spec whose
    # shape comes from an Input layer must survive that second pass.
    if name.endswith(".yaml"):
        pytest.importorskip("yaml")
    X = np.random.default_rng(0).random((8, n_features)).astype(np.float32)
    assert emb(network=str(EXAMPLES / name)).fit_transform(X).shape == (8, 10)


# -- 1-D convolutions (ordered feature vectors: spectra) -----------------------------------------
@pytest.mark.parametrize("length", [177, 64, 33])
@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, "same"), (5, 2, "same"), (4, 3, "valid"), (3, 2, 1)])
@pytest.mark.parametrize("pool", [None, 2])
def test_conv1d_round_trips_any_length(length, kernel, stride, padding, pool):
    from deepclust.nn import build_autoencoder

    encoder = [{"type": "Conv1D", "filters": 4, "kernel": kernel, "stride": stride, "padding": padding}]
    if pool:
        encoder.append({"type": "MaxPool1D", "pool": pool})
    encoder += [{"type": "Conv1D", "filters": 8, "kernel": 3, "stride": 2}, {"type": "Dense", "units": 5}]
    spec = {"input_shape": [length], "encoder": encoder}
    try:
        ae = build_autoencoder(spec, length)
    except ValueError as exc:  # an odd length after the first layer cannot be pooled by 2
        assert pool and "cannot pool" in str(exc)
        return
    z = ae.encode(torch.randn(3, length))
    assert z.shape == (3, 5) and ae.decode(z).shape == (3, length)


def test_conv1d_channels_first_shape_and_canonical_form():
    from deepclust.nn import build_autoencoder, load_spec

    spec = load_spec({"input_shape": [2, 50], "encoder": [{"type": "Conv1D", "filters": 4, "kernel": 5, "stride": 2}, {"type": "Dense", "units": 3}]})
    assert spec["input_shape"] == [2, 50] and spec["encoder"][0]["stride"] == 2
    assert load_spec(spec) == spec
    ae = build_autoencoder(spec, 100)
    conv = next(m for m in ae.encoder if isinstance(m, torch.nn.Conv1d))
    assert conv.in_channels == 2 and conv.out_channels == 4
    with pytest.raises(ValueError, match="holds 100 values per sample, but the data has 90"):
        build_autoencoder(spec, 90)


def test_conv1d_errors():
    from deepclust.nn import load_spec

    with pytest.raises(ValueError, match="mixes 1-D"):
        load_spec({"input_shape": [1, 8, 8], "encoder": [{"type": "Conv2D", "filters": 2, "kernel": 3}, {"type": "MaxPool1D", "pool": 2}, {"type": "Dense", "units": 2}]})
    with pytest.raises(ValueError, match="did you mean 'Conv1D'"):
        load_spec({"input_shape": [8], "encoder": [{"type": "Conv1d_", "filters": 2, "kernel": 3}]})


def test_autoencoder_embedding_trains_with_a_conv1d_spec(tmp_path):
    import numpy as np

    from deepclust.methods import AutoencoderEmbedding

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 40)
    X = np.stack([np.sin(2 * np.pi * (3 + rng.integers(0, 2)) * t) + 0.1 * rng.normal(size=40) for _ in range(64)]).astype(np.float32)
    spec = {"input_shape": [40], "encoder": [
        {"type": "Conv1D", "filters": 4, "kernel": 5, "stride": 2}, {"type": "MaxPool1D", "pool": 2},
        {"type": "Dense", "units": 3}]}
    emb = AutoencoderEmbedding(network=spec, epochs=15, batch_size=16, lr=3e-3, random_state=0).fit(X)
    assert emb.history_["loss"][-1] < emb.history_["loss"][0]
    Z = emb.transform(X)
    assert Z.shape == (64, 3)
    again = AutoencoderEmbedding.load(emb.save(tmp_path / "m"))
    np.testing.assert_allclose(again.transform(X), Z, atol=1e-6)


def test_nn_load_spec_still_reads_a_path_with_a_deprecation_warning(tmp_path):
    # reading files moved to deepclust.datasets.load_network_spec; the old call keeps working
    (tmp_path / "net.json").write_text(json.dumps(conv_spec()))
    with pytest.warns(DeprecationWarning, match="load_network_spec"):
        assert load_spec(tmp_path / "net.json") == load_network_spec(tmp_path / "net.json") == load_spec(conv_spec())
