"""Deep AOL ReLU net simulation (initlab.nn.deep_variance) against autograd, a dense recomputation
and the variance recursions of eqs. (14) and (45)."""
import numpy as np
import pytest
import torch

from initlab.nn import lipschitz
from initlab.nn.deep_variance import simulate_deep_net
from initlab.theory import decay


@pytest.fixture(scope="module")
def small_run():
    return simulate_deep_net(24, 4, 300, {"zero": 0.0, "eq42": 0.7}, seed=3, backward=True, bins=20,
                             dtype=torch.float64, keep_tensors=True)


def test_forward_and_backward_match_autograd(small_run):
    """Rebuild the net from the raw weights with nn.Linear + the AOL parametrization (register_aol)
    and differentiate with autograd."""
    t = small_run["tensors"]
    for mode in ("zero", "eq42"):
        x = t["input"].clone().requires_grad_(True)
        acts, pre = [], []
        for raw_w, b in zip(t["weights"], t["biases"][mode]):
            layer = torch.nn.Linear(24, 24, dtype=torch.float64)
            with torch.no_grad():
                layer.weight.copy_(raw_w)
                layer.bias.copy_(b)
            lipschitz.register_aol(layer)
            x.retain_grad()  # dE/dx_l of the intact graph
            acts.append(x)
            y = layer(x)
            pre.append(y.detach())
            x = torch.relu(y)
        (x * t["upstream"]).sum().backward()
        for y, s in zip(pre, small_run["forward"][mode]):
            assert s["var"] == pytest.approx(torch.var(y).item(), rel=1e-10)
            assert s["mean"] == pytest.approx(y.mean().item(), rel=1e-9, abs=1e-14)
        for a, s in zip(acts, small_run["backward"][mode]):
            assert s["var"] == pytest.approx(torch.var(a.grad).item(), rel=1e-10)
            assert s["mean"] == pytest.approx(a.grad.mean().item(), rel=1e-9, abs=1e-14)


def test_histograms_cover_the_samples(small_run):
    for mode in ("zero", "eq42"):
        for s in small_run["forward"][mode] + small_run["backward"][mode]:
            assert s["hist_counts"].sum() <= s["count"]
            assert s["fraction_in_range"] > 0.99  # +- 5 s.d.


def test_variance_follows_recursions_statistically():
    """Width 256, depth 8: the first layer and the geometric-mean per-layer ratio of Var[y_l] and
    Var[dx_l] agree with eqs. (13)/(14) and (44)/(45) evaluated with the realised per-layer Var[w]
    (both laws hold in expectation; single layers fluctuate by several % at this width)."""
    n, depth = 256, 8
    var_b = float(decay.bias_variance_eq42(n, n))
    res = simulate_deep_net(n, depth, 3000, {"zero": 0.0, "eq42": var_b}, seed=11, backward=True)
    vw = np.asarray(res["var_weight"])
    gains = 0.5 * n * vw
    fwd = np.array([s["var"] for s in res["forward"]["zero"]])
    assert fwd[0] == pytest.approx(n * vw[0], rel=0.02)  # Var[y_1] = n Var[w] E[x^2], E[x^2] = 1
    ratios = fwd[1:] / fwd[:-1]
    # single forward layers scatter by ~10% at this width (input correlations); a missing ReLU factor 1/2
    # or a wrong normaliser would be off by >= 2x
    assert np.exp(np.mean(np.log(ratios / gains[1:]))) == pytest.approx(1.0, abs=0.08)
    assert np.all(np.abs(ratios / gains[1:] - 1) < 0.3)
    for mode in ("zero", "eq42"):
        back = np.array([s["var"] for s in res["backward"][mode]])
        assert back[-1] == pytest.approx(gains[-1], rel=0.05)  # upstream variance 1
        back_ratios = back[:-1] / back[1:]
        assert np.exp(np.mean(np.log(back_ratios / gains[:-1]))) == pytest.approx(1.0, abs=0.04)
    # with the eq. (42) bias the variance stays near the fixed point 1 (eq. (41))
    biased = np.array([s["var"] for s in res["forward"]["eq42"]])
    assert np.mean(biased[2:]) == pytest.approx(1.0, abs=0.1)
    # and the realised Var[w] is the eq. (36) value to a fraction of a percent at this size
    assert vw.mean() == pytest.approx(decay.approx_eq36(n, n), rel=0.02)


def test_same_seed_same_numbers():
    a = simulate_deep_net(16, 3, 50, {"zero": 0.0}, seed=5, backward=True)
    b = simulate_deep_net(16, 3, 50, {"zero": 0.0}, seed=5, backward=True)
    assert [s["var"] for s in a["backward"]["zero"]] == [s["var"] for s in b["backward"]["zero"]]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="bias variance"):
        simulate_deep_net(8, 2, 10, {"neg": -1.0}, seed=0, backward=False)
    with pytest.raises(ValueError, match="width"):
        simulate_deep_net(0, 2, 10, {"zero": 0.0}, seed=0, backward=False)
