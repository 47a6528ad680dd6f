"""The batched LDLT networks of the HIGGS sweep (initlab.nn.ldlt_net), fold subsets in the engine,
and the per-epoch cosine schedule."""

import math

import numpy as np
import pytest
import torch

from initlab.nn.inits import InitSpec
from initlab.nn.ldlt_net import BatchedLDLT, LDLTNet, LDLTNetSpec
from initlab.nn.models import BatchedMLP, MLPSpec
from initlab.train import Data, TrainSettings, train
from initlab.train.engine import seed_generator
from initlab.train.members import Member
from initlab.train.optim import lr_factor


def _params(spec, scales=(1.0, 4.0, 10.0), dtype=torch.float64):
    model = BatchedLDLT(spec)
    params = model.init([seed_generator(k, "init") for k in range(len(scales))],
                        [InitSpec.parse({"method": "scaled_normal", "scale": s}) for s in scales])
    return model, {k: v.to(dtype) for k, v in params.items()}


def test_batched_member_equals_the_same_network_alone():
    spec = LDLTNetSpec(7, 6, 4)
    model, params = _params(spec)
    params["bias_1"] += 0.125  # a non-zero bias (exact in float32, as LDLTNet stores it) reaches the comparison
    x = torch.randn(5, 7, dtype=torch.float64)
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    out = model.forward(leaves, x)
    out.pow(2).sum().backward()
    for s in range(3):
        net = LDLTNet(spec, {k: v[s] for k, v in params.items()}).double()
        alone = net(x)
        torch.testing.assert_close(out[s].detach(), alone.detach(), rtol=1e-10, atol=1e-12)
        alone.pow(2).sum().backward()
        for k, layer in enumerate(net.layers):
            torch.testing.assert_close(leaves[f"weight_{k}"].grad[s], layer.parametrizations.weight.original.grad)
            torch.testing.assert_close(leaves[f"bias_{k}"].grad[s], layer.bias.grad)


def test_init_of_a_member_does_not_depend_on_the_batch_and_scales_one_draw():
    spec = LDLTNetSpec(7, 6, 3)
    _, three = _params(spec, scales=(1.0, 2.0, 3.0))
    model = BatchedLDLT(spec)
    alone = model.init([seed_generator(1, "init")], [InitSpec.parse({"method": "scaled_normal", "scale": 2.0})])
    for k, v in alone.items():
        torch.testing.assert_close(v[0].double(), three[k][1])
    # sigma = scale / sqrt(fan_in): the empirical std of a large layer matches
    big = BatchedLDLT(LDLTNetSpec(400, 300, 2)).init([seed_generator(0, "init")],
                                                     [InitSpec.parse({"method": "scaled_normal", "scale": 4.0})])
    assert big["weight_0"].std().item() == pytest.approx(4.0 / math.sqrt(400), rel=0.01)


def test_coupled_form_equals_its_formula_with_explicit_inverses():
    spec = LDLTNetSpec(5, 4, 3, alpha=0.7, gamma=1.3, form="coupled")
    model, params = _params(spec)
    got, _ = model.effective_weights(params)
    for s in range(3):
        previous = None
        for k in range(3):
            w = params[f"weight_{k}"][s]
            upper = torch.linalg.cholesky(0.7 * torch.eye(w.shape[1], dtype=w.dtype) + w.T @ w, upper=True)
            m = 1.3 * w @ torch.linalg.inv(upper)
            if previous is not None:
                m = math.sqrt(0.7) * m @ torch.linalg.inv(previous)
            previous = torch.linalg.cholesky(0.7 * torch.eye(w.shape[0], dtype=w.dtype) + w @ w.T)
            torch.testing.assert_close(got[k][s], m)


@pytest.mark.parametrize("form", ["independent", "coupled"])
def test_spectral_norm_bound_holds_for_every_member_after_training(form):
    spec = LDLTNetSpec(6, 8, 4, gamma=1.0, form=form)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 6, generator=g)
    y = (x[:, 0] > 0).long()
    members = [Member(k, InitSpec.parse({"method": "scaled_normal", "scale": s})) for k, s in enumerate((1, 4, 10))]
    result = train(BatchedLDLT(spec), members, Data(x, y), TrainSettings(epochs=3, batch_size=32, optimizer="adam",
                                                                          lr=0.05, loss="bce"), log=lambda _: None)
    start = BatchedLDLT(spec).init([seed_generator(m.seed, "init") for m in members], [m.init for m in members])
    assert not torch.allclose(result.params["weight_1"], start["weight_1"])  # it trained
    for m in BatchedLDLT(spec).effective_weights({k: v.double() for k, v in result.params.items()})[0]:
        assert torch.linalg.matrix_norm(m, 2).max().item() <= 1.0 + 1e-9


def test_a_member_whose_factorization_fails_gets_nan_and_the_others_do_not():
    spec = LDLTNetSpec(4, 3, 2)
    model, params = _params(spec, scales=(1.0, 1.0))
    params["weight_0"][1, 0, 0] = float("nan")
    out = model.forward(params, torch.randn(5, 4, dtype=torch.float64))
    assert torch.isnan(out[1]).all() and torch.isfinite(out[0]).all()


def test_members_train_only_on_their_subset_rows():
    # rows outside the subsets are NaN: a member that drew one would die
    x = torch.randn(60, 3)
    y = (x[:, 0] > 0).long()
    x[40:] = float("nan")
    subsets = torch.stack([torch.arange(0, 20), torch.arange(20, 40)])
    model = BatchedMLP(MLPSpec(3, 4, 1, 2))
    members = [Member(k, data_seed=7, train_subset=k % 2) for k in range(4)]
    result = train(model, members, Data(x, y, train_subsets=subsets), TrainSettings(epochs=2, batch_size=8),
                   log=lambda _: None)
    assert bool(result.alive.all())
    assert np.isfinite(result.metrics.query("epoch > 0").train_loss).all()
    bad = torch.stack([torch.arange(0, 20), torch.arange(30, 50)])  # subset 1 reaches NaN rows
    result = train(model, members, Data(x, y, train_subsets=bad), TrainSettings(epochs=1, batch_size=8),
                   log=lambda _: None)
    assert result.alive.tolist() == [True, False, True, False]


def test_subset_errors_name_the_problem():
    x, y = torch.randn(10, 3), torch.zeros(10, dtype=torch.long)
    model = BatchedMLP(MLPSpec(3, 4, 1, 2))
    with pytest.raises(ValueError, match="no train_subsets"):
        train(model, [Member(0, train_subset=0)], Data(x, y), TrainSettings(epochs=1, batch_size=4), log=lambda _: None)
    with pytest.raises(ValueError, match="every member needs a train_subset"):
        train(model, [Member(0, train_subset=0), Member(1)], Data(x, y, train_subsets=torch.zeros(1, 4).long()),
              TrainSettings(epochs=1, batch_size=4), log=lambda _: None)
    with pytest.raises(ValueError, match="outside"):
        Data(x, y, train_subsets=torch.tensor([[0, 10]]))


def test_cosine_epoch_schedule_equals_torch_cosine_annealing_stepped_per_epoch():
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7, eta_min=1e-4)
    steps_per_epoch = 3
    for step in range(7 * steps_per_epoch):
        expected = opt.param_groups[0]["lr"]
        assert 1e-3 * lr_factor("cosine_epoch", step, 7 * steps_per_epoch, 0.1, steps_per_epoch=steps_per_epoch) \
            == pytest.approx(expected, rel=1e-12)
        if (step + 1) % steps_per_epoch == 0:
            opt.step()
            sched.step()


def test_hand_derived_backward_equals_autograd_through_cholesky():
    spec = LDLTNetSpec(5, 6, 3, alpha=0.7, gamma=1.3)
    model, params = _params(spec)
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    grads = []
    for twice in (False, True):
        leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
        model.forward(leaves, x, twice_differentiable=twice).sin().sum().backward()
        grads.append({k: v.grad for k, v in leaves.items()})
    for k in params:
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-10, atol=1e-12)
    weight = params["weight_1"][:2].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda w: BatchedLDLT(spec).effective_weights(
        {**{f"weight_{k}": params[f"weight_{k}"][:2] for k in range(3)}, "weight_1": w})[0][1], (weight,))
