"""LDLT L-Lipschitz layer (ldlt paper, Lemmas III.1-III.2) and batched Monte Carlo of its output variance.

    M = gamma W U^(-1),   U^T U = alpha I + W^T W   (U: upper Cholesky factor, torch.linalg)

so M M^T = gamma^2 W (alpha I + W^T W)^(-1) W^T has eigenvalues gamma^2 s^2 / (alpha + s^2) < gamma^2
(s: singular values of W): ||M||_2 < gamma for every W, the same M M^T as Lemma III.1's
gamma W (alpha I + W^T W)^(-1/2).  NOTE: Lemma III.2 as printed, M = gamma W R^(-1) with
R R^T = alpha I + W^T W, i.e. R the *lower* factor, gives M M^T = gamma^2 W R^(-1) R^(-T) W^T, which is
not bounded by gamma^2 (counterexamples in tests/test_ldlt_layer.py and the claims ledger); the
factor that makes the lemma true is R^T R = alpha I + W^T W (equivalently M = gamma W L^(-T) with
L L^T = alpha I + W^T W).  ``ldlt_as_printed`` keeps the printed form for that check.

For x ~ N(0, I_n), Var[y | W] = (1/m) tr(M M^T) = gamma^2 - (gamma^2 alpha / m) tr((alpha I + W W^T)^(-1))
(Lemma III.4), a function of the spectrum of S = W W^T only.  Monte Carlo therefore samples Wishart
spectra at sigma = 1 (batched eigvalsh) and rescales them: S(sigma) = sigma^2 S(1), so one batch of
spectra serves every sigma^2 of a sweep (common random numbers across the sweep).

Two samplers of the same law (model="dense" | "bidiagonal"):
* dense: draw W0, batched eigvalsh of the Gram (O(n^3) per sample; the paper's direct route);
* bidiagonal: Dumitriu & Edelman (2002, "Matrix models for beta ensembles", beta = 1): the non-zero
  spectrum of W W^T (W: m x n Gaussian) is that of B B^T with B lower bidiagonal, diagonal
  chi_{N}, chi_{N-1}, ..., chi_{N-r+1} and sub-diagonal chi_{r-1}, ..., chi_1 (r = min(n, m), N = max(n, m)),
  and tr((alpha I + sigma^2 B B^T)^(-1)) follows in O(r) from the Cholesky pivots of the tridiagonal
  matrix and their derivative in a diagonal shift (d/dt log det(A + t I) = tr(A^(-1))).  Tests check
  it against the dense sampler, the exact Wick moments and a dense inverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _gram(weight: torch.Tensor, alpha: float) -> torch.Tensor:
    if weight.ndim < 2:
        raise ValueError(f"LDLT parametrization needs a matrix (or a batch of them), got shape "
                         f"{tuple(weight.shape)}")
    eye = torch.eye(weight.shape[-1], dtype=weight.dtype, device=weight.device)
    return alpha * eye + weight.transpose(-1, -2) @ weight


class LDLTNormalization(nn.Module):
    """Parametrization W -> gamma W U^(-1) with U^T U = alpha I + W^T W (upper Cholesky factor).

    Use with ``torch.nn.utils.parametrize.register_parametrization`` (see ``ldlt_linear``);
    gradients flow through ``torch.linalg.cholesky`` and ``solve_triangular``."""

    def __init__(self, alpha: float = 1.0, gamma: float = 1.0):
        super().__init__()
        _check_positive(alpha=alpha, gamma=gamma)
        self.alpha = float(alpha)
        self.gamma = float(gamma)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        upper = torch.linalg.cholesky(_gram(weight, self.alpha), upper=True)
        # M = gamma W U^(-1): solve X U = W for X (right-hand triangular solve, no inverse formed)
        return self.gamma * torch.linalg.solve_triangular(upper, weight, upper=True, left=False)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, gamma={self.gamma}"


def ldlt_as_printed(weight: torch.Tensor, alpha: float = 1.0, gamma: float = 1.0) -> torch.Tensor:
    """Lemma III.2 exactly as printed: gamma W R^(-1) with R R^T = alpha I + W^T W (R lower
    triangular, torch.linalg.cholesky).  Kept only to test the lemma; not norm-bounded."""
    _check_positive(alpha=alpha, gamma=gamma)
    lower = torch.linalg.cholesky(_gram(weight, alpha))
    return gamma * torch.linalg.solve_triangular(lower, weight, upper=False, left=False)


def ldlt_inverse_sqrt(weight: torch.Tensor, alpha: float = 1.0, gamma: float = 1.0) -> torch.Tensor:
    """Lemma III.1: gamma W (alpha I + W^T W)^(-1/2) through eigh (the reference the Cholesky form matches)."""
    _check_positive(alpha=alpha, gamma=gamma)
    evals, evecs = torch.linalg.eigh(_gram(weight, alpha))
    inv_sqrt = (evecs * evals.rsqrt().unsqueeze(-2)) @ evecs.transpose(-1, -2)
    return gamma * weight @ inv_sqrt


def random_spectral_norms(trials: int, max_dim: int, log10_scale_range, alpha: float, gamma: float,
                          seed: int) -> dict[str, np.ndarray]:
    """||M||_2 of the three parametrizations (Lemma III.1; Lemma III.2 corrected; as printed) for
    `trials` random float64 W with shape uniform in [1, max_dim]^2 and entry scale 10^u,
    u ~ U(log10_scale_range)."""
    low, high = (float(v) for v in log10_scale_range)
    if not high >= low:
        raise ValueError(f"log10_scale_range must be [low, high] with low <= high, got {log10_scale_range!r}")
    generator = torch.Generator().manual_seed(int(seed))
    trials = int(trials)
    shapes = torch.randint(1, int(max_dim) + 1, (trials, 2), generator=generator)
    scales = 10.0 ** (low + (high - low) * torch.rand(trials, generator=generator, dtype=torch.float64))
    out = {key: np.empty(trials) for key in ("inverse_sqrt", "cholesky_upper", "cholesky_as_printed")}
    forms = {"inverse_sqrt": ldlt_inverse_sqrt, "cholesky_as_printed": ldlt_as_printed,
             "cholesky_upper": LDLTNormalization(alpha, gamma)}
    for shape in torch.unique(shapes, dim=0):  # one batch per shape
        idx = torch.nonzero((shapes == shape).all(dim=1)).flatten()
        rows, cols = int(shape[0]), int(shape[1])
        weight = scales[idx, None, None] * torch.randn(idx.numel(), rows, cols, generator=generator,
                                                       dtype=torch.float64)
        for key, form in forms.items():
            matrix = form(weight) if key == "cholesky_upper" else form(weight, alpha, gamma)
            out[key][idx.numpy()] = torch.linalg.matrix_norm(matrix, 2).numpy()
    return out


def ldlt_linear(in_features: int, out_features: int, alpha: float = 1.0, gamma: float = 1.0,
                sigma: float = 1.0, bias: bool = False, generator: torch.Generator | None = None,
                dtype: torch.dtype = torch.float32) -> nn.Linear:
    """nn.Linear whose weight (out x in = m x n, the paper's W0) is drawn iid N(0, sigma^2) and used
    through the LDLT parametrization: layer(x) = M x (+ bias)."""
    _check_positive(sigma=sigma)
    layer = nn.Linear(in_features, out_features, bias=bias, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(sigma * torch.randn(out_features, in_features, generator=generator, dtype=dtype))
        if bias:
            layer.bias.zero_()
    parametrize.register_parametrization(layer, "weight", LDLTNormalization(alpha, gamma))
    return layer


def conditional_variance_from_weights(weights: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    """Var[y | W] = (1/m) ||M||_F^2 through the Cholesky layer itself (batched over leading dims);
    an independent route to ``conditional_variance_from_spectra``."""
    m = weights.shape[-2]
    ortho = LDLTNormalization(alpha, gamma)(weights)
    return ortho.pow(2).sum(dim=(-2, -1)) / m


BLOCK_ELEMENTS = 2 ** 21  # Gaussian entries drawn per block (16 MiB of float64)


def spectra_block_size(n: int, m: int) -> int:
    """Samples per generation/eigvalsh block: a function of the shape only, so that the numbers never
    depend on memory settings (same seed -> same spectra)."""
    return max(1, min(8192, BLOCK_ELEMENTS // (n * m)))


def sample_wishart_spectra(n: int, m: int, samples: int, seed: int,
                           device: torch.device | str = "cpu") -> torch.Tensor:
    """Eigenvalues of W W^T for `samples` iid m x n standard Gaussian W (sigma = 1), float64, shape
    (samples, min(n, m)): only the non-zero block (the Gram of the smaller side) is diagonalised;
    the other |m - n| eigenvalues of S are exactly zero.  W is drawn on the CPU in blocks of
    ``spectra_block_size(n, m)`` samples, block b from its own generator seeded by (seed, b); the Gram
    and the batched eigvalsh run on `device`."""
    for name, value in (("n", n), ("m", m), ("samples", samples)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    block = spectra_block_size(n, m)
    chunks = []
    for index, start in enumerate(range(0, samples, block)):
        size = min(block, samples - start)
        generator = torch.Generator().manual_seed(size_seed(seed, index))
        w = torch.randn(size, m, n, generator=generator, dtype=torch.float64).to(device)
        gram = w @ w.transpose(-1, -2) if m <= n else w.transpose(-1, -2) @ w
        chunks.append(torch.linalg.eigvalsh(gram).clamp_min_(0.0).cpu())
    return torch.cat(chunks)


def conditional_variance_from_spectra(spectra: torch.Tensor, m: int, sigma2: Sequence[float], alpha: float,
                                      gamma: float, chunk: int = 4096) -> torch.Tensor:
    """Var[y | W] (Lemma III.4, eq. 2 before the expectation) for each spectrum (rows of `spectra`,
    sigma = 1, non-zero block of size r) and each sigma^2: shape (samples, len(sigma2))."""
    _check_positive(alpha=alpha, gamma=gamma)
    sigma2_t = torch.as_tensor(np.asarray(sigma2, dtype=float), dtype=torch.float64)
    if torch.any(sigma2_t < 0):
        raise ValueError("sigma^2 values must be >= 0")
    rank = spectra.shape[-1]
    if rank > m:
        raise ValueError(f"spectra have {rank} eigenvalues but S is only {m} x {m}")
    out = []
    for start in range(0, spectra.shape[0], chunk):
        lam = spectra[start:start + chunk].to(torch.float64)
        trace = (1.0 / (alpha + lam[:, :, None] * sigma2_t[None, None, :])).sum(dim=1) + (m - rank) / alpha
        out.append(gamma ** 2 - gamma ** 2 * alpha / m * trace)
    return torch.cat(out)


def sample_bidiagonal(n: int, m: int, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Squared entries of the Dumitriu-Edelman bidiagonal model of W W^T (see module docstring):
    (diagonal^2 of shape (samples, r), sub-diagonal^2 of shape (samples, r - 1)), float64."""
    for name, value in (("n", n), ("m", m), ("samples", samples)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    rank, dof = min(n, m), max(n, m)
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    diag2 = rng.chisquare(dof - np.arange(rank), size=(samples, rank))
    sub2 = rng.chisquare(rank - 1 - np.arange(rank - 1), size=(samples, rank - 1)) if rank > 1 \
        else np.zeros((samples, 0))
    return diag2, sub2


def resolvent_trace_bidiagonal(diag2: np.ndarray, sub2: np.ndarray, sigma2: Sequence[float],
                               alpha: float) -> np.ndarray:
    """tr((alpha I + sigma^2 B B^T)^(-1)) for lower-bidiagonal B (squared entries diag2, sub2), every
    sigma^2: shape (samples, len(sigma2)).  A = alpha I + sigma^2 T is tridiagonal with
    a_i = alpha + sigma^2 (d_i^2 + e_(i-1)^2), b_i^2 = sigma^4 d_i^2 e_i^2; its Cholesky pivots
    p_i = a_i - b_(i-1)^2 / p_(i-1) (all >= alpha) and their shift derivatives
    p_i' = 1 + (b_(i-1)^2 / p_(i-1)) p_(i-1)' / p_(i-1) give tr(A^(-1)) = sum_i p_i' / p_i.  The loop runs over
    the matrix index; samples and sigma^2 are vectorised."""
    _check_positive(alpha=alpha)
    s = np.asarray(sigma2, dtype=float)[None, :]
    prev_sub2 = np.zeros(diag2.shape[0])
    pivot = deriv = trace = None
    for i in range(diag2.shape[1]):
        a = alpha + s * (diag2[:, i] + prev_sub2)[:, None]
        if i == 0:
            pivot, deriv = a, np.ones_like(a)
        else:
            ratio = (s * s) * (diag2[:, i - 1] * sub2[:, i - 1])[:, None] / pivot  # b_(i-1)^2 / p_(i-1)
            pivot, deriv = a - ratio, 1.0 + ratio * deriv / pivot
        trace = deriv / pivot if trace is None else trace + deriv / pivot
        prev_sub2 = sub2[:, i] if i < sub2.shape[1] else prev_sub2
    return trace


def conditional_variance_samples(n: int, m: int, sigma2: Sequence[float], alpha: float, gamma: float,
                                 samples: int, seed: int, model: str = "dense",
                                 device: torch.device | str = "cpu") -> torch.Tensor:
    """Var[y | W] for `samples` independent W0 (m x n, sigma = 1 rescaled to each sigma^2), shape
    (samples, len(sigma2)), float64 on the CPU; model "dense" (eigvalsh of W W^T on `device`) or
    "bidiagonal" (Dumitriu-Edelman, O(min(n, m)) per sample and sigma^2, numpy)."""
    _check_positive(alpha=alpha, gamma=gamma)
    if np.any(np.asarray(sigma2, dtype=float) < 0):
        raise ValueError("sigma^2 values must be >= 0")
    if model == "dense":
        return conditional_variance_from_spectra(sample_wishart_spectra(n, m, samples, seed, device), m, sigma2,
                                                 alpha, gamma)
    if model == "bidiagonal":
        block = max(1, BLOCK_ELEMENTS // min(n, m))  # samples per block: a function of the shape only
        traces = []
        for index, start in enumerate(range(0, samples, block)):
            diag2, sub2 = sample_bidiagonal(n, m, min(block, samples - start), size_seed(seed, index))
            traces.append(resolvent_trace_bidiagonal(diag2, sub2, sigma2, alpha))
        trace = np.concatenate(traces) + (m - min(n, m)) / alpha
        return torch.from_numpy(gamma ** 2 - gamma ** 2 * alpha / m * trace)
    raise ValueError(f"Monte Carlo model must be 'dense' or 'bidiagonal', got {model!r}")


@dataclass
class MonteCarloVariance:
    """Monte Carlo Var[y] per sigma^2: mean, standard error of the mean, sample count."""

    mean: np.ndarray
    stderr: np.ndarray
    samples: int


def monte_carlo_variance(n: int, m: int, sigma2: Sequence[float], alpha: float, gamma: float, samples: int,
                         seed: int, model: str = "dense", device: torch.device | str = "cpu") -> MonteCarloVariance:
    """E_W Var[y | W] by Monte Carlo over `samples` Gaussian W0 (m x n), for every sigma^2 of a sweep."""
    if samples < 2:
        raise ValueError(f"samples must be >= 2 to give a standard error, got {samples}")
    values = conditional_variance_samples(n, m, sigma2, alpha, gamma, samples, seed, model, device)
    mean = values.mean(dim=0)
    stderr = values.std(dim=0, unbiased=True) / np.sqrt(samples)
    return MonteCarloVariance(mean.numpy(), stderr.numpy(), int(samples))


def size_seed(seed: int, *keys: int) -> int:
    """A derived seed for (seed, *keys), e.g. per size (n, m) so adding a size leaves the others' samples unchanged."""
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1, dtype=np.uint64)[0] >> 1)
