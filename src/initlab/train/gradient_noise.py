"""Stochastic-gradient noise of every member of a batched model, and its tail index.

Simsekli, Sagun & Gurbuzbalaban (2019) define the gradient noise at parameters w as the minibatch
gradients over one pass of the data, each minus their mean (the full-batch gradient), and estimate
its tail index with every coordinate of every minibatch's noise as one scalar sample
(``initlab.stats.tail_index``).  Their code stores all P minibatch gradients (P x M floats: 475 MB
for the fractional paper's 5-layer MNIST net at batch 32, per network); here two passes over the
data (the mean, then the centred noise streamed into the estimator) keep the memory at a few
minibatch gradients per member, at the price of a second pass.
"""

from __future__ import annotations

from typing import Iterator

import torch

from initlab.stats.tail_index import TailIndexAccumulator, default_block
from initlab.train.engine import ParamLayout, loss_and_grad_fn


def minibatch_gradients(model, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                        batch_size: int, loss: str = "cross_entropy") -> Iterator[torch.Tensor]:
    """For each consecutive minibatch of (x, y) in order (the last one may be smaller, as a
    DataLoader's), every member's gradient of its minibatch mean loss at ``params`` (left unchanged):
    one (S, M) tensor per minibatch, M = parameters per member, in ``params`` order."""
    detached = {k: v.detach().clone() for k, v in params.items()}
    layout = ParamLayout(detached)
    flat = layout.flatten(detached)
    grad_flat = torch.zeros_like(flat)
    leaves = layout.leaves(flat, grad_flat)
    loss_and_grad = loss_and_grad_fn(model)
    S = layout.n_seeds
    alive = torch.ones(S, dtype=torch.bool, device=flat.device)
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size]
        yb = y[start:start + batch_size]
        grad_flat.zero_()
        loss_and_grad(leaves, xb.expand(S, *xb.shape), yb.expand(S, *yb.shape), alive, loss)
        yield torch.cat([g.reshape(S, -1) for g in layout.views(grad_flat).values()], dim=1)


def tail_indices(model, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, batch_size: int,
                 loss: str = "cross_entropy") -> torch.Tensor:
    """The tail index of each member's gradient noise at ``params`` (S,): the estimator of
    Mohammadi et al. (2015) on the P x M centred minibatch gradients, block size the largest divisor
    of P M that is <= sqrt(P M), as Simsekli et al.'s code."""
    total = None
    n_batches = 0
    for grads in minibatch_gradients(model, params, x, y, batch_size, loss):
        total = grads.double() if total is None else total.add_(grads.double())
        n_batches += 1
    if n_batches < 2:
        raise ValueError(f"{x.shape[0]} examples at batch size {batch_size} give {n_batches} minibatch: the "
                         "gradient noise needs at least 2")
    mean = total / n_batches
    S, dim = mean.shape
    n_samples = n_batches * dim
    accumulators = [TailIndexAccumulator(n_samples, default_block(n_samples)) for _ in range(S)]
    for grads in minibatch_gradients(model, params, x, y, batch_size, loss):
        noise = grads.double() - mean
        for s, accumulator in enumerate(accumulators):
            accumulator.add(noise[s])
    return torch.tensor([a.estimate() for a in accumulators], dtype=torch.float64)
