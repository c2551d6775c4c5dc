"""Tests of deepclust.nn: shapes, layer layout and initialisation of the torch modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepclust.nn import MLP, Autoencoder, activation_layer, glorot_uniform_, mlp_autoencoder


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


# --- MLP ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dims", [(5, 3), (7, 16, 2), (4, 8, 8, 3)])
def test_mlp_output_shape_and_widths(dims):
    mlp = MLP(dims)
    assert mlp(torch.zeros(6, dims[0])).shape == (6, dims[-1])
    assert [(lin.in_features, lin.out_features) for lin in _linears(mlp)] == list(zip(dims[:-1], dims[1:]))
    assert mlp.dims == tuple(dims)


def test_mlp_last_layer_is_linear_and_hidden_layers_activated():
    mlp = MLP((4, 8, 8, 2), activation="tanh")
    layers = list(mlp)
    # Linear, Tanh, Linear, Tanh, Linear: nothing after the embedding layer (DEC's linear code)
    assert [type(m) for m in layers] == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    # a linear last layer can output negative values, unlike a ReLU one
    with torch.no_grad():
        layers[-1].bias.fill_(-5.0)
        layers[-1].weight.zero_()
    assert (mlp(torch.randn(3, 4)) == -5.0).all()


def test_mlp_last_activation_batch_norm_and_dropout():
    mlp = MLP((4, 8, 3), last_activation="sigmoid", batch_norm=True, dropout=0.5)
    assert [type(m) for m in mlp] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Linear, nn.Sigmoid]
    mlp.eval()
    out = mlp(torch.randn(5, 4))
    assert ((out > 0) & (out < 1)).all()


def test_single_layer_mlp_is_one_linear():
    assert [type(m) for m in MLP((3, 2))] == [nn.Linear]


@pytest.mark.parametrize("dims", [(5,), (), (5, 0, 2), (0, 2)])
def test_mlp_rejects_bad_widths(dims):
    with pytest.raises(ValueError, match="at least two positive layer widths"):
        MLP(dims)


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown activation 'swishy'.*relu"):
        MLP((3, 4, 2), activation="swishy")
    with pytest.raises(ValueError, match="unknown activation"):
        activation_layer("RELU")


def test_activation_layer_returns_fresh_modules():
    a, b = activation_layer("relu"), activation_layer("relu")
    assert isinstance(a, nn.ReLU) and a is not b


# --- mlp_autoencoder ------------------------------------------------------------------------
def test_mlp_autoencoder_mirrors_the_encoder():
    ae = mlp_autoencoder(10, (16, 8), 3)
    enc = [(m.in_features, m.out_features) for m in _linears(ae.encoder)]
    dec = [(m.in_features, m.out_features) for m in _linears(ae.decoder)]
    assert enc == [(10, 16), (16, 8), (8, 3)]
    assert dec == [(3, 8), (8, 16), (16, 10)]
    # both the embedding and the reconstruction are linear
    assert isinstance(list(ae.encoder)[-1], nn.Linear)
    assert isinstance(list(ae.decoder)[-1], nn.Linear)


def test_mlp_autoencoder_shapes():
    ae = mlp_autoencoder(6, (16,), 2)
    x = torch.randn(4, 6)
    assert ae.encode(x).shape == (4, 2)
    assert ae.decode(torch.randn(4, 2)).shape == (4, 6)
    assert ae(x).shape == (4, 6)


# --- glorot_uniform_ ------------------------------------------------------------------------
def test_glorot_uniform_bounds_and_zero_bias():
    mlp = MLP((50, 200, 4))
    with torch.no_grad():
        for lin in _linears(mlp):
            lin.bias.fill_(3.0)
    out = glorot_uniform_(mlp, generator=torch.Generator().manual_seed(0))
    assert out is mlp
    for lin in _linears(mlp):
        bound = (1.0 / lin.in_features) ** 0.5  # sqrt(3 * (1/3) / fan_in)
        w = lin.weight
        assert w.abs().max() <= bound
        # 200 * 50 uniform draws fill the interval: the extremes come close to the bound
        assert w.abs().max() > 0.9 * bound
        assert (lin.bias == 0).all()
    # first layer: fan_in 50 -> U(-1/sqrt(50), 1/sqrt(50)), variance bound^2 / 3
    w = _linears(mlp)[0].weight
    assert w.var().item() == pytest.approx((1 / 50) / 3, rel=0.1)


def test_glorot_uniform_reproducible_with_generator_and_leaves_global_rng():
    a, b = MLP((5, 8, 2)), MLP((5, 8, 2))
    before = torch.random.get_rng_state()
    glorot_uniform_(a, generator=torch.Generator().manual_seed(42))
    glorot_uniform_(b, generator=torch.Generator().manual_seed(42))
    assert torch.equal(torch.random.get_rng_state(), before)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    c = glorot_uniform_(MLP((5, 8, 2)), generator=torch.Generator().manual_seed(43))
    assert not torch.equal(_linears(a)[0].weight, _linears(c)[0].weight)


# --- Autoencoder ----------------------------------------------------------------------------
def test_autoencoder_composes_encoder_and_decoder():
    enc = nn.Linear(3, 2, bias=False)
    dec = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        enc.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))  # z = (x0, x1 + x2)
        dec.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]))  # x_hat = (2 z0, z1, -z1)
    ae = Autoencoder(enc, dec)
    x = torch.tensor([[1.0, 2.0, 3.0]])
    assert torch.equal(ae.encode(x), torch.tensor([[1.0, 5.0]]))
    assert torch.equal(ae.decode(torch.tensor([[1.0, 5.0]])), torch.tensor([[2.0, 5.0, -5.0]]))
    assert torch.equal(ae(x), ae.decode(ae.encode(x)))
    assert ae.encoder is enc and ae.decoder is dec
    assert not hasattr(ae, "fit")  # a module, not an estimator
