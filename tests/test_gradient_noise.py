"""Gradient noise of batched members (initlab.train.gradient_noise) against plain per-network
computations: per-minibatch gradients of an nn.Module, and the one-shot tail index of the stored
(P, M) gradient matrix (Simsekli et al.'s way)."""

import pytest
import torch
from torch.nn import functional as F

from initlab.nn.models import MLP, BatchedMLP, MLPSpec
from initlab.stats.tail_index import gradient_noise_tail_index
from initlab.train import seed_generator
from initlab.train.gradient_noise import minibatch_gradients, tail_indices

SPEC = MLPSpec(5, 6, 1, 3, relu_on_logits=True)


def setup(n=70):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (n,), generator=g)
    net = BatchedMLP(SPEC)
    params = {k: v.double() for k, v in net.init([seed_generator(s, "init") for s in (1, 2)]).items()}
    return net, params, x, y


def module_gradients(params, s, x, y, batch):
    module = MLP(SPEC, {k: v[s] for k, v in params.items()}).double()
    rows = []
    for start in range(0, len(y), batch):
        module.zero_grad()
        F.cross_entropy(module(x[start:start + batch]), y[start:start + batch]).backward()
        rows.append(torch.cat([p.grad.reshape(-1) for p in module.parameters()]))
    return torch.stack(rows)


def test_minibatch_gradients_equal_per_network_gradients():
    net, params, x, y = setup()
    batched = torch.stack(list(minibatch_gradients(net, params, x, y, 16)))  # (P, S, M); last batch has 6
    assert batched.shape[0] == 5
    for s in range(2):
        torch.testing.assert_close(batched[:, s], module_gradients(params, s, x, y, 16), rtol=1e-10, atol=1e-12)


def test_tail_indices_equal_the_stored_gradient_estimate():
    net, params, x, y = setup(n=96)
    alphas = tail_indices(net, params, x, y, 8)
    for s in range(2):
        expected = gradient_noise_tail_index(module_gradients(params, s, x, y, 8))
        assert alphas[s].item() == pytest.approx(expected, rel=1e-9)
    before = {k: v.clone() for k, v in params.items()}
    tail_indices(net, params, x, y, 8)
    assert all(torch.equal(before[k], params[k]) for k in params)  # parameters untouched


def test_one_minibatch_has_no_noise():
    net, params, x, y = setup(n=10)
    with pytest.raises(ValueError, match="at least 2"):
        tail_indices(net, params, x, y, 16)
