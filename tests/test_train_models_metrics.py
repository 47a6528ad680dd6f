"""Training models (initlab.nn.models), success rules and summaries (initlab.train.metrics), and the
Covertype experiment helpers (initlab.train.covtype)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from initlab.nn.lipschitz import aol_transform
from initlab.nn.models import MLP, BatchedMLP, MLPSpec
from initlab.theory.decay import bias_variance_eq42
from initlab.train import seed_generator
from initlab.train.covtype import group_names, group_spec, parse_group, split
from initlab.train.metrics import (curve_summary, rate_summary, success_absolute_change,
                                   success_relative_drop, success_table, wilson_interval)


# ---- models -------------------------------------------------------------------------------------

@pytest.mark.parametrize("lipschitz,scale", [(None, "columns"), ("aol", "columns"), ("aol", "rows")])
def test_batched_mlp_equals_per_seed_modules(lipschitz, scale):
    spec = MLPSpec(5, 12, 3, 4, lipschitz=lipschitz, aol_scale=scale, bias_init="eq42", relu_on_logits=True)
    net = BatchedMLP(spec)
    params = net.init([seed_generator(s, "init") for s in (1, 2, 3)])
    # give log_q non-trivial values so that q enters
    params = {k: (v + 0.3 * torch.randn_like(v) if k.startswith("log_q") else v) for k, v in params.items()}
    x = torch.randn(3, 9, 5)
    out = net.forward(params, x)
    for s in range(3):
        single = MLP(spec, {k: v[s] for k, v in params.items()})
        torch.testing.assert_close(out[s], single(x[s]), rtol=1e-5, atol=1e-6)
    assert (out >= 0).all()  # ReLU on logits


def test_aol_layers_internal_leaves_input_and_output_maps_plain():
    spec = MLPSpec(5, 12, 2, 4, lipschitz="aol", aol_layers="internal")
    net = BatchedMLP(spec)
    params = net.init([seed_generator(1, "init")])
    assert sorted(k for k in params if k.startswith("log_q")) == ["log_q_1", "log_q_2"]
    assert torch.equal(net.effective_weight(params, 0), params["weight_0"])
    assert torch.equal(net.effective_weight(params, 3), params["weight_3"])
    torch.testing.assert_close(net.effective_weight(params, 1), aol_transform(params["weight_1"]))
    x = torch.randn(1, 6, 5)
    torch.testing.assert_close(net.forward(params, x)[0], MLP(spec, {k: v[0] for k, v in params.items()})(x[0]))


def test_init_is_per_seed_and_independent_of_batch():
    spec = MLPSpec(5, 8, 2, 3, lipschitz="aol", bias_init="uniform_fan_in")
    both = BatchedMLP(spec).init([seed_generator(s, "init") for s in (4, 9)])
    alone = BatchedMLP(spec).init([seed_generator(9, "init")])
    for name in both:
        assert torch.equal(both[name][1], alone[name][0])
    assert not torch.equal(both["weight_0"][0], both["weight_0"][1])


def test_aol_layers_are_one_lipschitz_and_zero_bias_is_exact():
    spec = MLPSpec(7, 16, 3, 5, lipschitz="aol", bias_init="zero")
    net = BatchedMLP(spec)
    params = net.init([seed_generator(s, "init") for s in range(4)])
    for index in range(len(spec.shapes)):
        w = net.effective_weight(params, index)
        assert (torch.linalg.matrix_norm(w, 2) <= 1 + 1e-5).all()
        assert torch.count_nonzero(params[f"bias_{index}"]) == 0
    torch.testing.assert_close(net.effective_weight(params, 1), aol_transform(params["weight_1"]))  # q = 1


def test_eq42_bias_variance_monte_carlo():
    """Bias 'set' draws N(0, Var[b] of eq. (42)): the sample variance over many seeds within 4 s.e."""
    spec = MLPSpec(64, 64, 1, 7, bias_init="eq42")
    params = BatchedMLP(spec).init([seed_generator(s, "init") for s in range(200)])
    b = params["bias_1"].double().ravel()  # 64 -> 64 layer: n = d = 64
    target = float(bias_variance_eq42(64, 64))
    se = target * math.sqrt(2 / (b.numel() - 1))  # s.e. of a Gaussian sample variance
    assert abs(b.var().item() - target) < 4 * se
    assert abs(b.mean().item()) < 4 * math.sqrt(target / b.numel())


def test_default_init_is_uniform_fan_in():
    spec = MLPSpec(50, 40, 0, 3, bias_init="uniform_fan_in")
    params = BatchedMLP(spec).init([seed_generator(s, "init") for s in range(20)])
    w = params["weight_0"].ravel().double()
    bound = 1 / math.sqrt(50)
    assert w.abs().max() <= bound
    assert stats.kstest((w.numpy() + bound) / (2 * bound), "uniform").pvalue > 1e-3


def test_bad_spec_fails_early():
    with pytest.raises(ValueError, match="bias_init"):
        MLPSpec(3, 4, 1, 2, bias_init="normal")
    with pytest.raises(ValueError, match="depth"):
        MLPSpec(3, 4, -1, 2)
    with pytest.raises(ValueError, match="aol_scale"):
        MLPSpec(3, 4, 1, 2, lipschitz="aol", aol_scale="both")


# ---- the hand-written backward pass ---------------------------------------------------------------

def _gradients(net, params, x, y, alive, backward):
    from initlab.train.engine import ParamLayout, loss_and_grad_fn
    layout = ParamLayout(params)
    flat = layout.flatten(params)
    grad_flat = torch.zeros_like(flat)
    leaves = layout.leaves(flat, grad_flat)
    loss, _ = loss_and_grad_fn(net, backward)(leaves, x, y, alive, "cross_entropy")
    return loss, grad_flat


@pytest.mark.parametrize("lipschitz,scale,layers", [(None, "columns", "all"), ("aol", "columns", "all"),
                                                    ("aol", "rows", "all"), ("aol", "columns", "internal")])
@pytest.mark.parametrize("relu_on_logits", [False, True])
@pytest.mark.parametrize("depth", [0, 1, 4])
@pytest.mark.parametrize("activation,groups,chunked", [("relu", 4, False), ("leaky_relu", 4, False),
                                                      ("leaky_relu", 2, False), ("relu", 4, True),
                                                      ("leaky_relu", 2, True)])
def test_manual_backward_equals_autograd(lipschitz, scale, layers, relu_on_logits, depth, activation, groups,
                                         chunked):
    """Every parameter's gradient (float64), including a dead seed (zero gradient), equals autograd's
    through ``forward``; the loss equals too.  groups < 4: pairs of members share their inputs;
    chunked: the manual pass runs one input group after another (``member_chunks``)."""
    spec = MLPSpec(5, 8, depth, 3, lipschitz=lipschitz, aol_scale=scale, aol_layers=layers,
                   relu_on_logits=relu_on_logits, bias_init="uniform_fan_in", activation=activation,
                   slope=0.2 if activation == "leaky_relu" else None)
    net = BatchedMLP(spec)
    assert net.manual_backward
    if chunked:
        net.CHUNK_BYTES = 1
        assert len(net.member_chunks(4, groups, 7, 8)) == groups
    g = torch.Generator().manual_seed(depth)
    params = {k: (0.3 * torch.randn(v.shape, generator=g) if k.startswith("log_q") else v).double()
              for k, v in net.init([seed_generator(s, "init") for s in (1, 2, 3, 4)]).items()}
    x = torch.randn(groups, 7, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (4, 7), generator=g)
    alive = torch.tensor([True, False, True, True])
    loss_manual, grad_manual = _gradients(net, params, x, y, alive, "manual")
    loss_autograd, grad_autograd = _gradients(net, params, x, y, alive, "autograd")
    torch.testing.assert_close(loss_manual, loss_autograd, rtol=1e-13, atol=0)
    torch.testing.assert_close(grad_manual, grad_autograd, rtol=1e-11, atol=1e-13)
    assert grad_autograd.abs().max() > 1e-3  # the comparison is not between zeros
    from initlab.train.engine import ParamLayout
    dead = ParamLayout(params).views(grad_manual)
    assert all(torch.all(v[1] == 0) for v in dead.values())


def test_member_chunks_are_whole_input_groups_within_the_budget():
    net = BatchedMLP(MLPSpec(784, 10, 98, 10))
    per_member = 99 * 11 * 256 * 4  # stored activations of one member at batch 256 (float32)
    for n_members, n_groups in [(420, 10), (420, 420), (7, 7), (42, 1), (600, 100)]:
        chunks = net.member_chunks(n_members, n_groups, 256)
        group = n_members // n_groups
        assert [c.start for c in chunks] == sorted({c.start for c in chunks}) and chunks[0].start == 0
        assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:])) and chunks[-1].stop == n_members
        assert all(c.start % group == 0 and c.stop % group == 0 for c in chunks)
        sizes = [c.stop - c.start for c in chunks]
        assert max(sizes) * per_member <= max(net.CHUNK_BYTES, group * per_member)  # one group may exceed it
        assert len(set(sizes[:-1])) <= 1 and sizes[-1] <= sizes[0]  # equal blocks, the last one no larger
        if len(chunks) > 1:  # no fewer blocks would do: two of them together exceed the budget
            assert (sizes[0] + sizes[-1]) * per_member > net.CHUNK_BYTES
    assert len(BatchedMLP(MLPSpec(54, 64, 30, 7)).member_chunks(10, 10, 64)) == 1  # the decay group: one block


def test_manual_backward_availability_and_layout_check():
    from initlab.train.engine import loss_and_grad_fn
    assert not BatchedMLP(MLPSpec(5, 8, 2, 3, dropout=0.1)).manual_backward
    assert not BatchedMLP(MLPSpec(5, 8, 2, 3, activation="tanh")).manual_backward
    with pytest.raises(ValueError, match="no hand-written backward"):
        loss_and_grad_fn(BatchedMLP(MLPSpec(5, 8, 2, 3, dropout=0.1)), "manual")
    with pytest.raises(ValueError, match="backward 'sideways'"):
        loss_and_grad_fn(BatchedMLP(MLPSpec(5, 8, 2, 3)), "sideways")
    net = BatchedMLP(MLPSpec(5, 8, 2, 3))
    params = {k: v.requires_grad_(True) for k, v in net.init([seed_generator(1, "init")]).items()}  # separate tensors
    with pytest.raises(ValueError, match="back to back"):
        net.forward_for_backward(params, torch.randn(1, 4, 5))


# ---- success rules ------------------------------------------------------------------------------

def test_success_rules_on_hand_made_curves():
    flat = [2.0, 1.5, 1.5, 1.499, 1.498, 1.497, 1.496]
    assert not success_relative_drop(flat)                 # < 1 % below epoch 2's 1.5
    assert success_relative_drop([2.0, 1.5, 1.5, 1.4, 1.45, 1.5, 1.5])  # 1.4 < 0.99 * 1.5 at epoch 4
    assert success_relative_drop([1.0, 1.0, 0.2, 2.0, 2.0])  # a drop counts even if the loss rises later
    assert not success_relative_drop([0.5, 1.0, 1.0, 1.0])   # epoch 1 does not count ("from epoch 2")
    assert not success_absolute_change(flat)               # |L[5] - L[6]| = 0.001
    assert success_absolute_change([1, 1, 1, 1, 1, 1.0, 1.2])
    assert success_absolute_change([1, 1, 1, 1, 1, 1.2, 1.0])  # an increase counts too (absolute change)
    assert not success_relative_drop([2.0, 1.5, float("nan"), 0.5])
    with pytest.raises(ValueError, match="epochs"):
        success_absolute_change([1, 1, 1])


@given(st.lists(st.floats(0.01, 10), min_size=4, max_size=12), st.floats(0.001, 0.5))
@settings(max_examples=50, deadline=None)
def test_relative_drop_matches_brute_force(curve, rel):
    expected = any(curve[e] < (1 - rel) * curve[1] for e in range(2, len(curve)))
    assert success_relative_drop(curve, 2, rel) == expected


def test_wilson_interval_matches_the_closed_form_and_contains_its_rate():
    z = stats.norm.ppf(0.975)
    for n in range(1, 41):
        for k in range(n + 1):
            p = k / n
            centre = (p + z * z / (2 * n)) / (1 + z * z / n)
            half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
            lo, hi = wilson_interval(k, n)
            assert lo == pytest.approx(max(0.0, centre - half), abs=1e-12)
            assert hi == pytest.approx(min(1.0, centre + half), abs=1e-12)
            assert lo <= p <= hi  # error bars rate - lo and hi - rate are never negative
    assert np.isnan(wilson_interval(0, 0)).all()


def test_success_table_and_summaries():
    rows = []
    for seed, curve in enumerate([[3, 2, 1.0, 0.5, 0.4, 0.3, 0.2], [3, 2, 2, 2, 2, 2, 2.0]]):
        rows.append({"model": "aol", "depth": 5, "bias": "set", "seed": seed, "epoch": 0, "train_loss": np.nan})
        rows += [{"model": "aol", "depth": 5, "bias": "set", "seed": seed, "epoch": e + 1, "train_loss": v}
                 for e, v in enumerate(curve)]
    metrics = pd.DataFrame(rows)
    keys = ["model", "depth", "bias"]
    table = success_table(metrics, keys, 2, 0.01, 5, 0.01)
    assert table["success_paper"].tolist() == [True, False]
    assert table["success_authors"].tolist() == [True, False]
    rates = rate_summary(table, keys)
    assert rates.set_index("rule").loc["paper", "rate"] == 0.5
    summary = curve_summary(metrics, keys)
    assert summary.loc[summary.epoch == 7, "train_loss_mean"].item() == pytest.approx(1.1)
    assert summary.loc[summary.epoch == 7, "train_loss_std"].item() == pytest.approx(np.std([0.2, 2.0], ddof=1))


# ---- Covertype helpers --------------------------------------------------------------------------

def test_group_names_round_trip():
    names = group_names([5, 30])
    assert len(names) == 6
    assert [parse_group(n) for n in names][:3] == [("aol", 5, "zero"), ("aol", 5, "set"), ("plain", 5, "default")]
    for bad in ("aol_d5_default", "plain_d5_set", "aol_5_zero"):
        with pytest.raises(ValueError):
            parse_group(bad)
    p = {"width": 64, "bias_set_init": "eq42", "aol_scale": "columns", "relu_on_logits": False}
    spec = group_spec("aol_d15_set", p)
    assert spec.depth == 15 and spec.bias_init == "eq42" and spec.lipschitz == "aol" and len(spec.shapes) == 17
    assert group_spec("plain_d5_default", p).bias_init == "uniform_fan_in"
    assert group_spec("aol_d5_zero", p).bias_init == "zero"


def test_split_is_a_deterministic_disjoint_partition():
    features = np.arange(1000 * 3, dtype=np.float32).reshape(1000, 3)
    labels = np.arange(1000) % 7
    a = split(features, labels, 500, 0.2, seed=1)
    b = split(features, labels, 500, 0.2, seed=1)
    assert len(a.y_train) == 400 and len(a.y_test) == 100
    assert torch.equal(a.x_train, b.x_train)
    rows_train, rows_test = set(a.x_train[:, 0].tolist()), set(a.x_test[:, 0].tolist())
    assert not rows_train & rows_test
    assert torch.equal(a.y_train, (a.x_train[:, 0] / 3).long() % 7)  # labels stay with their rows
    full = split(features, labels, None, 0.2, seed=1)
    assert len(full.y_train) + len(full.y_test) == 1000
    with pytest.raises(ValueError, match="rows"):
        split(features, labels, 5000, 0.2, seed=1)
