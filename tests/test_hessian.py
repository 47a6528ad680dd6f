"""Hutchinson's Hessian trace for batched members: exact on a diagonal Hessian, against the exact Hessian
(torch.autograd.functional.hessian) of a small net with an LDLT layer (double backward through
cholesky and solve_triangular), per-member independence and reproducibility."""

import math

import pytest
import torch
import torch.nn.functional as F

from initlab.nn.ldlt import LDLTNormalization
from initlab.train.hessian import hutchinson_trace

TRACE_NAMES = ["w0", "w1", "w2"]  # the raw weights; the bias b0 is not in the trace


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tiny ops here run ~20x slower with 2 intra-op threads on a busy 2-core machine (measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_diagonal_hessian_is_exact_with_zero_variance():
    S = 3
    a = torch.rand(S, 5, generator=_gen(0), dtype=torch.float64) * 4 - 1  # curvatures of both signs
    c = torch.rand(S, 2, generator=_gen(1), dtype=torch.float64) + 0.5
    params = {"w": torch.randn(S, 5, generator=_gen(2), dtype=torch.float64),
              "b": torch.randn(S, 2, generator=_gen(3), dtype=torch.float64),
              "e": torch.randn(S, 4, generator=_gen(4), dtype=torch.float64)}

    def loss_fn(p):  # H_ww = diag(a), H_bb = diag(c), H_wb != 0 (coupling), e enters linearly (zero curvature)
        w, b, e = p["w"], p["b"], p["e"]
        return (0.5 * a * w ** 2).sum(1) + (0.5 * c * b ** 2).sum(1) + (w[:, :2] * b).sum(1) + 3 * e.sum(1)

    mean, stderr = hutchinson_trace(loss_fn, params, ["w", "e"], probes=20, generator=_gen(5))
    # every probe gives v^T H v = sum_j a_j v_j^2 = sum_j a_j exactly: zero spread, mean up to rounding
    assert torch.allclose(mean, a.sum(1), rtol=1e-14, atol=0) and torch.equal(stderr, torch.zeros_like(stderr))
    # over (w, b) the coupling's off-diagonal terms make v^T H v random: the trace is right on average only
    mean, stderr = hutchinson_trace(loss_fn, params, ["w", "b"], probes=20, generator=_gen(5))
    assert (stderr > 0).all() and not torch.allclose(mean, a.sum(1) + c.sum(1))
    mean, stderr = hutchinson_trace(loss_fn, params, ["w"], probes=1, generator=_gen(5))
    assert torch.equal(mean, a.sum(1)) and torch.isnan(stderr).all()


def _net_params(S=2, dtype=torch.float64):
    g = _gen(10)
    return {"w0": torch.randn(S, 4, 3, generator=g, dtype=dtype),
            "b0": 0.3 * torch.randn(S, 4, generator=g, dtype=dtype),
            "w1": 1.5 * torch.randn(S, 4, 4, generator=g, dtype=dtype),
            "w2": torch.randn(S, 1, 4, generator=g, dtype=dtype)}


def _net_data():
    x = torch.randn(16, 3, generator=_gen(11), dtype=torch.float64)
    y = (x[:, 0] - x[:, 1] > 0).double()
    return x, y


def _net_loss_fn(x, y):
    """3 -> 4 -> 4 -> 1: tanh, then an LDLT layer (M = W U^-1), tanh, logit; mean BCE per member."""
    ldlt = LDLTNormalization()

    def loss_fn(p):
        h = torch.tanh(x @ p["w0"].transpose(-1, -2) + p["b0"][:, None, :])
        h = torch.tanh(h @ ldlt(p["w1"]).transpose(-1, -2))
        logits = (h @ p["w2"].transpose(-1, -2))[..., 0]
        return F.binary_cross_entropy_with_logits(logits, y.expand_as(logits), reduction="none").mean(1)

    return loss_fn


def _exact_hessian(loss_fn, params, member):
    """The member's Hessian over TRACE_NAMES, flattened, from torch.autograd.functional.hessian."""
    one = {k: v[member:member + 1] for k, v in params.items()}
    sizes = [one[k].numel() for k in TRACE_NAMES]

    def f(theta):
        parts = dict(one, **{k: t.reshape(one[k].shape) for k, t in zip(TRACE_NAMES, theta.split(sizes))})
        return loss_fn(parts)[0]

    return torch.autograd.functional.hessian(f, torch.cat([one[k].flatten() for k in TRACE_NAMES]))


def test_net_with_ldlt_layer_matches_exact_hessian():
    params, loss_fn = _net_params(), _net_loss_fn(*_net_data())
    probes = 2000  # over 40 generator seeds: |mean - trace| <= 3.4 stderr, sd ratio within +-5 %
    mean, stderr = hutchinson_trace(loss_fn, params, TRACE_NAMES, probes=probes, generator=_gen(12))
    for s in range(2):
        hessian = _exact_hessian(loss_fn, params, s)
        assert torch.allclose(hessian, hessian.T, atol=1e-12)
        trace = torch.trace(hessian).item()
        # Rademacher probes: Var[v^T H v] = 2 sum_{i != j} H_ij^2, so the reported standard error must match
        sd = math.sqrt(2 * ((hessian ** 2).sum() - (torch.diagonal(hessian) ** 2).sum()).item())
        assert abs(mean[s].item() - trace) < 4 * stderr[s].item(), (s, mean[s].item(), trace, stderr[s].item())
        assert stderr[s].item() * math.sqrt(probes) == pytest.approx(sd, rel=0.15)
        assert abs(trace) > 5 * stderr[s].item()  # the check above has power: the trace is resolved


def test_members_are_independent_and_seeded():
    params, loss_fn = _net_params(), _net_loss_fn(*_net_data())
    for v in params.values():
        v.requires_grad_(True)
    before = {k: v.detach().clone() for k, v in params.items()}
    first = hutchinson_trace(loss_fn, params, TRACE_NAMES, probes=50, generator=_gen(13))
    with torch.no_grad():  # callers evaluate under no_grad: the function must still differentiate
        again = hutchinson_trace(loss_fn, params, TRACE_NAMES, probes=50, generator=_gen(13))
    other_seed = hutchinson_trace(loss_fn, params, TRACE_NAMES, probes=50, generator=_gen(14))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.allclose(first[0], other_seed[0])
    assert all(torch.equal(params[k], before[k]) and params[k].grad is None for k in params)

    changed = {k: v.detach().clone() for k, v in params.items()}
    changed["w1"][1] += 0.3
    changed["b0"][1] -= 0.2
    moved = hutchinson_trace(loss_fn, changed, TRACE_NAMES, probes=50, generator=_gen(13))
    assert torch.allclose(moved[0][0], first[0][0], rtol=1e-13, atol=0)
    assert torch.allclose(moved[1][0], first[1][0], rtol=1e-13, atol=0)
    assert not torch.allclose(moved[0][1], first[0][1])


def test_float32_close_to_float64():
    params, loss_fn = _net_params(), _net_loss_fn(*_net_data())
    params32 = {k: v.float() for k, v in params.items()}
    loss_fn32 = _net_loss_fn(*(t.float() for t in _net_data()))
    mean64, _ = hutchinson_trace(loss_fn, params, TRACE_NAMES, probes=20, generator=_gen(15))
    mean32, _ = hutchinson_trace(loss_fn32, params32, TRACE_NAMES, probes=20, generator=_gen(15))
    assert mean32.dtype == torch.float64  # accumulated in float64 whatever the parameters' dtype
    assert torch.allclose(mean32, mean64, rtol=1e-4, atol=1e-5)


def test_rejects_bad_arguments():
    params, loss_fn = _net_params(), _net_loss_fn(*_net_data())
    with pytest.raises(ValueError, match="probes"):
        hutchinson_trace(loss_fn, params, TRACE_NAMES, probes=0, generator=_gen(0))
    with pytest.raises(ValueError, match="subset"):
        hutchinson_trace(loss_fn, params, ["w9"], probes=1, generator=_gen(0))
    with pytest.raises(ValueError, match="per-member"):
        hutchinson_trace(lambda p: loss_fn(p).sum(), params, TRACE_NAMES, probes=1, generator=_gen(0))
