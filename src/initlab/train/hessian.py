"""Hutchinson's estimator of the Hessian trace for every member of a batched model.

The ldlt paper (Sec. V-C, Figs. 9-11) reports the Hessian trace of the loss sum_ij d^2 L / dW_ij^2 over
the weights. Hutchinson (1990): for v with iid Rademacher entries, E[v^T H v] = tr(H), and since
v_i^2 = 1 the variance is 2 sum_{i != j} H_ij^2 (zero for a diagonal Hessian).

Members are independent (member s's loss depends on member s's slice of each parameter only), so the
Hessian of the sum of the members' losses is block diagonal: one Hessian-vector product of that sum gives
every member's H_s v_s at once, and v^T H v splits into per-member terms by summing v * Hv over all but
the leading (member) dimension.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

__all__ = ["hutchinson_trace", "rademacher"]


def rademacher(shape: Sequence[int], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """iid +-1 entries of `shape`, drawn on the CPU from `generator` (so the numbers do not depend on the
    device), then moved to the device and dtype of `like`."""
    signs = torch.randint(0, 2, tuple(shape), generator=generator, dtype=torch.int8).mul_(2).sub_(1)
    return signs.to(device=like.device, dtype=like.dtype)


def hutchinson_trace(loss_fn: Callable[[dict[str, torch.Tensor]], torch.Tensor], params: dict[str, torch.Tensor],
                     names: Sequence[str], probes: int,
                     generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Hutchinson estimate of each member's tr(d^2 loss_s / d theta_s^2), theta_s = member s's slice of the
    parameters in `names` (e.g. only the raw weights "w0", "w1", ...).

    loss_fn(params) -> (S,) per-member losses; params: name -> (S, ...) tensors (left unchanged: the
    function differentiates detached copies). Draws `probes` Rademacher vectors in turn from `generator`
    (CPU; for each probe one tensor per name, in `names` order) and returns (mean over probes, standard
    error of that mean over probes), both (S,) float64; the standard error is NaN when probes == 1.
    The first gradient is built once (create_graph) and kept for all probes (retain_graph); each probe
    adds one Hessian-vector product (double backward, which works through torch.linalg.cholesky and
    solve_triangular)."""
    if probes < 1:
        raise ValueError(f"probes must be >= 1, got {probes}")
    missing = [name for name in names if name not in params]
    if missing or not names:
        raise ValueError(f"names must be a non-empty subset of params {list(params)}, got {list(names)}")
    leaves = {k: v.detach().requires_grad_(k in names) for k, v in params.items()}
    wrt = [leaves[name] for name in names]
    n_members = wrt[0].shape[0]
    with torch.enable_grad():  # callers may evaluate under no_grad
        losses = loss_fn(leaves)
        if losses.shape != (n_members,):
            raise ValueError(f"loss_fn must return ({n_members},) per-member losses, got {tuple(losses.shape)}")
        grads = torch.autograd.grad(losses.sum(), wrt, create_graph=True, allow_unused=True)
        # a gradient without a graph is constant in theta: its rows of H are zero, so it is left out of
        # the product (autograd refuses outputs that do not require grad)
        curved = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]
        samples = torch.zeros(probes, n_members, dtype=torch.float64, device=wrt[0].device)
        for k in range(probes):
            vs = [rademacher(w.shape, generator, w) for w in wrt]  # drawn even when unused: same stream
            if not curved:
                continue
            hvs = torch.autograd.grad([grads[i] for i in curved], [wrt[i] for i in curved],
                                      grad_outputs=[vs[i] for i in curved], retain_graph=k < probes - 1,
                                      allow_unused=True)
            for i, hv in zip(curved, hvs):
                if hv is not None:
                    samples[k] += (vs[i].double() * hv.double()).reshape(n_members, -1).sum(dim=1)
    mean = samples.mean(dim=0)
    stderr = samples.std(dim=0) / math.sqrt(probes) if probes > 1 else torch.full_like(mean, float("nan"))
    return mean, stderr
