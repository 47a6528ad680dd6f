"""AOL/SLL normalisation (initlab.nn.lipschitz) against dense float64 computations and exact laws."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy import stats
from torch import nn

from initlab.nn import lipschitz


def dense_columns(w, q=None):
    """W T^(-1/2) with T = diag(sum_j |W^T W|_ij q_j / q_i) built as a dense diagonal matrix."""
    w = np.asarray(w, dtype=np.float64)
    q = np.ones(w.shape[1]) if q is None else np.asarray(q, dtype=np.float64)
    gram = np.abs(w.T @ w)
    t = np.array([sum(gram[i, j] * q[j] / q[i] for j in range(w.shape[1])) for i in range(w.shape[1])])
    return w @ np.diag(t ** -0.5)


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (3, 7), (10, 10)])
def test_columns_match_dense(shape):
    g = torch.Generator().manual_seed(1)
    w = torch.randn(*shape, generator=g, dtype=torch.float64)
    q = torch.rand(shape[1], generator=g, dtype=torch.float64) + 0.2
    np.testing.assert_allclose(lipschitz.aol_transform(w).numpy(), dense_columns(w.numpy()), rtol=1e-12)
    np.testing.assert_allclose(lipschitz.aol_transform(w, q).numpy(), dense_columns(w.numpy(), q.numpy()),
                               rtol=1e-12)


def test_rows_match_dense():
    """scale='rows': diag(t) W with t_i = (sum_j |W W^T|_ij q_j/q_i)^(-1/2) (inventory fig09 model)."""
    g = torch.Generator().manual_seed(2)
    w = torch.randn(5, 8, generator=g, dtype=torch.float64)
    q = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    gram = np.abs(w.numpy() @ w.numpy().T)
    t = (gram @ q.numpy()) / q.numpy()
    expected = np.diag(t ** -0.5) @ w.numpy()
    np.testing.assert_allclose(lipschitz.aol_transform(w, q, scale="rows").numpy(), expected, rtol=1e-12)


def test_batched_equals_loop():
    g = torch.Generator().manual_seed(3)
    w = torch.randn(2, 3, 6, 4, generator=g, dtype=torch.float64)
    batched = lipschitz.aol_transform(w)
    for idx in np.ndindex(2, 3):
        np.testing.assert_allclose(batched[idx].numpy(), dense_columns(w[idx].numpy()), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 12), n=st.integers(1, 12), seed=st.integers(0, 10_000), scale=st.sampled_from(["columns", "rows"]))
def test_spectral_norm_at_most_one(d, n, seed, scale):
    w = torch.randn(d, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    assert torch.linalg.matrix_norm(lipschitz.aol_transform(w, scale=scale), ord=2) <= 1 + 1e-12


def test_zero_column_maps_to_zero_without_nan():
    w = torch.randn(4, 3, dtype=torch.float64)
    w[:, 1] = 0
    out = lipschitz.aol_transform(w)
    assert torch.isfinite(out).all() and torch.all(out[:, 1] == 0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="shape"):
        lipschitz.aol_transform(torch.ones(3))
    with pytest.raises(ValueError, match="scale"):
        lipschitz.aol_transform(torch.ones(3, 3), scale="diag")


def test_parametrization_matches_functional_and_trains_q():
    torch.manual_seed(0)
    layer = lipschitz.register_aol(nn.Linear(6, 4, dtype=torch.float64), learnable_q=True)
    original = layer.parametrizations.weight.original
    with torch.no_grad():
        layer.parametrizations.weight[0].log_q.copy_(torch.linspace(-0.5, 0.5, 6))
    q = layer.parametrizations.weight[0].q().detach()
    np.testing.assert_allclose(layer.weight.detach().numpy(), dense_columns(original.detach().numpy(), q.numpy()),
                               rtol=1e-12)
    layer(torch.randn(5, 6, dtype=torch.float64)).square().sum().backward()
    assert original.grad is not None and layer.parametrizations.weight[0].log_q.grad.abs().sum() > 0


def test_n_equals_one_is_exact():
    """n = 1: T = ||w||^2, so the mean squared entry of every matrix is exactly 1/d (eq. (23) exact)."""
    for d in (1, 2, 10, 37):
        w = torch.randn(50, d, 1, dtype=torch.float64)
        np.testing.assert_allclose(lipschitz.per_matrix_second_moment(w).numpy(), 1.0 / d, rtol=1e-13)


def test_eq23_bounds_every_entry():
    """T_ii >= (W^T W)_ii, so |w_hat| <= |w_bar| entrywise: eq. (23) is an upper bound."""
    w = torch.randn(20, 30, 5, dtype=torch.float64)
    assert torch.all(lipschitz.aol_transform(w).abs() <= lipschitz.column_normalize(w).abs() * (1 + 1e-12))


@pytest.mark.parametrize("d", [2, 5, 40])
def test_column_normalised_square_is_beta(d):
    """Off-diagonal terms dropped: w_bar^2 ~ Beta(1/2, (d-1)/2) (eq. (22)); one entry per column
    (columns are independent) so the KS test sees independent draws."""
    g = torch.Generator().manual_seed(d)
    w = torch.randn(4000, d, 5, generator=g, dtype=torch.float64)
    squares = lipschitz.column_normalize(w)[:, 0, :].square().flatten().numpy()
    assert stats.kstest(squares, stats.beta(0.5, (d - 1) / 2).cdf).pvalue > 1e-3
    # a wrong law is rejected by the same test (the test has power)
    assert stats.kstest(squares, stats.beta(0.5, 1.25 * (d - 1) / 2).cdf).pvalue < 1e-3


@pytest.mark.parametrize("n,d", [(3, 30), (12, 40)])
def test_monte_carlo_matches_independent_numpy_simulation(n, d):
    """Batched torch estimator vs a plain numpy simulation (dense diagonal matrices, other RNG)."""
    m = lipschitz.matrices_needed(n, d, 200_000, 20)
    ours = lipschitz.transformed_weight_variance(n, d, m, seed=5, chunk_elements=1 << 16)
    rng = np.random.default_rng(123)
    per_matrix = np.array([np.mean(dense_columns(rng.standard_normal((d, n))) ** 2) for _ in range(m)])
    ref, ref_se = per_matrix.mean(), per_matrix.std(ddof=1) / math.sqrt(m)
    assert ours["samples"] >= 200_000 and ours["matrices"] == m
    assert abs(ours["var_mc"] - ref) < 4 * math.hypot(ours["var_mc_stderr"], ref_se)
    assert 0.3 < ours["var_mc_stderr"] / ref_se < 3  # the error bars agree too


def test_same_seed_same_numbers():
    a = lipschitz.transformed_weight_variance(4, 40, 30, seed=9)
    b = lipschitz.transformed_weight_variance(4, 40, 30, seed=9)
    assert a == b


@pytest.mark.parametrize("alpha", [1.0, 2.0, math.inf])
def test_gnd_sampler_weights(alpha):
    """The torch GND sampler draws unit-variance weights by eq. (50), reproducibly."""
    g = torch.Generator().manual_seed(4)
    w = lipschitz.gnd_sampler(alpha)(50, 40, 20, g).double()
    assert w.shape == (50, 40, 20)
    sq = w.square().flatten()
    assert abs(sq.mean().item() - 1.0) < 4 * sq.std().item() / math.sqrt(sq.numel())
    again = lipschitz.gnd_sampler(alpha)(50, 40, 20, torch.Generator().manual_seed(4)).double()
    assert torch.equal(w, again)


def test_gnd_normal_matches_gaussian_transformed_variance():
    """alpha = 2 through the inverse CDF gives the same transformed-weight variance as torch.randn."""
    n, d, m = 6, 24, 3000
    gnd = lipschitz.transformed_weight_variance(n, d, m, seed=1, sampler=lipschitz.gnd_sampler(2.0))
    normal = lipschitz.transformed_weight_variance(n, d, m, seed=2)
    assert abs(gnd["var_mc"] - normal["var_mc"]) < 4 * math.hypot(gnd["var_mc_stderr"], normal["var_mc_stderr"])


def test_many_cells_in_threads_equal_one_by_one():
    cells = [dict(n=n, d=3 * n, matrices=7, seed=10 + n) for n in (1, 2, 5, 9)]
    serial = lipschitz.transformed_weight_variance_many(cells, workers=1)
    threaded = lipschitz.transformed_weight_variance_many(cells, workers=2)
    assert serial == threaded == [lipschitz.transformed_weight_variance(**c) for c in cells]


# ---- the hand-derived vector-Jacobian product of aol_transform ------------------------------------

def _aol_by_autograd(w, q, scale, eps):
    """The same map written as plain tensor expressions, differentiated by autograd."""
    if scale == "rows":
        return _aol_by_autograd(w.mT, q, "columns", eps).mT
    q = torch.ones(w.shape[-1], dtype=w.dtype) if q is None else q
    t = ((w.mT @ w).abs() @ q.unsqueeze(-1)).squeeze(-1) / q + eps
    return w * torch.rsqrt(torch.where(t > 0, t, torch.ones_like(t))).unsqueeze(-2)


@pytest.mark.parametrize("scale", lipschitz.SCALES)
@pytest.mark.parametrize("learnable_q", [False, True])
@pytest.mark.parametrize("eps", [0.0, 1e-3])
def test_aol_gradient_matches_autograd_of_the_formula(scale, learnable_q, eps):
    g = torch.Generator().manual_seed(3)
    w = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    log_q = (0.3 * torch.randn(2, 3, 4 if scale == "columns" else 5, generator=g, dtype=torch.float64)
             ).requires_grad_(learnable_q)
    inputs = (w, log_q) if learnable_q else (w,)
    assert torch.autograd.gradcheck(lambda *a: lipschitz.aol_transform(a[0], log_q.exp() if len(a) == 1
                                                                       else a[1].exp(), scale, eps), inputs)
    upstream = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64)
    q = (lambda: log_q.exp()) if learnable_q else (lambda: None)
    ours = torch.autograd.grad(lipschitz.aol_transform(w, q(), scale, eps), inputs, upstream)
    reference = torch.autograd.grad(_aol_by_autograd(w, q(), scale, eps), inputs, upstream)
    for a, b in zip(ours, reference):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_aol_gradient_with_shared_q_and_zero_column():
    g = torch.Generator().manual_seed(4)
    w = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    w[1, :, 2] = 0.0  # a zero column: mapped to zero, its T entry is replaced by 1
    w.requires_grad_(True)
    log_q = (0.2 * torch.randn(4, generator=g, dtype=torch.float64)).requires_grad_(True)  # one q for all 3
    upstream = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    ours = torch.autograd.grad(lipschitz.aol_transform(w, log_q.exp()), (w, log_q), upstream)
    reference = torch.autograd.grad(_aol_by_autograd(w, log_q.exp(), "columns", 0.0), (w, log_q), upstream)
    for a, b in zip(ours, reference):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert torch.isfinite(ours[0]).all()


@pytest.mark.parametrize("scale", lipschitz.SCALES)
def test_training_and_evaluation_paths_give_identical_bits(scale):
    """Training (hand-written gradient) and no-gradient evaluation share one computation of T, so a
    model evaluates exactly the weights it trained with, in float32 too."""
    g = torch.Generator().manual_seed(5)
    w = torch.randn(4, 64, 64, generator=g)
    q = (0.5 * torch.randn(64, generator=g)).exp()
    with torch.no_grad():
        evaluated = lipschitz.aol_transform(w, q, scale)
    trained = lipschitz.aol_transform(w.clone().requires_grad_(True), q, scale)
    assert torch.equal(evaluated, trained.detach())


@pytest.mark.parametrize("requires_grad", [False, True])
def test_q_of_the_wrong_length_is_refused(requires_grad):
    w = torch.randn(5, 4).requires_grad_(requires_grad)
    with pytest.raises(ValueError, match="q has length 5 but the weight has 4 columns"):
        lipschitz.aol_transform(w, torch.ones(5))
