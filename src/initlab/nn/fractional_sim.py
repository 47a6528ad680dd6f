"""Fast exact Monte Carlo of deep bias-free Gaussian networks, one input per network.

For W with i.i.d. N(0, sigma^2) entries drawn independently of x, W x has exactly the law
sigma ||x|| g with g ~ N(0, I_d).  So one input pushed through a network with fresh Gaussian weights
per layer can be simulated by drawing d normals per layer instead of d^2: the law of the whole path
(x_0, ..., x_k) is the same as with full matrices.  This makes 10^5 independent networks x 100
layers cheap (the full-matrix simulator ``initlab.nn.random_nets.simulate_log_norms`` needs d^2 normals
per layer and network; the tests check the two against each other).  Optional dropout (Remark 13 of
the fractional paper): x -> phi_a(W (x * eps)) with eps_i = Bernoulli(q) / q.
"""

from __future__ import annotations

import torch


def simulate_log_norms_gaussian(
    width: int,
    depth: int,
    n_networks: int,
    sigma: float,
    slope: float,
    *,
    x0: torch.Tensor | None = None,
    keep: float = 1.0,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    chunk: int = 1 << 17,
) -> torch.Tensor:
    """log||x_k|| for k = 0..depth of ``n_networks`` independent networks x_{k+1} = phi_a(W (x_k * eps)),
    W_ij ~ N(0, sigma^2), one input each; shape (n_networks, depth + 1), float64; -inf once x_k = 0
    (ReLU).  ``x0`` (width,) is the input of every network (default: the first unit vector; by rotation
    invariance only its norm matters without dropout).  The state is renormalised every layer and the
    log norms accumulated in float64, so deep products neither overflow nor underflow."""
    if width < 1 or depth < 1 or n_networks < 1:
        raise ValueError(f"width, depth and n_networks must be >= 1 (got {width}, {depth}, {n_networks})")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0 (got {sigma})")
    if not 0.0 <= slope <= 1.0:
        raise ValueError(f"slope a must lie in [0, 1] (got {slope})")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"dropout keep probability must lie in (0, 1] (got {keep})")
    device = torch.device(device)
    if generator is None:
        generator = torch.Generator(device=device).manual_seed(0)
    if x0 is None:
        x0 = torch.zeros(width, dtype=torch.float64)
        x0[0] = 1.0
    if x0.shape != (width,):
        raise ValueError(f"x0 must have shape ({width},), got {tuple(x0.shape)}")
    out = torch.empty((n_networks, depth + 1), dtype=torch.float64, device=device)
    x0 = x0.to(device=device, dtype=torch.float64)
    out[:, 0] = torch.linalg.vector_norm(x0).log()
    for start in range(0, n_networks, chunk):
        stop = min(n_networks, start + chunk)
        count = stop - start
        state = (x0 / torch.linalg.vector_norm(x0)).to(dtype).expand(count, width).clone()
        pre = torch.empty((count, width), device=device, dtype=dtype)
        log_norm = out[start:stop, 0].clone()
        for layer in range(1, depth + 1):
            if keep < 1.0:
                mask = torch.rand((count, width), generator=generator, device=device, dtype=dtype) < keep
                state = state * mask / keep
            scale = sigma * torch.linalg.vector_norm(state, dim=1, keepdim=True)
            torch.randn((count, width), generator=generator, device=device, dtype=dtype, out=pre)
            pre.mul_(scale)
            # phi_a in place (leaky_relu with slope 0 is ReLU, with slope 1 the identity)
            state = torch.nn.functional.leaky_relu(pre, slope) if slope < 1.0 else pre.clone()
            norm = torch.linalg.vector_norm(state, dim=1)
            log_norm += norm.to(torch.float64).log()
            state.div_(torch.where(norm > 0, norm, torch.ones_like(norm)).unsqueeze(1))
            out[start:stop, layer] = log_norm
    return out
