"""The init registry (initlab.nn.inits) against the formulas it implements, written out here
independently, and Monte Carlo checks of the drawn weights' standard deviations."""

import math

import pytest
import torch
from scipy import special

from initlab.nn import inits
from initlab.nn.inits import InitSpec
from initlab.nn.models import BatchedMLP, MLPSpec
from initlab.theory import fractional
from initlab.theory.lyapunov import half_e_log_phi, half_e_log_phi_beta, lambda_gauss, lambda_orth
from initlab.train import seed_generator


def empirical_std(spec: InitSpec, fan_in: int, fan_out: int, seed: int = 0) -> float:
    return spec.draw(fan_in, fan_out, torch.Generator().manual_seed(seed)).double().std().item()


# std of each method by its defining formula (papers / authors' code), fan_in = 64, fan_out = 32
EXPECTED_STD = {
    "xavier_normal": math.sqrt(2 / (64 + 32)),
    "xavier_uniform": math.sqrt(6 / (64 + 32)) / math.sqrt(3),  # U(-b, b) has std b / sqrt(3)
    "glorot_uniform": math.sqrt(6 / (64 + 32)) / math.sqrt(3),
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



# --- the lyapunov paper's methods ---------------------------------------------------------------

SLOPE = 0.1


@pytest.fixture
def one_thread():
    """Many tiny QRs: with two intra-op threads on a busy machine LAPACK's threads spin and a 4 x 4 QR
    takes milliseconds instead of microseconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def J(d):
    """1/2 E log chi2_d, written out here: 1/2 (log 2 + psi(d / 2))."""
    return 0.5 * (math.log(2) + special.digamma(d / 2))


# (spec, fan_in, fan_out, expected std) for the Gaussian methods that take options
GAUSSIAN_WITH_OPTIONS = {
    "he_normal": ({"method": "he_normal", "slope": SLOPE}, 64, 32, math.sqrt(2 / ((1 + SLOPE**2) * 64))),
    "lyapunov_gaussian_square": ({"method": "lyapunov_gaussian", "slope": SLOPE}, 64, 64,
                                 math.exp(-half_e_log_phi(SLOPE, 64))),
    "lyapunov_gaussian_width": ({"method": "lyapunov_gaussian", "slope": SLOPE, "width": 16}, 784, 16,
                                math.exp(-half_e_log_phi(SLOPE, 16))),
}


@pytest.mark.parametrize("case", sorted(GAUSSIAN_WITH_OPTIONS))
def test_lyapunov_paper_gaussian_std_matches_the_formula(case):
    """As above: >= 400,000 entries, 1 % is 5 standard errors of the sample std."""
    raw, fan_in, fan_out, expected = GAUSSIAN_WITH_OPTIONS[case]
    spec, generator = InitSpec.parse(raw), torch.Generator().manual_seed(1)
    n_draws = -(-400_000 // (fan_in * fan_out))
    draws = torch.cat([spec.draw(fan_in, fan_out, generator).double().flatten() for _ in range(n_draws)])
    assert draws.std().item() == pytest.approx(expected, rel=0.01)
    assert abs(draws.mean().item()) < 5 * expected / math.sqrt(draws.numel())


@pytest.mark.parametrize("d", [4, 16])
def test_lyapunov_scales_by_two_formulas(d):
    """sigma = exp(-I(a, d)) and eta = exp(J(d) - I(a, d)), I by Frullani's quadrature and by the
    Beta-mixture formula; the registry's (cached) values and its drawn weights use exactly these."""
    sigma_frullani, sigma_beta = math.exp(-half_e_log_phi(SLOPE, d)), math.exp(-half_e_log_phi_beta(SLOPE, d))
    eta_beta = math.exp(J(d) - half_e_log_phi_beta(SLOPE, d))
    assert sigma_frullani == pytest.approx(sigma_beta, rel=1e-9)
    assert inits.lyapunov_scales(SLOPE, d) == pytest.approx((sigma_beta, eta_beta), rel=1e-9)
    # sigma is the entry std itself (not / sqrt(d)): above He's sqrt(2 / ((1 + a^2) d)) by Jensen
    # (I(a, d) < 1/2 log E sum phi_a(g_i)^2 = 1/2 log((1 + a^2) d / 2)), not sqrt(d) times below it
    assert 1 < sigma_beta / math.sqrt(2 / ((1 + SLOPE**2) * d)) < 2
    # same generator state: the Lyapunov and He draws differ by the ratio of the stds, exactly
    lyap = InitSpec.parse({"method": "lyapunov_gaussian", "slope": SLOPE}).draw(d, d, torch.Generator().manual_seed(7))
    he = InitSpec.parse({"method": "he_normal", "slope": SLOPE}).draw(d, d, torch.Generator().manual_seed(7))
    ratio = sigma_beta / math.sqrt(2 / ((1 + SLOPE**2) * d))
    assert torch.allclose(lyap.double(), he.double() * ratio, rtol=1e-6, atol=0)


@pytest.mark.parametrize("rows, cols", [(6, 6), (10, 784), (50, 7)])
def test_haar_orthogonal_is_orthonormal(rows, cols):
    w = inits.haar_orthogonal(rows, cols, torch.Generator().manual_seed(0))
    assert w.shape == (rows, cols) and w.dtype == torch.float64
    gram = w @ w.T if rows <= cols else w.T @ w  # orthonormal rows / columns
    assert torch.allclose(gram, torch.eye(min(rows, cols), dtype=torch.float64), rtol=0, atol=1e-12)


def _within(sample: torch.Tensor, expected: float, n_se: float = 5.0) -> bool:
    """``sample``'s mean (over dim 0) is within n_se standard errors of ``expected``, everywhere."""
    se = sample.std(dim=0) / math.sqrt(sample.shape[0])
    return bool(((sample.mean(dim=0) - expected).abs() < n_se * se).all())


def test_haar_orthogonal_is_haar(one_thread):
    """Moments of Haar measure on O(4) over 20,000 draws: every entry has mean 0, E x^2 = 1/d and
    E x^4 = 3 / (d (d + 2)) (a column is uniform on the sphere); tr O has mean 0 and second moment
    1; det O = +-1 with probability 1/2.  Without the sign correction of Q the diagonal (hence tr
    and det) have a fixed sign and these fail."""
    d, n, generator = 4, 20_000, torch.Generator().manual_seed(3)
    o = torch.stack([inits.haar_orthogonal(d, d, generator) for _ in range(n)])
    entries = o.reshape(n, d * d)
    assert _within(entries, 0.0)
    assert _within(entries**2, 1 / d)
    assert _within(entries**4, 3 / (d * (d + 2)))
    trace = o.diagonal(dim1=-2, dim2=-1).sum(-1)
    assert _within(trace, 0.0) and _within(trace**2, 1.0)
    assert _within(torch.linalg.det(o), 0.0)
    # semi-orthogonal: rows (2 x 5) resp. columns (5 x 2) uniform on the sphere of R^5
    for shape in ((2, 5), (5, 2)):
        w = torch.stack([inits.haar_orthogonal(*shape, generator) for _ in range(5000)]).reshape(5000, -1)
        assert _within(w, 0.0) and _within(w**2, 1 / 5) and _within(w**4, 3 / (5 * 7))


# (spec, fan_in, fan_out, expected singular value)
ORTHOGONAL = [
    ({"method": "scaled_orthogonal", "slope": SLOPE}, 32, 32, math.sqrt(2 / (1 + SLOPE**2))),
    ({"method": "scaled_orthogonal", "slope": SLOPE}, 784, 10, math.sqrt(2 / (1 + SLOPE**2))),
    ({"method": "scaled_orthogonal", "scale": 1.5}, 10, 64, 1.5),
    ({"method": "lyapunov_orthogonal", "slope": SLOPE}, 16, 16, math.exp(J(16) - half_e_log_phi(SLOPE, 16))),
    ({"method": "lyapunov_orthogonal", "slope": SLOPE, "width": 16}, 784, 16,
     math.exp(J(16) - half_e_log_phi(SLOPE, 16))),
    ({"method": "lyapunov_orthogonal", "slope": SLOPE, "width": 16}, 16, 10,
     math.exp(J(16) - half_e_log_phi(SLOPE, 16))),
]


@pytest.mark.parametrize("raw, fan_in, fan_out, scale", ORTHOGONAL)
def test_orthogonal_singular_values_are_the_scale(raw, fan_in, fan_out, scale):
    w = InitSpec.parse(raw).draw(fan_in, fan_out, torch.Generator().manual_seed(0))
    assert w.shape == (fan_out, fan_in) and w.dtype == torch.float32
    singular = torch.linalg.svdvals(w.double())
    assert singular.shape == (min(fan_in, fan_out),)
    assert torch.allclose(singular, torch.full_like(singular, scale), rtol=1e-6, atol=0)
    w = w.double() / scale
    gram = w @ w.T if fan_out <= fan_in else w.T @ w
    assert torch.allclose(gram, torch.eye(min(fan_in, fan_out), dtype=torch.float64), rtol=0, atol=1e-6)


def simulated_exponent(raw, d: int, slope: float, n_networks: int = 250, per_network: int = 8,
                       depth: int = 200, seed: int = 0) -> tuple[float, float]:
    """Mean of log||x_depth|| / depth and its standard error: 2,000 random unit vectors, 8 through each
    of 250 independent networks of ``depth`` freshly drawn d x d layers x -> phi_a(W x), in float64,
    renormalised every layer.  The networks are independent, the vectors within one are not: the
    standard error is that of the 250 per-network means."""
    spec, generator = InitSpec.parse(raw), torch.Generator().manual_seed(seed)
    x = torch.randn((n_networks, per_network, d), generator=generator, dtype=torch.float64)
    x = x / x.norm(dim=-1, keepdim=True)
    log_norm = torch.zeros((n_networks, per_network), dtype=torch.float64)
    for _ in range(depth):
        w = torch.stack([spec.draw(d, d, generator) for _ in range(n_networks)]).double()
        x = x @ w.transpose(-2, -1)
        x = torch.where(x > 0, x, slope * x)
        norm = x.norm(dim=-1, keepdim=True)
        log_norm += norm[..., 0].log()
        x = x / norm
    per_net = (log_norm / depth).mean(dim=1)
    return per_net.mean().item(), per_net.std().item() / math.sqrt(n_networks)


EXPONENT_CASES = {  # width 4, slope 0.1: expected exponent, each formula written out here
    "lyapunov_gaussian": 0.0,
    "lyapunov_orthogonal": 0.0,
    "he_normal": lambda_gauss(math.sqrt(2 / ((1 + SLOPE**2) * 4)), SLOPE, 4),
    "scaled_orthogonal": lambda_orth(math.sqrt(2 / (1 + SLOPE**2)), SLOPE, 4),
}


@pytest.mark.parametrize("method", sorted(EXPONENT_CASES))
def test_simulated_lyapunov_exponent(method, one_thread):
    """The Lyapunov inits have exponent 0; He and the standard scaled orthogonal init have the
    theory's (negative) exponents.  The standard error (about 0.003) is small enough that a scale 3 %
    off (a shift of 0.03 in the exponent), or He's exponent (-0.42) for the Lyapunov init, fails."""
    mean, se = simulated_exponent({"method": method, "slope": SLOPE}, 4, SLOPE)
    assert se < 0.006
    assert abs(mean - EXPONENT_CASES[method]) < 5 * se, (mean, se, EXPONENT_CASES[method])


def test_lyapunov_paper_aliases_draw_the_same_numbers():
    """glorot_uniform is xavier_uniform (gain 1) and he_normal kaiming_normal (leaky_relu), draw for
    draw."""
    def draw(raw):
        return InitSpec.parse(raw).draw(30, 20, torch.Generator().manual_seed(9))

    assert torch.equal(draw("glorot_uniform"), draw("xavier_uniform"))
    assert torch.equal(draw({"method": "he_normal", "slope": 0.2}),
                       draw({"method": "kaiming_normal", "nonlinearity": "leaky_relu", "slope": 0.2}))


@pytest.mark.parametrize("raw", [
    "glorot_uniform",
    {"method": "he_normal", "slope": SLOPE},
    {"method": "scaled_orthogonal", "slope": SLOPE},
    {"method": "lyapunov_gaussian", "slope": SLOPE},
    {"method": "lyapunov_orthogonal", "slope": SLOPE},
])
def test_lyapunov_paper_draws_are_reproducible(raw):
    spec = InitSpec.parse(raw)
    first = spec.draw(12, 12, torch.Generator().manual_seed(4))
    assert torch.equal(first, spec.draw(12, 12, torch.Generator().manual_seed(4)))
    assert not torch.equal(first, spec.draw(12, 12, torch.Generator().manual_seed(5)))


@pytest.mark.parametrize("method", ["he_normal", "scaled_orthogonal", "lyapunov_gaussian", "lyapunov_orthogonal"])
def test_slope_is_required(method):
    with pytest.raises(ValueError, match="option 'slope'.*required"):
        InitSpec(method).draw(8, 8, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="must be a number"):
        InitSpec.parse({"method": method, "slope": "leaky"}).draw(8, 8, torch.Generator().manual_seed(0))


def test_lyapunov_option_errors():
    generator = torch.Generator().manual_seed(0)
    for method in ("lyapunov_gaussian", "lyapunov_orthogonal"):
        spec = InitSpec.parse({"method": method, "slope": SLOPE})
        for fan_in, fan_out in ((784, 10), (10, 784)):
            with pytest.raises(ValueError, match="d x d hidden maps.*give option 'width'"):
                spec.draw(fan_in, fan_out, generator)
        with pytest.raises(ValueError, match="slope a > 0"):
            InitSpec.parse({"method": method, "slope": 0.0}).draw(8, 8, generator)
        for width in (0, 2.5, "wide"):
            with pytest.raises(ValueError, match="'width' must be a positive integer"):
                InitSpec.parse({"method": method, "slope": SLOPE, "width": width}).draw(8, 8, generator)
    # the explicit scale of scaled_orthogonal needs no slope
    assert InitSpec.parse({"method": "scaled_orthogonal", "scale": 2.0}).draw(8, 8, generator).shape == (8, 8)


def test_lyapunov_spec_in_a_net():
    """The paper's layout: He first layer, Lyapunov orthogonal hidden maps, and the last map with the
    hidden width given."""
    spec = InitSpec.parse({"method": "lyapunov_orthogonal", "slope": SLOPE,
                           "first": {"method": "he_normal", "slope": SLOPE},
                           "last": {"method": "lyapunov_orthogonal", "slope": SLOPE, "width": 8}})
    params = BatchedMLP(MLPSpec(20, 8, 2, 3)).init([seed_generator(0, "init")], [spec])
    eta = math.exp(J(8) - half_e_log_phi(SLOPE, 8))
    assert params["weight_3"].shape == (1, 3, 8)
    for name in ("weight_1", "weight_2", "weight_3"):
        singular = torch.linalg.svdvals(params[name][0].double())
        assert torch.allclose(singular, torch.full_like(singular, eta), rtol=1e-6, atol=0), name
