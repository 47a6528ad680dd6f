"""AOL / SLL weight normalisation (decay paper eq. (2); Prach & Lampert 2022; Araujo et al. 2023).

Two conventions, selected by ``scale``; both give a matrix of spectral norm <= 1:

* ``scale="columns"`` (default; the decay paper's eqs. (1)-(2) and the AOL paper): for a weight
  W of shape (..., out, in) = (d, n), return W T^(-1/2) with T = diag(sum_j |W^T W|_ij q_j / q_i),
  an (in x in) diagonal: column i of W is divided by sqrt(T_ii).  This is the convention of the
  paper's variance theory (eqs. (16)-(36): every column of length d is normalised).
* ``scale="rows"``: return diag(t) W with t_i = (sum_j |W W^T|_ij q_j / q_i)^(-1/2), an (out x out)
  scaling of the rows: the model y = ReLU(diag(t) W x + b) that inventory fig09 writes for the
  training experiments (and the SLL code's t over output channels).  It is the "columns"
  transform of W^T, transposed.

No diagonal matrix is ever formed: T is a vector, the scaling is a broadcast multiply.

Numerical safety: the transform is scale-invariant, so by default no epsilon is added (an
additive epsilon would break scale invariance for small weights).  A column (row) whose T entry
is exactly zero is an all-zero column (row); it is mapped to zero instead of NaN.  ``eps`` > 0
adds eps to T (the SLL code adds 1e-6) for users who want that.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

SCALES = ("columns", "rows")


def aol_transform(weight: torch.Tensor, q: torch.Tensor | None = None, scale: str = "columns",
                  eps: float = 0.0) -> torch.Tensor:
    """The AOL/SLL-normalised weight, batched over any leading dims of ``weight`` (..., out, in).

    ``q``: positive rescaling vector (length ``in`` for scale="columns", ``out`` for "rows"),
    broadcast over the leading dims; None means q = 1 (AOL).  See the module docstring for the
    two conventions and the zero-column rule.
    """
    if weight.dim() < 2:
        raise ValueError(f"aol_transform needs a weight of shape (..., out, in); got shape {tuple(weight.shape)}")
    if scale == "rows":
        return aol_transform(weight.mT, q, "columns", eps).mT
    if scale != "columns":
        raise ValueError(f"scale must be one of {SCALES}; got {scale!r}")
    if torch.is_grad_enabled() and (weight.requires_grad or (q is not None and q.requires_grad)):
        return _AOLColumns.apply(weight, q, float(eps))[0]
    t = aol_diagonal(weight, q, eps)
    return weight * torch.rsqrt(t).unsqueeze(-2)


class _AOLColumns(torch.autograd.Function):
    """W T^(-1/2) ("columns") with a hand-derived vector-Jacobian product.  With M = W^T W,
    a = |M| q, t = a / q (+ eps), s = t^(-1/2) and G = dL/d(W s):
        ds = sum_rows(G * W),   dt = -ds s^3 / 2 (0 where t was 0),   da = dt / q,
        dq = -dt t_raw / q + |M| da,   dM_ij = sign(M_ij) da_i q_j,
        dW = G s + W (dM + dM^T).
    One Gram product forward and one product backward, against three products and a dozen
    elementwise passes for autograd's graph of the same expression (per seed and layer of a
    training step, at width 64 the Gram matrix costs as much as the layer itself).  Checked
    against autograd of the plain formula by tests/test_lipschitz.py (gradcheck, float64)."""

    generate_vmap_rule = True  # usable under torch.func transforms (the bench's vmap variant)

    @staticmethod
    def forward(weight, q, eps):
        gram, gram_abs, t_raw, t = _aol_terms(weight, q, eps)
        positive = t > 0
        scale = torch.rsqrt(torch.where(positive, t, torch.ones_like(t)))
        # The intermediates are outputs (not differentiable) so that setup_context can save them.
        return weight * scale.unsqueeze(-2), gram, gram_abs, t_raw, scale, positive

    @staticmethod
    def setup_context(ctx, inputs, output):
        weight, q, _ = inputs
        _, gram, gram_abs, t_raw, scale, positive = output
        ctx.mark_non_differentiable(gram, gram_abs, t_raw, scale, positive)
        # The intermediates get no gradient: do not fill Gram-sized zero tensors for them (measured:
        # two (30, 10, 64, 64) fills, 6 % of a depth-30 AOL training step).
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(weight, q, gram, gram_abs, t_raw, scale, positive)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad, *_unused):
        weight, q, gram, gram_abs, t_raw, scale, positive = ctx.saved_tensors
        if grad is None:  # the normalised weight was not used
            return None, None, None
        grad_weight = grad * scale.unsqueeze(-2)
        d_scale = (grad_weight * weight).sum(-2) / scale
        d_t = torch.where(positive, d_scale * scale.pow(3) * -0.5, torch.zeros_like(d_scale))
        q_full = torch.ones_like(d_t) if q is None else q.expand_as(d_t)
        d_a = d_t / q_full
        # dM + dM^T = sign(M) * (da_i q_j + q_i da_j), as broadcast products (no transposed pass).
        d_gram_sym = torch.addcmul(d_a.unsqueeze(-1) * q_full.unsqueeze(-2), q_full.unsqueeze(-1), d_a.unsqueeze(-2))
        d_gram_sym.mul_(gram.sign())
        shape = weight.shape
        flat = lambda t: t.reshape(-1, *t.shape[-2:])
        grad_weight = torch.baddbmm(flat(grad_weight), flat(weight), flat(d_gram_sym)).view(shape)
        grad_q = None
        if q is not None and ctx.needs_input_grad[1]:
            grad_q = -d_t * t_raw / q + (gram_abs * d_a.unsqueeze(-2)).sum(-1)
            grad_q = grad_q.sum_to_size(q.shape)  # q broadcast over leading dims of the weight
        return grad_weight, grad_q, None


def _aol_terms(weight: torch.Tensor, q: torch.Tensor | None, eps: float):
    """M = W^T W, |M|, t_raw = |M| q / q and t = t_raw (+ eps) of eq. (2): one computation for the
    gradient path (_AOLColumns) and the no-gradient path (aol_diagonal), so both round alike."""
    if q is not None and q.shape[-1] != weight.shape[-1]:
        raise ValueError(f"q has length {q.shape[-1]} but the weight has {weight.shape[-1]} columns")
    gram = weight.mT @ weight
    gram_abs = gram.abs()
    # |M| q as a broadcast product and a sum: a batched matrix-vector product runs ~3x slower here.
    t_raw = gram_abs.sum(-1) if q is None else (gram_abs * q.unsqueeze(-2)).sum(-1) / q
    t = t_raw + eps if eps else t_raw
    return gram, gram_abs, t_raw, t


def aol_diagonal(weight: torch.Tensor, q: torch.Tensor | None = None, eps: float = 0.0) -> torch.Tensor:
    """T_ii = sum_j |W^T W|_ij q_j / q_i (eq. (2)) as a vector of shape (..., in); zero entries -> 1."""
    t = _aol_terms(weight, q, eps)[3]
    # An all-zero column has T_ii = 0 and stays zero (0 * 1) rather than 0 * inf = NaN.
    return torch.where(t > 0, t, torch.ones_like(t))


class AOLNormalization(nn.Module):
    """``torch.nn.utils.parametrize`` parametrization: weight -> aol_transform(weight, q, scale).

    ``features``: length of q (in_features for scale="columns", out_features for "rows").
    ``learnable_q``: q = exp(log_q) with a learnable log_q initialised at 0 (q = 1, AOL), as in
    the SLL code; otherwise q = 1 and the module has no parameters.
    """

    def __init__(self, features: int, learnable_q: bool = False, scale: str = "columns", eps: float = 0.0):
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}; got {scale!r}")
        self.scale = scale
        self.eps = float(eps)
        self.log_q = nn.Parameter(torch.zeros(int(features))) if learnable_q else None

    def q(self) -> torch.Tensor | None:
        return None if self.log_q is None else self.log_q.exp()

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return aol_transform(weight, self.q(), self.scale, self.eps)


def register_aol(linear: nn.Linear, learnable_q: bool = False, scale: str = "columns",
                 eps: float = 0.0) -> nn.Linear:
    """Register AOLNormalization on ``linear.weight`` (in place) and return the layer."""
    features = linear.in_features if scale == "columns" else linear.out_features
    parametrize.register_parametrization(
        linear, "weight", AOLNormalization(features, learnable_q, scale, eps).to(linear.weight.device, linear.weight.dtype))
    return linear


def column_normalize(weight: torch.Tensor) -> torch.Tensor:
    """W with every column divided by its Euclidean norm: eq. (17)-(18), the AOL transform with
    the off-diagonal terms of W^T W dropped (its squared entries follow Beta(1/2, (d-1)/2), eq. (22))."""
    norm2 = weight.square().sum(-2, keepdim=True)
    return weight * torch.rsqrt(torch.where(norm2 > 0, norm2, torch.ones_like(norm2)))


# ---- batched Monte Carlo of the transformed weights -----------------------------------------


def sample_transformed_weights(batch: int, d: int, n: int, *, generator: torch.Generator | None = None,
                               dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """``batch`` independent d x n matrices W ~ N(0, 1) entries, AOL-normalised (q = 1, columns).

    Returns shape (batch, d, n).  The variance of W does not matter (the transform is scale-invariant).
    """
    weight = torch.randn(batch, d, n, generator=generator, dtype=dtype, device=device)
    return aol_transform(weight)


def per_matrix_second_moment(weight: torch.Tensor) -> torch.Tensor:
    """mean over the d x n entries of (W T^(-1/2))^2, one value per matrix of ``weight`` (..., d, n).

    Computed from the Gram matrix alone: column i of the normalised matrix has squared norm
    (W^T W)_ii / T_ii, so the normalised matrix is never formed.
    """
    gram = weight.mT @ weight
    t = gram.abs().sum(-1)
    ratio = torch.diagonal(gram, dim1=-2, dim2=-1) / torch.where(t > 0, t, torch.ones_like(t))
    return ratio.mean(-1).double() / weight.shape[-2]  # float64: exactly 1/d at n = 1


def matrices_needed(n: int, d: int, min_samples: int, min_matrices: int) -> int:
    """Independent matrices so that there are >= min_samples entries and >= min_matrices matrices."""
    return max(math.ceil(min_samples / (n * d)), int(min_matrices))


def transformed_weight_variance(n: int, d: int, matrices: int, *, seed: int, sampler=None,
                                chunk_elements: int = 1 << 23, dtype: torch.dtype = torch.float32,
                                device=None) -> dict:
    """Monte Carlo of Var[w_hat] = E[w_hat^2] for the AOL-normalised d x n matrix (q = 1).

    E[w_hat] = 0 exactly (w -> -w leaves T unchanged), so the variance is the second moment.
    ``matrices`` independent matrices are drawn in chunks of at most ``chunk_elements`` entries;
    the unit of independence is the matrix (entries of one matrix share normalisers), so the
    standard error is the standard deviation of the per-matrix means over sqrt(matrices).
    ``sampler(batch, d, n, generator)`` returns raw weights (default: standard normal).
    """
    if matrices < 2:
        raise ValueError(f"need >= 2 matrices for a standard error; got {matrices}")
    generator = torch.Generator(device=device or "cpu").manual_seed(int(seed))
    per_chunk = max(1, chunk_elements // (n * d))
    means = []
    done = 0
    while done < matrices:
        batch = min(per_chunk, matrices - done)
        if sampler is None:
            weight = torch.randn(batch, d, n, generator=generator, dtype=dtype, device=device)
        else:
            weight = sampler(batch, d, n, generator)
        means.append(per_matrix_second_moment(weight))
        done += batch
    means = torch.cat(means)
    return {
        "n": n, "d": d, "matrices": matrices, "samples": matrices * n * d,
        "var_mc": means.mean().item(),
        # identical per-matrix values (n = 1: exactly 1/d each) have zero spread, not rounding noise
        "var_mc_stderr": 0.0 if bool(means.max() == means.min())
        else (means.std(unbiased=True) / math.sqrt(matrices)).item(),
    }


def gnd_sampler(alpha: float, sigma: float = 1.0, dtype: torch.dtype = torch.float32):
    """A ``sampler(batch, d, n, generator)`` for ``transformed_weight_variance`` drawing iid
    Generalised-Normal GND(0, sigma, alpha) weights by the inverse CDF (eq. (50),
    ``initlab.theory.decay.gnd_ppf``) from torch uniforms (float64, so the same generator and seed
    give the same weights)."""
    from initlab.theory.decay import gnd_ppf

    def sampler(batch, d, n, generator):
        # torch.rand is in [0, 1): move 0 inside (0, 1) so that the tail 2 min(u, 1-u) is > 0
        u = torch.rand(batch, d, n, generator=generator, dtype=torch.float64,
                       device=generator.device).clamp_min_(2.0 ** -60)
        return torch.from_numpy(gnd_ppf(u.cpu().numpy(), alpha, sigma)).to(device=generator.device, dtype=dtype)

    return sampler


def transformed_weight_variance_many(cells: list[dict], workers: int = 1, **kwargs) -> list[dict]:
    """``transformed_weight_variance`` for many cells (dicts with n, d, matrices, seed and optionally
    sampler), spread over ``workers`` Python threads, each running single-threaded torch ops.

    Parallel over cells instead of inside each small op: the ops of one cell are too small for
    intra-op threading to pay (its synchronisation costs more than the op on a busy machine).
    Every cell has its own generator, so the results do not depend on ``workers``.
    Sets torch's intra-op thread count to 1 while it runs (restored afterwards).
    """
    from concurrent.futures import ThreadPoolExecutor

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if workers <= 1:
            return [transformed_weight_variance(**cell, **kwargs) for cell in cells]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda cell: transformed_weight_variance(**cell, **kwargs), cells))
    finally:
        torch.set_num_threads(previous)
