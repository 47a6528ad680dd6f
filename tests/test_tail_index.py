"""Tail-index estimator (Mohammadi et al. 2015, Cor. 2.4; Simsekli et al. 2019) against known
alpha-stable laws, the reference code's formula, its streaming form and its gradient-noise wrapper."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import levy_stable

from initlab.stats import tail_index
from initlab.stats.tail_index import (EPS, TailIndexAccumulator, alpha_estimator, default_block,
                                      gradient_noise_tail_index)

N_STABLE = 1 << 20  # default_block(2^20) = 1024: 1024 blocks of 1024
ALPHAS = (0.8, 1.0, 1.5, 1.8, 2.0)
# Measured over seeds 0..19 at N = 2^20, m = 1024 (bias = mean - alpha, sd across seeds, max |error|):
#   alpha 0.8: bias +0.0006, sd 0.0048, max 0.009     alpha 1.0: bias -0.0002, sd 0.0062, max 0.012
#   alpha 1.5: bias +0.0000, sd 0.0135, max 0.028     alpha 1.8: bias -0.0010, sd 0.0146, max 0.028
#   alpha 2.0 (Gaussian): bias +0.0064, sd 0.0191, max 0.035
# TOL = 0.1 is >= 5 sd for every alpha, yet half the smallest gap between the tested alphas (1.8 and 2.0),
# so an estimate within TOL of its own alpha is never within TOL of another.
TOL = 0.1
SEED = 12345


def _stable(alpha, n=N_STABLE, seed=SEED):
    if alpha == 2.0:
        return np.random.default_rng(seed).normal(size=n)
    return levy_stable.rvs(alpha, 0, size=n, random_state=seed)


@pytest.fixture(scope="module")
def estimates():
    return {alpha: alpha_estimator(_stable(alpha), default_block(N_STABLE)) for alpha in ALPHAS}


@pytest.mark.parametrize("alpha", ALPHAS)
def test_recovers_known_alpha(estimates, alpha):
    assert abs(estimates[alpha] - alpha) < TOL, (alpha, estimates[alpha])


def test_distinguishes_wrong_alpha(estimates):
    # The test can fail: Cauchy samples (alpha = 1) are far outside the tolerance of 1.8, and no estimate
    # is within TOL of any other tested alpha.
    assert abs(estimates[1.0] - 1.8) > TOL
    for true in ALPHAS:
        for other in ALPHAS:
            if other != true:
                assert abs(estimates[true] - other) >= TOL, (true, other, estimates[true])


def test_matches_reference_formula():
    # umutsimsekli/sgd_tail_index utils.py alpha_estimator, on X of shape (N, 1), in float64.
    x = torch.as_tensor(levy_stable.rvs(1.3, 0, size=4096, random_state=1)).view(-1, 1)
    m = 64
    n = x.shape[0] // m
    y = x.view(n, m, -1).sum(1)
    diff = ((torch.log(y.norm(dim=1) + 1e-6).mean() - torch.log(x.norm(dim=1) + 1e-6).mean())
            / math.log(m))
    assert EPS == 1e-6
    assert alpha_estimator(x.view(-1), m) == pytest.approx(1 / diff.item(), rel=1e-12)
    assert alpha_estimator(x.view(-1).numpy(), m) == alpha_estimator(x.view(-1), m)
    assert alpha_estimator(x.view(-1).float(), m) == pytest.approx(1 / diff.item(), rel=1e-5)


def _random_chunks(x, rng, block):
    """Consecutive chunks of random lengths: empty ones, ones shorter than a block, several blocks long."""
    chunks, start = [], 0
    while start < len(x):
        kind = rng.integers(3)
        length = (0, rng.integers(1, block), rng.integers(block, 3 * block + 20))[kind]
        chunks.append(x[start:start + length])
        start += length
    return chunks


@pytest.mark.parametrize("block", [2, 7, 60, 420])
def test_streaming_equals_one_shot(block):
    rng = np.random.default_rng(block)
    x = torch.as_tensor(levy_stable.rvs(1.5, 0, size=2520 * 4, random_state=block))
    expected = alpha_estimator(x, block)
    for _ in range(5):
        chunks = _random_chunks(x, rng, block)
        ends = np.cumsum([len(c) for c in chunks])
        assert any(0 < len(c) < block for c in chunks) and any(e % block for e in ends)
        acc = TailIndexAccumulator(len(x), block)
        for chunk in chunks:
            acc.add(chunk)
        assert acc.n_added == len(x)
        assert acc.estimate() == pytest.approx(expected, rel=1e-12)


def test_streaming_with_pieces_smaller_than_a_block(monkeypatch):
    # Inputs are processed in pieces of _PIECE elements; make pieces shorter than, and not aligned with,
    # a block to exercise the carry inside a single add().
    x = torch.as_tensor(levy_stable.rvs(1.2, 0, size=3000, random_state=3))
    expected = alpha_estimator(x, 50)
    for piece in (7, 64, 100):
        monkeypatch.setattr(tail_index, "_PIECE", piece)
        assert alpha_estimator(x, 50) == pytest.approx(expected, rel=1e-12)
        acc = TailIndexAccumulator(3000, 50)
        for a in range(0, 3000, 333):
            acc.add(x[a:a + 333])
        assert acc.estimate() == pytest.approx(expected, rel=1e-12)


def test_accumulator_count_errors():
    acc = TailIndexAccumulator(10, 5)
    acc.add(torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="4 samples added, 10 declared"):
        acc.estimate()
    with pytest.raises(ValueError, match="more than the n_samples = 10"):
        acc.add(torch.ones(7))
    with pytest.raises(ValueError, match="non-finite"):
        acc.add(torch.tensor([1.0, float("nan")]))
    assert acc.n_added == 4  # failed adds change nothing
    acc.add(torch.arange(6.0))
    acc2 = TailIndexAccumulator(10, 5)
    acc2.add(torch.cat([torch.ones(4), torch.arange(6.0)]))
    assert acc.estimate() == pytest.approx(acc2.estimate(), rel=1e-12)


def _gradients(p, m, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(p, m, generator=gen, dtype=torch.float64) * torch.rand(m, generator=gen,
                                                                             dtype=torch.float64) * 3


@pytest.mark.parametrize("piece", [None, 5, 40, 1000])
def test_gradient_noise_equals_explicit_centring(monkeypatch, piece):
    if piece is not None:  # tiles of whole rows (piece >= M) and of parts of a row (piece < M)
        monkeypatch.setattr(tail_index, "_PIECE", piece)
    g = _gradients(12, 30, seed=0)
    g_before = g.clone()
    noise = (g - g.mean(0)).reshape(-1)
    n = noise.numel()
    assert default_block(n) == 18
    expected = alpha_estimator(noise, 18)
    assert gradient_noise_tail_index(g) == pytest.approx(expected, rel=1e-10)
    assert torch.equal(g, g_before)  # the input is not centred in place
    assert gradient_noise_tail_index(g, block=9) == pytest.approx(alpha_estimator(noise, 9), rel=1e-10)
    # Centring: adding the same vector to every minibatch gradient changes nothing.
    shifted = g + 10 * torch.randn(30, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert gradient_noise_tail_index(shifted) == pytest.approx(expected, rel=1e-8)
    # float32 gradients: the mean is taken in float64, so only the input rounding differs.
    assert gradient_noise_tail_index(g.float()) == pytest.approx(expected, rel=1e-5)


def test_gradient_noise_errors():
    with pytest.raises(ValueError, match=r"\(P, M\) matrix"):
        gradient_noise_tail_index(torch.zeros(6))
    with pytest.raises(ValueError, match="P >= 2"):
        gradient_noise_tail_index(torch.zeros(1, 6))
    with pytest.raises(ValueError, match="prime"):
        gradient_noise_tail_index(torch.randn(7, 1))  # N = 7 is prime: default block 1


def _reference_block(n):
    m = 1
    for i in range(1, 1 + int(math.sqrt(n))):
        if n % i == 0:
            m = i
    return m


def test_default_block_matches_reference_loop():
    for n in range(1, 2001):
        m = _reference_block(n)
        if m == 1:
            with pytest.raises(ValueError, match=r"log\(1\) = 0"):
                default_block(n)
        else:
            assert default_block(n) == m, n
    assert default_block(120_000_000) == 10_000
    assert default_block(1 << 20) == 1024


@pytest.mark.parametrize("n", [1, 2, 3, 1999, 119_999_987])
def test_default_block_rejects_one_and_primes(n):
    with pytest.raises(ValueError, match="drop a few samples"):
        default_block(n)


def test_bad_inputs():
    x = torch.randn(100, dtype=torch.float64)
    with pytest.raises(ValueError, match="not divisible by block = 7"):
        alpha_estimator(x, 7)
    for block in (1, 0, -4):
        with pytest.raises(ValueError, match="block must be an integer >= 2"):
            alpha_estimator(x, block)
    with pytest.raises(ValueError, match="empty"):
        alpha_estimator(torch.zeros(0), 2)
    with pytest.raises(ValueError, match="1-D"):
        alpha_estimator(x.view(10, 10), 10)
    with pytest.raises(ValueError, match="non-finite"):
        alpha_estimator(torch.tensor([1.0, float("inf")]), 2)
    with pytest.raises(ValueError, match="positive integer"):
        TailIndexAccumulator(0, 2)
    with pytest.raises(ValueError, match="not divisible"):
        TailIndexAccumulator(10, 4)
