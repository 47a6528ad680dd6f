"""The LDLT layer (initlab.nn.ldlt): norm bound (hypothesis), equivalence with Lemma III.1, gradients
through the parametrization, the Woodbury identity behind Var[y | W], and the batched Monte Carlo."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils import parametrize

from initlab.nn import ldlt


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 10), cols=st.integers(1, 10), log_scale=st.floats(-3, 3),
       alpha=st.floats(0.05, 20), gamma=st.floats(0.05, 20), seed=st.integers(0, 2 ** 31))
def test_spectral_norm_never_exceeds_gamma(rows, cols, log_scale, alpha, gamma, seed):
    g = torch.Generator().manual_seed(seed)
    weight = 10.0 ** log_scale * torch.randn(rows, cols, generator=g, dtype=torch.float64)
    norm = torch.linalg.matrix_norm(ldlt.LDLTNormalization(alpha, gamma)(weight), 2)
    assert norm <= gamma * (1 + 1e-9)
    # and exactly gamma * s_max / sqrt(alpha + s_max^2)
    s_max = torch.linalg.matrix_norm(weight, 2)
    assert norm == pytest.approx(float(gamma * s_max / torch.sqrt(alpha + s_max ** 2)), rel=1e-8, abs=1e-300)


def test_cholesky_form_equals_lemma_iii1_up_to_rotation():
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(4, 6, 5, generator=g, dtype=torch.float64)
    chol = ldlt.LDLTNormalization(0.7, 1.9)(weight)
    ref = ldlt.ldlt_inverse_sqrt(weight, 0.7, 1.9)
    torch.testing.assert_close(chol @ chol.transpose(-1, -2), ref @ ref.transpose(-1, -2))
    torch.testing.assert_close(torch.linalg.svdvals(chol), torch.linalg.svdvals(ref))


def test_lemma_iii2_as_printed_breaks_the_bound():
    """R R^T = alpha I + W^T W with R lower triangular and M = gamma W R^-1 (the printed Lemma III.2):
    a simple counterexample exists, so the implemented layer uses the upper factor instead."""
    weight = torch.tensor([[1.0, 10.0]], dtype=torch.float64)
    printed = torch.linalg.matrix_norm(ldlt.ldlt_as_printed(weight, 1.0, 1.0), 2)
    assert printed > 1.5
    assert torch.linalg.matrix_norm(ldlt.LDLTNormalization(1.0, 1.0)(weight), 2) < 1.0


def test_parametrized_linear_layer_and_gradients():
    g = torch.Generator().manual_seed(1)
    layer = ldlt.ldlt_linear(6, 4, alpha=1.0, gamma=2.0, sigma=3.0, generator=g, dtype=torch.float64)
    assert parametrize.is_parametrized(layer, "weight")
    raw = layer.parametrizations.weight.original
    torch.testing.assert_close(layer.weight, ldlt.LDLTNormalization(1.0, 2.0)(raw))
    x = torch.randn(10, 6, generator=g, dtype=torch.float64)
    layer(x).pow(2).sum().backward()
    assert raw.grad is not None and torch.isfinite(raw.grad).all() and raw.grad.abs().sum() > 0
    w0 = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ldlt.LDLTNormalization(0.5, 1.5), (w0,))


def test_bad_parameters_fail_clearly():
    with pytest.raises(ValueError, match="alpha"):
        ldlt.LDLTNormalization(alpha=0.0)
    with pytest.raises(ValueError, match="matrix"):
        ldlt.LDLTNormalization()(torch.ones(3))
    with pytest.raises(ValueError, match="samples"):
        ldlt.monte_carlo_variance(2, 2, [0.1], 1.0, 1.0, 1, seed=0)
    with pytest.raises(ValueError, match="n must be"):
        ldlt.sample_wishart_spectra(0, 2, 5, seed=0)


@pytest.mark.parametrize("m, n", [(3, 3), (2, 5), (6, 2)])
def test_woodbury_spectral_route_equals_layer_route(m, n):
    """Lemma III.4: (1/m) tr(M M^T) = gamma^2 - gamma^2 alpha/m tr((alpha I + W W^T)^-1); the spectra come
    from the Gram of the smaller side with |m - n| zero eigenvalues added analytically."""
    g = torch.Generator().manual_seed(2)
    weight = 1.7 * torch.randn(50, m, n, generator=g, dtype=torch.float64)
    gram = weight @ weight.transpose(-1, -2) if m <= n else weight.transpose(-1, -2) @ weight
    spectra = torch.linalg.eigvalsh(gram) / 1.7 ** 2
    via_layer = ldlt.conditional_variance_from_weights(weight, 0.6, 1.4)
    via_spectra = ldlt.conditional_variance_from_spectra(spectra, m, [1.7 ** 2], 0.6, 1.4)[:, 0]
    torch.testing.assert_close(via_layer, via_spectra)


def test_output_variance_with_sampled_inputs():
    """Var[y | W] with x ~ N(0, I): the empirical mean of ||M x||^2 / m over many x matches the formula."""
    g = torch.Generator().manual_seed(3)
    layer = ldlt.ldlt_linear(5, 4, alpha=1.0, gamma=1.0, sigma=0.8, generator=g, dtype=torch.float64)
    x = torch.randn(200000, 5, generator=g, dtype=torch.float64)
    with torch.no_grad():
        per_x = layer(x).pow(2).mean(dim=1)
        expected = ldlt.conditional_variance_from_weights(layer.parametrizations.weight.original, 1.0, 1.0)
    se = per_x.std() / math.sqrt(per_x.numel())
    assert abs(per_x.mean() - expected) < 4 * se


def test_spectra_are_reproducible_and_shaped():
    a = ldlt.sample_wishart_spectra(3, 5, 7, seed=11)
    b = ldlt.sample_wishart_spectra(3, 5, 7, seed=11)
    assert a.shape == (7, 3) and torch.equal(a, b)
    assert not torch.equal(a, ldlt.sample_wishart_spectra(3, 5, 7, seed=12))
    # a longer run extends a shorter one (blocks are seeded by index), across a block boundary too
    block = ldlt.spectra_block_size(40, 40)
    short = ldlt.sample_wishart_spectra(40, 40, block + 2, seed=11)
    torch.testing.assert_close(short, ldlt.sample_wishart_spectra(40, 40, block + 5, seed=11)[: block + 2])
    assert ldlt.size_seed(1, 4, 4) == ldlt.size_seed(1, 4, 4) != ldlt.size_seed(1, 4, 5)


def test_monte_carlo_mean_of_trace_is_unbiased():
    """E tr(S) = n m sigma^2 (eq. 10): the sampled spectra reproduce it within 4 standard errors."""
    spectra = ldlt.sample_wishart_spectra(4, 3, 20000, seed=4)
    traces = spectra.sum(dim=1).numpy()
    assert abs(traces.mean() - 12.0) < 4 * traces.std() / np.sqrt(traces.size)


def test_bidiagonal_resolvent_trace_equals_dense_inverse():
    """The O(r) pivot recursion gives tr((alpha I + s B B^T)^-1) exactly (vs a dense inverse)."""
    diag2, sub2 = ldlt.sample_bidiagonal(9, 6, 4, seed=0)
    sigma2 = [1e-4, 0.3, 50.0, 1e6]
    fast = ldlt.resolvent_trace_bidiagonal(diag2, sub2, sigma2, alpha=1.3)
    for j in range(4):
        b = np.diag(np.sqrt(diag2[j])) + np.diag(np.sqrt(sub2[j]), -1)
        for col, s in enumerate(sigma2):
            dense = np.trace(np.linalg.inv(1.3 * np.eye(6) + s * b @ b.T))
            assert fast[j, col] == pytest.approx(dense, rel=1e-10)


@pytest.mark.parametrize("n, m", [(3, 5), (6, 2), (4, 4)])
def test_bidiagonal_model_has_the_wishart_moments(n, m):
    """Dumitriu-Edelman: the spectrum of B B^T has the law of that of W W^T, so its trace moments match the
    exact Wick table (k = 1..3, within 4.5 standard errors)."""
    from initlab.theory import wick

    diag2, sub2 = ldlt.sample_bidiagonal(n, m, 100000, seed=1)
    rank = min(n, m)
    tri = np.zeros((diag2.shape[0], rank, rank))
    idx = np.arange(rank)
    tri[:, idx, idx] = diag2 + np.concatenate([np.zeros((diag2.shape[0], 1)), sub2], axis=1)
    off = np.sqrt(diag2[:, :-1] * sub2)
    tri[:, idx[1:], idx[:-1]] = off
    tri[:, idx[:-1], idx[1:]] = off
    eig = np.linalg.eigvalsh(tri)
    for k in range(1, 4):
        values = (eig ** k).sum(axis=1)
        exact = float(wick.trace_moment(wick.wick_coefficients(k), n, m))
        assert abs(values.mean() - exact) <= 4.5 * values.std(ddof=1) / math.sqrt(values.size)


@pytest.mark.parametrize("n, m", [(5, 3), (2, 4)])
def test_bidiagonal_and_dense_monte_carlo_agree(n, m):
    sigma2 = [0.05, 1.0, 100.0]
    fast = ldlt.monte_carlo_variance(n, m, sigma2, 1.0, 1.0, 60000, seed=3, model="bidiagonal")
    dense = ldlt.monte_carlo_variance(n, m, sigma2, 1.0, 1.0, 30000, seed=4, model="dense")
    z = np.abs(fast.mean - dense.mean) / np.sqrt(fast.stderr ** 2 + dense.stderr ** 2)
    assert np.all(z < 4), z
    with pytest.raises(ValueError, match="dense' or 'bidiagonal"):
        ldlt.monte_carlo_variance(n, m, sigma2, 1.0, 1.0, 10, seed=0, model="qr")


def test_bidiagonal_sampling_is_seeded():
    a = ldlt.conditional_variance_samples(50, 50, [0.1], 1.0, 1.0, 30, seed=9, model="bidiagonal")
    b = ldlt.conditional_variance_samples(50, 50, [0.1], 1.0, 1.0, 30, seed=9, model="bidiagonal")
    assert torch.equal(a, b)
