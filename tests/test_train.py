"""Tests of deepclust.train: the one training loop, its callbacks, resuming and divergence."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from deepclust.train import Callback, EarlyStopping, TrainState, fit_module


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _regression(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    return x, y


def _mse(module, batch, state):
    x, y = batch
    return torch.mean((module(x) - y) ** 2)


def _linear(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(3, 1)


def _fit(module, tensors, *, epochs=3, batch_size=16, lr=0.05, seed=0, **kw) -> TrainState:
    opt = kw.pop("optimizer", None) or torch.optim.SGD(module.parameters(), lr=lr)
    gen = kw.pop("generator", None) or torch.Generator().manual_seed(seed)
    return fit_module(module, kw.pop("loss_fn", _mse), tensors, epochs=epochs, batch_size=batch_size, optimizer=opt, generator=gen, **kw)


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[str] = []
        self.batches: list[torch.Tensor] = []

    def on_train_begin(self, state):
        self.events.append("train_begin")

    def on_epoch_begin(self, state):
        self.events.append(f"epoch_begin:{state.epoch}")

    def on_batch_begin(self, state):
        self.events.append("batch")
        self.batches.append(state.batch_index.clone())

    def on_epoch_end(self, state):
        self.events.append(f"epoch_end:{state.epoch}")

    def on_train_end(self, state):
        self.events.append("train_end")


# --- the loop learns ----------------------------------------------------------------------
def test_fit_module_reduces_loss_on_toy_regression():
    x, y = _regression()
    model = _linear()
    before = _mse(model, (x, y), None).item()
    state = _fit(model, (x, y), epochs=20, lr=0.1)
    after = _mse(model, (x, y), None).item()
    assert after < 0.01 * before
    assert state.history["loss"][-1] < state.history["loss"][0]
    assert len(state.history["loss"]) == len(state.history["epoch"]) == len(state.history["seconds"]) == 20
    assert state.history["epoch"] == list(range(20))
    assert not model.training  # left in eval mode


def test_dict_loss_logs_every_entry_as_a_weighted_mean():
    x, y = torch.arange(10.0).reshape(10, 1), torch.zeros(10, 1)
    model = nn.Linear(1, 1)

    def loss_fn(module, batch, state):
        xb, _ = batch
        return {"loss": (module(xb) * 0).sum() + 1.0, "mean_x": xb.mean()}

    # batches of 4, 4, 2 rows: the epoch mean of x must be the plain mean 4.5, not the
    # unweighted mean of the three batch means
    state = _fit(model, (x, y), epochs=1, batch_size=4, loss_fn=loss_fn)
    assert state.history["mean_x"] == [pytest.approx(4.5)]
    assert state.history["loss"] == [pytest.approx(1.0)]


# --- callbacks ----------------------------------------------------------------------------
@pytest.mark.parametrize("n, batch_size, epochs", [(10, 4, 3), (8, 8, 2), (7, 100, 2), (5, 1, 1)])
def test_callbacks_called_in_order_with_one_batch_hook_per_step(n, batch_size, epochs):
    x, y = _regression(n)
    rec = Recorder()
    state = _fit(_linear(), (x, y), epochs=epochs, batch_size=batch_size, callbacks=[rec])
    steps = math.ceil(n / batch_size)
    expected = ["train_begin"]
    for e in range(epochs):
        expected += [f"epoch_begin:{e}", *["batch"] * steps, f"epoch_end:{e}"]
    expected.append("train_end")
    assert rec.events == expected
    assert rec.events.count("batch") == state.step == steps * epochs
    assert state.batch_index is None  # cleared after training


def test_each_epoch_visits_every_row_once():
    x, y = _regression(10)
    rec = Recorder()
    _fit(_linear(), (x, y), epochs=2, batch_size=4, callbacks=[rec])
    for e in range(2):
        rows = torch.cat(rec.batches[3 * e : 3 * (e + 1)])
        assert sorted(rows.tolist()) == list(range(10))


def test_callback_can_stop_at_epoch_begin():
    class StopAtTwo(Callback):
        def on_epoch_begin(self, state):
            if state.epoch == 2:
                state.stop, state.stop_reason = True, "enough"

    x, y = _regression(8)
    state = _fit(_linear(), (x, y), epochs=10, batch_size=4, callbacks=[StopAtTwo()])
    assert state.history["epoch"] == [0, 1]
    assert state.step == 4
    assert state.stop_reason == "enough"


# --- early stopping -----------------------------------------------------------------------
def _scripted_losses(values):
    """A loss_fn whose epoch loss is ``values[epoch]`` (differentiable, so the optimiser steps)."""

    def loss_fn(module, batch, state):
        return (module.weight * 0).sum() + values[state.epoch]

    return loss_fn


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    x, y = _regression(8)
    losses = [1.0, 0.5, 0.5, 0.6, 0.4, 0.3, 0.2, 0.1]
    stopper = EarlyStopping(patience=2)
    state = _fit(_linear(), (x, y), epochs=len(losses), batch_size=8, callbacks=[stopper], loss_fn=_scripted_losses(losses))
    # best 0.5 at epoch 1; epochs 2 and 3 do not improve -> stop after epoch 3
    assert state.history["epoch"] == [0, 1, 2, 3]
    assert state.history["loss"] == pytest.approx([1.0, 0.5, 0.5, 0.6])
    assert state.stop and "did not improve for 2 epochs" in state.stop_reason


def test_early_stopping_relative_min_delta_and_reset():
    x, y = _regression(8)
    # 0.99995 is not a 1e-4 relative improvement on 1.0; 0.9 is, and resets the wait
    losses = [1.0, 0.99995, 0.9, 0.89999, 0.9, 0.95]
    state = _fit(_linear(), (x, y), epochs=len(losses), batch_size=8, callbacks=[EarlyStopping(patience=2, min_delta=1e-4)], loss_fn=_scripted_losses(losses))
    assert state.history["epoch"] == [0, 1, 2, 3, 4]


def test_early_stopping_never_fires_while_improving():
    x, y = _regression(8)
    losses = [5.0, 4.0, 3.0, 2.0, 1.0]
    state = _fit(_linear(), (x, y), epochs=5, batch_size=8, callbacks=[EarlyStopping(patience=1)], loss_fn=_scripted_losses(losses))
    assert len(state.history["loss"]) == 5 and not state.stop


def test_early_stopping_monitors_other_keys_and_validates_patience():
    stopper = EarlyStopping(patience=1, monitor="val")
    state = TrainState(module=nn.Linear(1, 1), optimizer=None, epochs=3)  # type: ignore[arg-type]
    stopper.on_train_begin(state)
    state.logs = {"loss": 0.0, "val": 2.0}
    stopper.on_epoch_end(state)
    assert not state.stop
    state.logs = {"loss": 0.0, "val": 3.0}
    stopper.on_epoch_end(state)
    assert state.stop
    with pytest.raises(ValueError, match="patience must be >= 1"):
        EarlyStopping(patience=0)


# --- reproducibility and resuming ---------------------------------------------------------
def test_shuffling_reproducible_with_same_generator_seed():
    x, y = _regression(20)
    recs = []
    for seed in (7, 7, 8):
        rec = Recorder()
        _fit(_linear(), (x, y), epochs=2, batch_size=6, seed=seed, callbacks=[rec])
        recs.append(torch.cat(rec.batches))
    assert torch.equal(recs[0], recs[1])
    assert not torch.equal(recs[0], recs[2])


def test_shuffling_does_not_touch_global_torch_rng():
    x, y = _regression(20)
    model = _linear()
    before = torch.random.get_rng_state()
    _fit(model, (x, y), epochs=2, batch_size=6)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_resume_from_start_epoch_matches_uninterrupted_run():
    x, y = _regression(50)
    full = _linear(seed=3)
    resumed = copy.deepcopy(full)
    kw = dict(batch_size=8)

    opt_full = torch.optim.Adam(full.parameters(), lr=0.01)
    state_full = _fit(full, (x, y), epochs=4, optimizer=opt_full, generator=torch.Generator().manual_seed(1), **kw)

    # first half
    opt = torch.optim.Adam(resumed.parameters(), lr=0.01)
    half = _fit(resumed, (x, y), epochs=2, optimizer=opt, generator=torch.Generator().manual_seed(1), **kw)
    # a "restart": fresh module and optimizer loaded from the saved state, fresh generator
    module2 = _linear(seed=99)
    module2.load_state_dict(copy.deepcopy(resumed.state_dict()))
    opt2 = torch.optim.Adam(module2.parameters(), lr=0.01)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    state2 = _fit(module2, (x, y), epochs=4, optimizer=opt2, generator=torch.Generator().manual_seed(1), start_epoch=2, state=half, **kw)

    for a, b in zip(full.parameters(), module2.parameters()):
        assert torch.equal(a, b)
    assert state2.history["epoch"] == [0, 1, 2, 3]
    assert state2.history["loss"] == state_full.history["loss"]
    assert state2.step == state_full.step == 4 * math.ceil(50 / 8)


# --- errors -------------------------------------------------------------------------------
def test_huge_learning_rate_diverges_with_floating_point_error():
    x, y = _regression(64)
    with pytest.raises(FloatingPointError, match="training diverged at epoch"):
        _fit(_linear(), (x, y), epochs=20, batch_size=4, lr=1e12)


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_non_finite_loss_raises_floating_point_error(bad):
    x, y = _regression(8)

    def loss_fn(module, batch, state):
        return (module.weight * 0).sum() + bad

    with pytest.raises(FloatingPointError, match="smaller learning rate"):
        _fit(_linear(), (x, y), epochs=3, batch_size=4, loss_fn=loss_fn)


def test_mismatched_tensor_lengths_raise():
    x, y = _regression(10)
    with pytest.raises(ValueError, match="same number of rows"):
        _fit(_linear(), (x, y[:9]))


def test_zero_samples_and_bad_batch_size_raise():
    x, y = _regression(10)
    with pytest.raises(ValueError, match="zero samples"):
        _fit(_linear(), (x[:0], y[:0]))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        _fit(_linear(), (x, y), batch_size=0)


def test_bf16_autocast_on_cpu_runs_and_logs_float_losses():
    x, y = _regression(16)
    state = _fit(_linear(), (x, y), epochs=2, batch_size=8, autocast_dtype=torch.bfloat16)
    assert all(isinstance(v, float) and math.isfinite(v) for v in state.history["loss"])


# --- stopping mid-epoch -------------------------------------------------------------------
def test_max_steps_reached_at_an_epochs_end_is_the_stop_reason():
    x, y = torch.arange(12.0).reshape(12, 1), torch.zeros(12, 1)
    state = _fit(nn.Linear(1, 1), (x, y), epochs=2, batch_size=4, max_steps=6)  # 3 steps an epoch: the budget ends with epoch 1
    assert state.step == 6 and state.stop_reason == "reached max_steps=6"
    assert _fit(nn.Linear(1, 1), (x, y), epochs=2, batch_size=4, max_steps=7).stop_reason is None  # the epochs ran out first


def test_max_steps_stops_mid_epoch_and_logs_the_batches_run():
    x, y = torch.arange(10.0).reshape(10, 1), torch.zeros(10, 1)
    rec = Recorder()

    def loss_fn(module, batch, state):
        xb, _ = batch
        return {"loss": (module(xb) * 0).sum(), "mean_x": xb.mean()}

    state = _fit(nn.Linear(1, 1), (x, y), epochs=5, batch_size=4, max_steps=4, callbacks=[rec], loss_fn=loss_fn)
    # 3 steps per epoch: epoch 0 full, epoch 1 stops after its first batch
    assert state.step == 4
    assert state.history["epoch"] == [0, 1]
    assert state.stop_reason == "reached max_steps=4"
    assert rec.events.count("batch") == 4
    # epoch 1's mean covers its one batch of 4 rows only
    first = rec.batches[3].float().mean().item()
    assert state.history["mean_x"][1] == pytest.approx(first)


def test_max_steps_at_an_epoch_boundary_adds_no_empty_epoch():
    x, y = _regression(8)
    state = _fit(_linear(), (x, y), epochs=5, batch_size=4, max_steps=4)
    assert state.step == 4 and state.history["epoch"] == [0, 1]
    assert all(math.isfinite(v) for v in state.history["loss"])


def test_callback_can_stop_before_a_batch():
    class StopAtStep(Callback):
        def on_batch_begin(self, state):
            if state.step == 5:
                state.stop, state.stop_reason = True, "labels settled"

    x, y = _regression(12)
    state = _fit(_linear(), (x, y), epochs=4, batch_size=4, callbacks=[StopAtStep()])
    assert state.step == 5  # the batch that saw stop=True was not run
    assert state.history["epoch"] == [0, 1]
    assert state.stop_reason == "labels settled"


def test_adam_uses_the_fused_kernel_on_cpu_and_matches_the_default_rule():
    from deepclust.train import adam

    torch.manual_seed(0)
    a, b = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    fast, plain = adam(a.parameters(), lr=1e-2), torch.optim.Adam(b.parameters(), lr=1e-2, foreach=False)
    assert fast.defaults["fused"] is True
    x = torch.randn(16, 5)
    for _ in range(5):
        for net, opt in ((a, fast), (b, plain)):
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    meta = torch.nn.Linear(2, 2, device="meta")
    assert not adam(meta.parameters(), lr=1e-3).defaults.get("fused")
    with pytest.raises(ValueError, match="no parameters"):
        adam([], lr=1e-3)


def _is_flushed() -> bool:
    """Whether the CPU currently flushes denormals: 1e-39 (a float32 denormal) times one reads as zero."""
    return (torch.tensor([1e-39]) * 1.0).item() == 0.0


@pytest.fixture
def flushing_off():
    """Denormals kept (PyTorch's default) at the start; skips where the CPU cannot flush them."""
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals")


@pytest.mark.usefixtures("flushing_off")
def test_training_flushes_denormals_and_restores_the_default_afterwards():
    # denormal Adam moments made a late epoch ~1.6x slower (NOTES_n2d.md session 7); the loop flushes them while it runs
    seen = []

    class Probe(Callback):
        def on_batch_begin(self, state):
            seen.append(_is_flushed())

    assert not _is_flushed()
    _fit(_linear(), _regression(), epochs=2, callbacks=[Probe()])
    assert seen and all(seen)
    assert not _is_flushed()  # off again after training


@pytest.mark.usefixtures("flushing_off")
def test_nested_training_keeps_flushing_until_the_outermost_ends():
    inner_after = []

    class Nested(Callback):
        def on_epoch_end(self, state):
            if not inner_after:  # one inner run, as a method's callback might train a second module
                _fit(_linear(1), _regression(seed=1), epochs=1)
                inner_after.append(_is_flushed())

    _fit(_linear(), _regression(), epochs=2, callbacks=[Nested()])
    assert inner_after == [True]
    assert not _is_flushed()


def test_zero_denormal_state_clears_only_values_below_the_smallest_normal():
    from deepclust.train.loop import zero_denormal_state

    w = nn.Parameter(torch.zeros(4))
    opt = torch.optim.Adam([w], lr=0.1)
    w.grad = torch.ones(4)
    opt.step()
    tiny = torch.finfo(torch.float32).tiny
    opt.state[w]["exp_avg"].copy_(torch.tensor([tiny / 4, -tiny / 8, tiny, 0.5]))  # two denormals, two normal values
    step_before = opt.state[w]["step"].clone()
    zero_denormal_state(opt)
    assert opt.state[w]["exp_avg"].tolist() == [0.0, 0.0, tiny, 0.5]
    assert torch.equal(opt.state[w]["step"], step_before)  # a scalar count is left alone


# -- fit_module(cuda_graph=True): the captured step -----------------------------------------------
def _autoencoder_run(X: torch.Tensor, *, cuda_graph: bool, device: str = "cpu", epochs: int = 3):
    from deepclust.nn.autoencoder import mlp_autoencoder
    from deepclust.train.optim import adam

    torch.manual_seed(0)
    net = mlp_autoencoder(X.shape[1], [16], 3).to(device)
    opt = adam(net.parameters(), lr=1e-2, **({"capturable": True} if cuda_graph else {}))
    state = fit_module(net, lambda m, b, s: m.loss(b[0]), (X.to(device),), epochs=epochs, batch_size=64, optimizer=opt,
                       generator=torch.Generator().manual_seed(1), cuda_graph=cuda_graph)
    return state.history["loss"], [p.detach().cpu().clone() for p in net.parameters()]


def test_graph_step_trains_exactly_like_the_eager_loop(monkeypatch):
    """The captured step's machinery (the index buffer, three warm-up steps, one capture, replays,
    the last smaller batch run eagerly) trains on the same rows in the same order as the eager
    loop. Off CUDA nothing can be captured, so the capture is replaced by re-running the recorded
    step: what is checked here is everything around the graph (the graph itself matched the eager
    step's loss on an H100, benchmarks/ae_step_cuda.py)."""
    from deepclust.train import loop

    X = torch.rand(1000, 12, generator=torch.Generator().manual_seed(0))  # 15 full batches of 64 and one of 40
    eager_loss, eager_w = _autoencoder_run(X, cuda_graph=False)
    captured, partial = [], []
    monkeypatch.setattr(loop, "_can_capture", lambda run: True)

    def record(self, state):
        captured.append(self.warmed)
        return lambda: self.body(state)

    body = loop._GraphStep.body

    def spy_body(self, state, rows=None):
        if rows is not None:
            partial.append(rows.shape[0])
        return body(self, state, rows)

    monkeypatch.setattr(loop._GraphStep, "_record", record)
    monkeypatch.setattr(loop._GraphStep, "body", spy_body)
    graph_loss, graph_w = _autoencoder_run(X, cuda_graph=True)
    assert captured == [loop._GraphStep.WARMUP]  # captured once, after the warm-up steps
    assert partial == [40, 40, 40]  # each epoch's last, smaller batch ran eagerly
    assert graph_loss == eager_loss
    assert all(torch.equal(a, b) for a, b in zip(eager_w, graph_w))


def test_graph_step_is_not_used_where_it_cannot_be():
    """Off CUDA, under torchrun, with an optimiser that cannot be captured, or with a callback acting
    before each batch, cuda_graph=True runs the eager step."""
    from deepclust.train import loop
    from deepclust.train.batches import TensorBatches

    class BeforeBatch(Callback):
        def on_batch_begin(self, state):
            pass

    def run(source, callbacks=(), world=1, capturable=True):
        lin = nn.Linear(3, 1).to(source.device)
        opt = torch.optim.Adam(lin.parameters(), capturable=capturable) if source.device.type == "cuda" else None
        return loop._Run(lin, _mse, opt, None, source, list(callbacks), 8, None, None, 0, world)

    cpu = TensorBatches([torch.zeros(8, 3)])
    assert not loop._can_capture(run(cpu))
    X = torch.rand(300, 12, generator=torch.Generator().manual_seed(0))
    eager_loss, eager_w = _autoencoder_run(X, cuda_graph=False)
    loss, w = _autoencoder_run(X, cuda_graph=True)
    assert loss == eager_loss and all(torch.equal(a, b) for a, b in zip(w, eager_w))
    if torch.cuda.is_available():
        gpu = TensorBatches([torch.zeros(8, 3, device="cuda")])
        assert loop._can_capture(run(gpu))
        assert not loop._can_capture(run(gpu, [BeforeBatch()]))
        assert not loop._can_capture(run(gpu, world=2))
        assert not loop._can_capture(run(gpu, capturable=False))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_graph_step_on_cuda_matches_the_eager_step():
    """On a GPU the replayed graph trains like the eager loop (same batches; cuBLAS may pick other
    kernels inside a graph, so equal to float32 rounding, not bit for bit), and AutoencoderEmbedding
    (cuda_graph=True) gives the eager run's codes."""
    from deepclust.methods import AutoencoderEmbedding

    X = torch.rand(1000, 12, generator=torch.Generator().manual_seed(0))
    eager_loss, eager_w = _autoencoder_run(X, cuda_graph=False, device="cuda")
    graph_loss, graph_w = _autoencoder_run(X, cuda_graph=True, device="cuda")
    assert graph_loss == pytest.approx(eager_loss, rel=1e-4)
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(eager_w, graph_w))
    Xn = X.numpy()
    kw = dict(hidden_dims=(32,), latent_dim=3, epochs=5, batch_size=64, device="cuda", random_state=0)
    a = AutoencoderEmbedding(**kw).fit(Xn)
    b = AutoencoderEmbedding(cuda_graph=True, **kw).fit(Xn)
    assert b.history_["loss"] == pytest.approx(a.history_["loss"], rel=1e-3)
    assert abs(a.transform(Xn) - b.transform(Xn)).max() < 1e-2
