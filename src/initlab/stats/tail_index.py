"""Tail-index estimator of Mohammadi, Mohammadpour & Ogata (2015, Corollary 2.4), as used by
Simsekli, Sagun & Gurbuzbalaban (2019), "A tail-index analysis of stochastic gradient noise in deep
neural networks" (the estimator alpha_hat of their section 4; reference code umutsimsekli/sgd_tail_index,
utils.py ``alpha_estimator``).

Split N = m n samples X_1..X_N into n consecutive blocks of m and let Y_i be the sum of block i. Then

    1 / alpha_hat = ( (1/n) sum_i log|Y_i| - (1/N) sum_j log|X_j| ) / log m.

For i.i.d. symmetric alpha-stable samples, Y_i has the law of m^(1/alpha) X_1, so alpha_hat -> alpha
(alpha in (0, 2]) as n, m -> infinity. Like the reference, |.| + EPS is used inside the logs.

What is here:

* ``alpha_estimator``: the estimate from a 1-D tensor or array held in memory.
* ``default_block``: the reference's block size, the largest divisor of N that is <= sqrt(N).
* ``TailIndexAccumulator``: the same estimate from consecutive chunks (data that does not fit at once).
* ``gradient_noise_tail_index``: the estimate for the noise of P minibatch gradients, every coordinate of
  every centred gradient one sample (as the reference), computed in bounded memory.

Block sums and logs are computed in float64 whatever the input dtype (the reference sums in the input
dtype; the two differ only by rounding).
"""

from __future__ import annotations

import math

import numpy as np
import torch

# The reference's eps: log(|x| + EPS) cannot be log(0). It is absolute, so it biases the estimate when
# the samples (or block sums) are themselves of order 1e-6 or smaller: rescale such data first.
EPS = 1e-6

# Elements converted to float64 at a time (4 MiB each); the few temporaries per piece keep the memory
# beyond the input (and gradient_noise_tail_index's float64 mean) under ~64 MiB.
_PIECE = 1 << 19

__all__ = ["EPS", "TailIndexAccumulator", "alpha_estimator", "default_block", "gradient_noise_tail_index"]


def default_block(n_samples: int) -> int:
    """The reference's block size m: the largest divisor of N = n_samples with m <= sqrt(N).

    Raises ValueError when that divisor is 1 (N = 1 or N prime): the estimator divides by log(m) = 0.
    """
    n = _check_count(n_samples, "n_samples")
    # Descending from isqrt(N), the first divisor is the largest; at most ~1.1e4 steps for N ~ 1.2e8.
    for m in range(math.isqrt(n), 1, -1):
        if n % m == 0:
            return m
    raise ValueError(f"n_samples = {n} has no divisor m with 2 <= m <= sqrt(N) (N is 1 or prime), so the "
                     "block size would be m = 1 and the estimator divides by log(1) = 0; drop a few samples "
                     "so that N has such a divisor (e.g. an even N), or pass a block explicitly")


class TailIndexAccumulator:
    """``alpha_estimator`` over N samples that arrive as consecutive 1-D chunks (any lengths, in order).

    A block split across chunks is carried over; the result equals ``alpha_estimator`` on the
    concatenation up to float64 rounding. A chunk that would take the count past N, or that contains a
    non-finite value, raises ValueError and leaves the accumulator unchanged.
    """

    def __init__(self, n_samples: int, block: int):
        self.n_samples = _check_count(n_samples, "n_samples")
        self.block = _check_block(block, self.n_samples)
        self.n_added = 0
        self._sum_log_x = 0.0  # sum_j log(|X_j| + EPS), float64
        self._sum_log_y = 0.0  # sum_i log(|Y_i| + EPS) over completed blocks, float64
        self._partial = 0.0  # sum of the samples of the incomplete block so far
        self._partial_len = 0

    def add(self, chunk) -> None:
        """Add the next consecutive samples (1-D tensor or array; may be empty)."""
        x = _as_1d(chunk, "chunk")
        k = x.numel()
        if self.n_added + k > self.n_samples:
            raise ValueError(f"chunk of {k} samples takes the total to {self.n_added + k}, more than the "
                             f"n_samples = {self.n_samples} declared")
        m = self.block
        sum_log_x, sum_log_y = self._sum_log_x, self._sum_log_y
        partial, partial_len = self._partial, self._partial_len
        # Pieces that are whole numbers of blocks (when a block fits in a piece) stay block-aligned.
        piece = (_PIECE // m) * m if m <= _PIECE else _PIECE
        for start in range(0, k, piece):
            p = x[start:start + piece].to(torch.float64)
            log_x = _sum_log_abs(p)
            if not math.isfinite(log_x):
                raise ValueError(f"non-finite sample in chunk at offset >= {start}: the tail index needs "
                                 "finite samples")
            sum_log_x += log_x
            pos = 0
            if partial_len:  # complete the block carried over
                take = min(m - partial_len, p.numel())
                partial += p[:take].sum().item()
                partial_len += take
                pos = take
                if partial_len == m:
                    sum_log_y += math.log(abs(partial) + EPS)
                    partial, partial_len = 0.0, 0
            whole = (p.numel() - pos) // m
            if whole:
                y = p[pos:pos + whole * m].view(whole, m).sum(1)
                sum_log_y += _sum_log_abs(y)
                pos += whole * m
            if pos < p.numel():  # start of a block that the next piece or chunk completes
                partial += p[pos:].sum().item()
                partial_len += p.numel() - pos
        self._sum_log_x, self._sum_log_y = sum_log_x, sum_log_y
        self._partial, self._partial_len = partial, partial_len
        self.n_added += k

    def estimate(self) -> float:
        """alpha_hat once exactly n_samples samples have been added (inf if the two log means agree)."""
        if self.n_added != self.n_samples:
            raise ValueError(f"{self.n_added} samples added, {self.n_samples} declared: add the rest first")
        n_blocks = self.n_samples // self.block
        diff = (self._sum_log_y / n_blocks - self._sum_log_x / self.n_samples) / math.log(self.block)
        return math.inf if diff == 0.0 else 1.0 / diff


def alpha_estimator(samples, block: int) -> float:
    """Tail index alpha_hat of N scalar samples with blocks of m = ``block`` (N divisible by m).

    1/alpha_hat = (mean_i log|Y_i| - mean_j log|X_j|) / log m, with Y_i the sum of the i-th block of
    m consecutive samples (Mohammadi et al. 2015, Cor. 2.4; Simsekli et al. 2019, the estimator alpha_hat).
    For i.i.d. symmetric alpha-stable samples, alpha in (0, 2], it converges to alpha. Data far from that
    model can give any value, including negative ones.
    """
    x = _as_1d(samples, "samples")
    if x.numel() == 0:
        raise ValueError("samples is empty: the tail index needs at least one block of samples")
    accumulator = TailIndexAccumulator(x.numel(), block)
    accumulator.add(x)
    return accumulator.estimate()


def gradient_noise_tail_index(gradients, block: int | None = None) -> float:
    """Tail index of stochastic-gradient noise (Simsekli et al. 2019): ``alpha_estimator`` of
    ``(gradients - gradients.mean(0))`` flattened row-major, one sample per coordinate per minibatch.

    ``gradients`` is a (P, M) tensor or array of P flattened minibatch gradients, P >= 2. ``block``
    defaults to ``default_block(P * M)``. The mean is taken in float64 and the centred values are formed
    a tile at a time, so beyond the input and the float64 mean (8 M bytes) the temporaries stay under
    ~64 MiB whatever P and M (measured peak growth ~50 MiB for a 64 x 2^20 float32 input).
    """
    g = torch.as_tensor(gradients)
    if g.ndim != 2:
        raise ValueError(f"gradients must be a (P, M) matrix of flattened minibatch gradients, got shape "
                         f"{tuple(g.shape)}")
    _check_numeric(g, "gradients")
    n_batches, dim = g.shape
    if n_batches < 2 or dim < 1:
        raise ValueError(f"gradients of shape {tuple(g.shape)}: need P >= 2 minibatches (the noise of a "
                         "single one is zero) and M >= 1 coordinates")
    n_samples = n_batches * dim
    if block is None:
        block = default_block(n_samples)
    accumulator = TailIndexAccumulator(n_samples, block)
    # Tiles of rows x columns with at most _PIECE elements, in row-major order of the flattened noise.
    rows = max(1, _PIECE // dim)
    cols = min(dim, _PIECE)
    tiles = [(r, c) for r in range(0, n_batches, rows) for c in range(0, dim, cols)]
    mean = torch.zeros(dim, dtype=torch.float64, device=g.device)
    for r, c in tiles:
        mean[c:c + cols] += g[r:r + rows, c:c + cols].to(torch.float64).sum(0)
    mean /= n_batches
    for r, c in tiles:
        noise = g[r:r + rows, c:c + cols].to(torch.float64, copy=True).sub_(mean[c:c + cols])
        accumulator.add(noise.reshape(-1))
    return accumulator.estimate()


def _sum_log_abs(x: torch.Tensor) -> float:
    """sum log(|x| + EPS) in float64, with one temporary."""
    return torch.abs(x).add_(EPS).log_().sum().item()


def _as_1d(samples, name: str) -> torch.Tensor:
    x = samples if isinstance(samples, torch.Tensor) else torch.as_tensor(np.asarray(samples))
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(x.shape)} (flatten it with reshape(-1))")
    _check_numeric(x, name)
    return x


def _check_numeric(x: torch.Tensor, name: str) -> None:
    if x.dtype == torch.bool or x.is_complex():
        raise ValueError(f"{name} must be real numbers, got dtype {x.dtype}")


def _check_count(n, name: str) -> int:
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"{name} must be a positive integer (no samples, nothing to estimate), got {n!r}")
    return int(n)


def _check_block(block, n_samples: int) -> int:
    if isinstance(block, bool) or int(block) != block or block < 2:
        raise ValueError(f"block must be an integer >= 2 (the estimator divides by log(block)), got {block!r}")
    block = int(block)
    if n_samples % block:
        raise ValueError(f"N = {n_samples} samples is not divisible by block = {block}: drop "
                         f"{n_samples % block} samples or choose a block that divides N (default_block(N))")
    return block
