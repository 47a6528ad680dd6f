"""Batched Monte Carlo of deep random bias-free networks x_{k+1} = phi(W_{k+1} x_k).

Used by the lyapunov paper's limit theorems (fig01 and the LLN/CLT counter-examples) and by the
fractional paper's distribution of log||x_k||.  Many networks, each with fresh weights per layer,
are pushed through all layers at once: weights have shape (networks, width, width) and every network
carries a batch of inputs (networks, width, inputs), so each layer is one batched matmul.

The weight matrices are sampled in full (not replaced by the rotation-invariance shortcut
``||phi(W x)|| ~ sigma ||phi(g)|| ||x||``), so that the Monte Carlo is an independent check of the
formulas that rely on that invariance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

WeightSampler = Callable[[torch.Generator, tuple[int, ...], torch.device, torch.dtype], torch.Tensor]


def gaussian_weights(sigma: float) -> WeightSampler:
    """i.i.d. N(0, sigma^2) entries."""

    def sample(gen, shape, device, dtype):
        return sigma * torch.randn(shape, generator=gen, device=device, dtype=dtype)

    return sample


def orthogonal_weights(scale: float) -> WeightSampler:
    """scale * O with O Haar-distributed on O(d): QR of a Gaussian matrix with the signs of diag(R)
    folded into Q (Mezzadri 2007), which makes the law exactly Haar."""

    def sample(gen, shape, device, dtype):
        gaussian = torch.randn(shape, generator=gen, device=device, dtype=dtype)
        q, r = torch.linalg.qr(gaussian)
        signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
        signs[signs == 0] = 1
        return scale * q * signs.unsqueeze(-2)

    return sample


def leaky_relu(slope: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def phi(z):
        return torch.where(z > 0, z, slope * z)

    return phi


@dataclass
class LogNormPaths:
    """log||x_k|| for k = 0..depth; shape (networks, inputs, depth + 1).  -inf where x_k = 0."""

    log_norm: torch.Tensor

    def increments(self) -> torch.Tensor:
        return self.log_norm[..., 1:] - self.log_norm[..., :1]


def simulate_log_norms(
    width: int,
    depth: int,
    n_networks: int,
    weight_sampler: WeightSampler,
    activation: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    *,
    positively_homogeneous: bool = True,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    chunk_networks: int | None = None,
) -> LogNormPaths:
    """Push ``x0`` through ``depth`` layers of ``n_networks`` independent random networks.

    ``x0`` has shape (inputs, width) (the same inputs for every network) or (n_networks, inputs,
    width).  For a positively homogeneous activation (Leaky ReLU) the state is renormalised after
    every layer and the log norms are accumulated, so that depth-100 products neither overflow nor
    underflow; otherwise (tanh) the raw state is propagated.
    """
    device = torch.device(device)
    if generator is None:
        generator = torch.Generator(device=device).manual_seed(0)
    x0 = x0.to(device=device, dtype=dtype)
    shared_inputs = x0.dim() == 2
    n_inputs = x0.shape[-2]
    if chunk_networks is None:
        # keep one layer's weights under ~64 MiB
        chunk_networks = max(1, min(n_networks, (64 << 20) // (8 * width * width)))
    out = torch.empty((n_networks, n_inputs, depth + 1), dtype=torch.float64, device=device)
    for start in range(0, n_networks, chunk_networks):
        stop = min(n_networks, start + chunk_networks)
        count = stop - start
        state = (x0.expand(count, n_inputs, width) if shared_inputs else x0[start:stop]).transpose(1, 2)
        state = state.clone()  # (networks, width, inputs)
        log_norm = torch.linalg.vector_norm(state, dim=1).log().to(torch.float64)
        out[start:stop, :, 0] = log_norm
        if positively_homogeneous:
            state = _normalise(state)
        for layer in range(1, depth + 1):
            weights = weight_sampler(generator, (count, width, width), device, dtype)
            state = activation(torch.bmm(weights, state))
            norm = torch.linalg.vector_norm(state, dim=1)
            if positively_homogeneous:
                log_norm = log_norm + norm.log().to(torch.float64)
                state = _normalise(state, norm)
            else:
                log_norm = norm.log().to(torch.float64)
            out[start:stop, :, layer] = log_norm
    return LogNormPaths(out)


def _normalise(state: torch.Tensor, norm: torch.Tensor | None = None) -> torch.Tensor:
    if norm is None:
        norm = torch.linalg.vector_norm(state, dim=1)
    # a network whose state hit exactly 0 (possible for ReLU) stays at 0 with log norm -inf
    safe = torch.where(norm > 0, norm, torch.ones_like(norm))
    return state / safe.unsqueeze(1)
