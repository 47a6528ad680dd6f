"""The init registry (initlab.nn.inits) against the formulas it implements, written out here
independently, and Monte Carlo checks of the drawn weights' standard deviations."""

import math

import pytest
import torch

from initlab.nn import inits
from initlab.nn.inits import InitSpec
from initlab.nn.models import BatchedMLP, MLPSpec
from initlab.theory import fractional
from initlab.train import seed_generator


def empirical_std(spec: InitSpec, fan_in: int, fan_out: int, seed: int = 0) -> float:
    return spec.draw(fan_in, fan_out, torch.Generator().manual_seed(seed)).double().std().item()


# std of each method by its defining formula (papers / authors' code), fan_in = 64, fan_out = 32
EXPECTED_STD = {
    "xavier_normal": math.sqrt(2 / (64 + 32)),
    "xavier_uniform": math.sqrt(6 / (64 + 32)) / math.sqrt(3),  # U(-b, b) has std b / sqrt(3)
    "kaiming_normal": math.sqrt(2 / 64),
    "random_walk": math.sqrt(2) * math.exp(1.2 / (64 - 2.4)) / math.sqrt(64),
    "fractional_s": math.sqrt(2 / 64 + 5 * (2 - 0.8) / (2 * 64**2)),
    "pytorch_default": 1 / math.sqrt(64) / math.sqrt(3),
}


@pytest.mark.parametrize("method", sorted(EXPECTED_STD))
def test_drawn_std_matches_the_formula(method):
    """Monte Carlo over 64 x 32 x 200 entries: the relative standard error of a sample std is about
    1/sqrt(2 n) = 0.002 for n = 409,600; 1 % is 5 standard errors."""
    generator = torch.Generator().manual_seed(1)
    draws = torch.cat([InitSpec(method).draw(64, 32, generator).double().flatten() for _ in range(200)])
    assert draws.std().item() == pytest.approx(EXPECTED_STD[method], rel=0.01)
    assert abs(draws.mean().item()) < 5 * EXPECTED_STD[method] / math.sqrt(draws.numel())


def test_kaiming_and_s_init_are_told_apart():
    """At d = 64 the s = 0.8 init is only 0.6 % wider than Kaiming, under the 1 % tolerance above; a
    larger sample (or the first layer, fan_in 784 vs the variance formula) separates them."""
    kaiming, s_init = InitSpec("kaiming_normal"), InitSpec("fractional_s")
    draws = {name: spec.draw(64, 64 * 4000, torch.Generator().manual_seed(2)).double().std().item()
             for name, spec in (("kaiming", kaiming), ("s", s_init))}
    # same generator state: the draws differ only by the scale factor, exactly
    assert draws["s"] / draws["kaiming"] == pytest.approx(EXPECTED_STD["fractional_s"] / EXPECTED_STD["kaiming_normal"],
                                                          rel=1e-6)
    assert draws["s"] / draws["kaiming"] > 1.005


def test_fractional_variance_forms():
    # Corollary 4 is the authors' sigma^2 = 2/d + 3/d^2 at s = 0.8 (sweeps.md b.3: std = sqrt(2/fan + 5(2-s)/(2 fan^2)))
    assert inits.fractional_variance(0.8, 64) == pytest.approx(2 / 64 + 3 / 64**2, rel=1e-12)
    # the exact sigma_bar_0(s, d)^2 agrees with Corollary 4 up to O(1/d^3)
    for d in (64, 256):
        exact = inits.fractional_variance(0.8, d, "exact")
        assert exact == pytest.approx(fractional.sigma_bar(0.0, 0.8, d) ** 2, rel=1e-12)
        assert abs(exact - inits.fractional_variance(0.8, d)) < 20 / d**3
    assert inits.fractional_variance(1.0, 64, "exact", slope=1.0) == pytest.approx(
        fractional.sigma_bar_sq_linear_exact(1.0, 64), rel=1e-8)
    with pytest.raises(ValueError, match="corollary4"):
        inits.fractional_variance(0.8, 64, "corollary4", slope=0.01)


def test_random_walk_forms():
    # linear form (gain 1): exp(1/(2 m)) / sqrt(m)
    assert inits.random_walk_std(50, "linear") == pytest.approx(math.exp(1 / 100) / math.sqrt(50))
    # ReLU form: sqrt(2) exp(1.2 / (m - 2.4)) / sqrt(m)
    assert inits.random_walk_std(50, "relu") == pytest.approx(math.sqrt(2) * math.exp(1.2 / 47.6) / math.sqrt(50))
    with pytest.raises(ValueError, match="fan_in > 2.4"):
        inits.random_walk_std(2, "relu")


def test_gain_for_leaky_relu():
    assert inits.relu_gain("leaky_relu", 0.01) == pytest.approx(math.sqrt(2 / (1 + 1e-4)))
    assert inits.relu_gain("leaky_relu", 0.0) == inits.relu_gain("relu")


def test_pytorch_default_is_the_previous_engine_draw():
    """The default draws what the engine drew before the registry existed (float64 U(+-1/sqrt(fan_in))
    from the generator, weight then bias): decay results are unchanged."""
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    weight = InitSpec().draw(7, 4, g1)
    reference = ((torch.rand((4, 7), generator=g2, dtype=torch.float64) * 2 - 1) * (1 / math.sqrt(7))).float()
    assert torch.equal(weight, reference)


def test_first_and_last_layer_rules():
    spec = InitSpec.parse({"method": "kaiming_normal", "first": "xavier_normal",
                           "last": {"method": "pytorch_default"}})
    assert spec.for_layer(0, 4).method == "xavier_normal"
    assert spec.for_layer(1, 4).method == spec.for_layer(2, 4).method == "kaiming_normal"
    assert spec.for_layer(3, 4).method == "pytorch_default"
    net = BatchedMLP(MLPSpec(500, 400, 1, 300))
    params = net.init([seed_generator(0, "init")], [spec])
    assert params["weight_0"].std().item() == pytest.approx(math.sqrt(2 / 900), rel=0.01)
    assert params["weight_1"].std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.01)
    assert params["weight_2"].abs().max().item() <= 1 / math.sqrt(400)


def test_member_init_is_its_own_stream():
    net = BatchedMLP(MLPSpec(6, 8, 2, 3))
    spec = InitSpec.parse({"method": "fractional_s", "s": 0.8})
    both = net.init([seed_generator(1, "init"), seed_generator(2, "init")], [InitSpec(), spec])
    alone = net.init([seed_generator(2, "init")], [spec])
    assert all(torch.equal(both[k][1], alone[k][0]) for k in alone)


def test_bad_specs_fail_early():
    with pytest.raises(ValueError, match="init method 'he'"):
        InitSpec("he")
    with pytest.raises(ValueError, match="unknown option"):
        InitSpec.parse({"method": "kaiming_normal", "gain": 2})
    with pytest.raises(ValueError, match="no 'method'"):
        InitSpec.parse({"s": 0.8})
    with pytest.raises(ValueError, match="registered twice"):
        inits.register_init("kaiming_normal")(lambda *a: None)
    with pytest.raises(ValueError, match="init specs for"):
        BatchedMLP(MLPSpec(6, 8, 2, 3)).init([seed_generator(1, "init")], [None, None])
