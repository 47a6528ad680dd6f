"""LDLT networks batched over members: the ldlt paper's HIGGS models (Sec. V-B) for the engine.

Layer k maps h -> M_k h + b_k with the norm-bounded LDLT weight of ``initlab.nn.ldlt`` (Lemma III.2,
corrected factor):

    independent:  M_k = gamma W_k U_k^(-1),                          U_k^T U_k = alpha I + W_k^T W_k
    coupled:      M_k = gamma sqrt(alpha) W_k U_k^(-1) L_(k-1)^(-1),  L_(k-1) L_(k-1)^T = alpha I + W_(k-1) W_(k-1)^T

(coupled: the first author's L-DLT layer code, sweeps.md a.2, chains each layer with the previous
layer's lower Cholesky factor; ||L^(-1)||_2 <= alpha^(-1/2), so the factor sqrt(alpha) keeps
||M_k||_2 < gamma in both forms).  ELU between layers, none after the last.  Every member's raw
weights W_k are stacked as (S, fan_out, fan_in) and every factorization runs as one batched
``torch.linalg.cholesky`` / ``solve_triangular`` over the members; autograd differentiates through
them (also twice, for the Hessian-vector products of ``initlab.train.hessian``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from initlab.nn.inits import InitSpec
from initlab.nn.ldlt import ldlt_linear
from initlab.nn.models import init_layer

LDLT_FORMS = ("independent", "coupled")


@dataclass(frozen=True)
class LDLTNetSpec:
    """``depth`` LDLT layers in all (sweeps.md a.2 item 4: in -> width, depth - 2 width x width maps,
    width -> out), ELU (alpha_elu = 1) between them."""

    in_features: int
    width: int
    depth: int
    out_features: int = 1
    alpha: float = 1.0
    gamma: float = 1.0
    form: str = "independent"
    bias_init: str = "zero"   # 'zero' | 'uniform_fan_in' (nn.Linear's default)

    def __post_init__(self):
        for name in ("in_features", "width", "out_features"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"LDLTNetSpec.{name} = {getattr(self, name)}; must be >= 1")
        if self.depth < 2:
            raise ValueError(f"LDLTNetSpec.depth = {self.depth}; must be >= 2 (input and output layers)")
        if not (self.alpha > 0 and self.gamma > 0):
            raise ValueError(f"LDLTNetSpec alpha = {self.alpha}, gamma = {self.gamma}; both must be > 0")
        if self.form not in LDLT_FORMS:
            raise ValueError(f"LDLTNetSpec.form = {self.form!r}; allowed: {', '.join(LDLT_FORMS)}")
        if self.bias_init not in ("zero", "uniform_fan_in"):
            raise ValueError(f"LDLTNetSpec.bias_init = {self.bias_init!r}; allowed: zero, uniform_fan_in")

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every layer, input to output."""
        sizes = [self.in_features] + [self.width] * (self.depth - 1) + [self.out_features]
        return list(zip(sizes[:-1], sizes[1:]))


def _eye(n: int, like: torch.Tensor) -> torch.Tensor:
    return torch.eye(n, dtype=like.dtype, device=like.device)


def _gram(weight: torch.Tensor, alpha: float, outer: bool = False) -> torch.Tensor:
    """alpha I + W^T W (or alpha I + W W^T): one batched product, alpha added on the diagonal in place."""
    gram = weight @ weight.transpose(1, 2) if outer else weight.transpose(1, 2) @ weight
    gram.diagonal(dim1=-2, dim2=-1).add_(alpha)
    return gram


def _cholesky(matrix: torch.Tensor, upper: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched Cholesky factor and a (S,) tensor that is NaN for a member whose matrix is not
    numerically positive definite, else 0 (added to that member's bias: its outputs become NaN and
    the engine marks it diverged, instead of an error that would stop every member of the group)."""
    factor, info = torch.linalg.cholesky_ex(matrix, upper=upper)
    return factor, torch.where(info > 0, float("nan"), 0.0).to(matrix.dtype)


class _LDLTWeight(torch.autograd.Function):
    """W -> W U^(-1), U^T U = alpha I + W^T W, batched, with a hand-derived backward pass: with
    G = dL/dM, Q = G^T M and P = -(lower triangle of Q, diagonal halved) (the Cholesky adjoint,
    since U^T dL/dU^T = -G^T M needs no solve), dL/dW = (G + M (P + P^T)) U^(-T): two products and
    one triangular solve instead of autograd's chain through cholesky and solve_triangular (measured
    on the 2-core CPU: about half the operator calls).  Not twice differentiable: the Hessian-vector
    products use the autograd composition (``BatchedLDLT.effective_weights(twice_differentiable=True)``)."""

    @staticmethod
    def forward(ctx, weight, alpha):
        upper, failed = _cholesky(_gram(weight, alpha), upper=True)
        m = torch.linalg.solve_triangular(upper, weight, upper=True, left=False)
        ctx.save_for_backward(upper, m)
        ctx.mark_non_differentiable(failed)
        return m, failed

    @staticmethod
    def backward(ctx, grad_m, _grad_failed):
        upper, m = ctx.saved_tensors
        q = grad_m.transpose(1, 2) @ m
        sym = q.tril() + q.tril(-1).transpose(1, 2)   # P + P^T = -sym
        y = torch.baddbmm(grad_m, m, sym, alpha=-1.0)
        return torch.linalg.solve_triangular(upper.transpose(1, 2), y, upper=False, left=False), None


class BatchedLDLT:
    """S independent LDLT networks of one ``LDLTNetSpec`` (the engine's model interface: ``init``,
    ``forward``).  Parameters: ``weight_k`` (S, fan_out, fan_in), the raw W_k, and ``bias_k`` (S, fan_out)."""

    grouped_inputs = False

    def __init__(self, spec: LDLTNetSpec):
        self.spec = spec

    def init(self, generators: Sequence[torch.Generator],
             inits: Sequence[InitSpec | None] | None = None) -> dict[str, torch.Tensor]:
        """Member s from ``generators[s]`` alone (layer by layer, weight then bias) with its init
        ``inits[s]`` (e.g. ``scaled_normal`` with its scale)."""
        inits = list(inits) if inits is not None else [None] * len(generators)
        if len(inits) != len(generators):
            raise ValueError(f"{len(inits)} init specs for {len(generators)} members")
        weights, biases = [], []
        for generator, init in zip(generators, inits):
            layers = [init_layer(fan_in, fan_out, self.spec.bias_init, generator,
                                 (init or InitSpec()).for_layer(k, self.spec.depth))
                      for k, (fan_in, fan_out) in enumerate(self.spec.shapes)]
            weights.append([w for w, _ in layers])
            biases.append([b for _, b in layers])
        out = {f"weight_{k}": torch.stack([w[k] for w in weights]) for k in range(self.spec.depth)}
        out.update({f"bias_{k}": torch.stack([b[k] for b in biases]) for k in range(self.spec.depth)})
        return out

    def effective_weights(self, params: dict[str, torch.Tensor], twice_differentiable: bool = False
                          ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """(M_k of every layer, (S, fan_out, fan_in) each; (S,) NaN for members whose factorization
        failed, else 0).  The independent form uses ``_LDLTWeight``'s backward unless
        ``twice_differentiable`` (Hessian-vector products) asks for autograd's composition."""
        alpha, gamma = self.spec.alpha, self.spec.gamma
        out, previous_lower = [], None
        failed = torch.zeros(next(iter(params.values())).shape[0], dtype=params["weight_0"].dtype,
                             device=params["weight_0"].device)
        for k in range(self.spec.depth):
            weight = params[f"weight_{k}"]
            if self.spec.form == "independent" and not twice_differentiable:
                m, failed_k = _LDLTWeight.apply(weight, alpha)
            else:
                upper, failed_k = _cholesky(_gram(weight, alpha), upper=True)
                # W U^(-1): a right-hand triangular solve, no inverse formed
                m = torch.linalg.solve_triangular(upper, weight, upper=True, left=False)
            if self.spec.form == "coupled":
                if previous_lower is not None:
                    m = math.sqrt(alpha) * torch.linalg.solve_triangular(previous_lower, m, upper=False, left=False)
                previous_lower, failed_outer = _cholesky(_gram(weight, alpha, outer=True), upper=False)
                failed_k = failed_k + failed_outer
            failed = failed + failed_k
            out.append(gamma * m if gamma != 1.0 else m)
        return out, failed

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, dropout_rng=None,
                features: list | None = None, twice_differentiable: bool = False) -> torch.Tensor:
        """x: (S, B, in) per member or (B, in) shared -> (S, B, out).  ``features`` (optional list)
        receives every hidden layer's output after the ELU, (S, B, width) each."""
        weights, failed = self.effective_weights(params, twice_differentiable)
        h = x
        for k, m in enumerate(weights):
            bias = params[f"bias_{k}"] if k else params[f"bias_{k}"] + failed[:, None]
            bias = bias.unsqueeze(1)
            h = torch.matmul(h, m.transpose(1, 2)) + bias if h.ndim == 2 else torch.baddbmm(bias, h, m.transpose(1, 2))
            if k < self.spec.depth - 1:
                h = F.elu(h)
                if features is not None:
                    features.append(h)
        return h


class LDLTNet(nn.Module):
    """One member as a plain ``nn.Module`` of ``ldlt_linear`` layers (independent form only): the
    per-run loop baseline of ``python -m initlab.bench sweep --experiment ldlt_higgs`` and the
    reference of the batched model's tests."""

    def __init__(self, spec: LDLTNetSpec, params: dict[str, torch.Tensor] | None = None):
        super().__init__()
        if spec.form != "independent":
            raise ValueError("LDLTNet implements the independent form only")
        self.spec = spec
        self.layers = nn.ModuleList(ldlt_linear(fan_in, fan_out, spec.alpha, spec.gamma, bias=True)
                                    for fan_in, fan_out in spec.shapes)
        if params is not None:
            with torch.no_grad():
                for k, layer in enumerate(self.layers):
                    layer.parametrizations.weight.original.copy_(params[f"weight_{k}"])
                    layer.bias.copy_(params[f"bias_{k}"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = F.elu(x)
        return x
