"""Models for the training engine (initlab.train): feed-forward nets with a leading seed dimension.

A *batched* model holds S independent networks of one architecture as stacked tensors
(``weight_l``: (S, fan_out, fan_in), ``bias_l``: (S, fan_out), ``log_q_l``: (S, fan_in)) and runs them
with batched matrix products (``torch.baddbmm``) on inputs of shape (S, B, fan_in).  Seed s of a
batch is initialised from its own ``torch.Generator`` only, so it is the same network whether it is
trained alone or among other seeds.

The Lipschitz variant is the SLL/AOL layer of the decay paper, eq. (1)-(2): y = W T^(-1/2) x + b with
T = diag(sum_j |W^T W|_ij q_j / q_i) and learnable q (initialised to 1), followed by ReLU; the
rescaling itself is ``initlab.nn.lipschitz.aol_transform`` (one implementation for the project).

``MLP`` is the same network for a single seed as a plain ``nn.Module`` (used by the per-seed loop
baseline of ``python -m initlab.bench training`` and by the torch.func/vmap variant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from initlab.nn.lipschitz import SCALES as AOL_SCALES
from initlab.nn.lipschitz import aol_transform
from initlab.theory.decay import bias_variance_eq42

BIAS_INITS = ("zero", "eq42", "uniform_fan_in")
ACTIVATIONS = {"relu": F.relu, "elu": F.elu, "tanh": torch.tanh,
               "leaky_relu": F.leaky_relu, "identity": lambda x: x}


def _uniform(shape, bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2.0 - 1.0).mul_(bound).float()


def init_layer(fan_in: int, fan_out: int, bias_init: str, generator: torch.Generator
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """One layer's (weight, bias) for one seed, drawn from ``generator`` on the CPU (so that CPU and
    CUDA runs start from the same numbers).  Weight: PyTorch's nn.Linear default,
    kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)).  Bias: exactly 0 ('zero'), N(0, eq. (42))
    ('eq42'), or nn.Linear's default U(+-1/sqrt(fan_in)) ('uniform_fan_in')."""
    bound = 1.0 / math.sqrt(fan_in)
    weight = _uniform((fan_out, fan_in), bound, generator)
    if bias_init == "zero":
        bias = torch.zeros(fan_out)
    elif bias_init == "uniform_fan_in":
        bias = _uniform((fan_out,), bound, generator)
    elif bias_init == "eq42":
        var = float(bias_variance_eq42(fan_in, fan_out))  # paper: n = fan-in, d = fan-out
        if var <= 0:
            raise ValueError(f"eq. (42) gives bias variance {var} <= 0 for fan_in={fan_in}, fan_out={fan_out}; "
                             "use bias_init 'uniform_fan_in' or 'zero'")
        std = math.sqrt(var)
        bias = torch.randn((fan_out,), generator=generator, dtype=torch.float64).mul_(std).float()
    else:
        raise ValueError(f"bias_init {bias_init!r}; allowed: {', '.join(BIAS_INITS)}")
    return weight, bias


@dataclass(frozen=True)
class MLPSpec:
    """Architecture of a fully connected net: in -> width (x (depth + 1) linear maps) -> out.

    ``depth`` counts the internal width x width layers (the decay paper's "number of internal
    layers"); the net has depth + 2 linear maps.  ``lipschitz='aol'`` rescales every weight by the
    SLL/AOL T^(-1/2) of eq. (2) with learnable q = exp(log_q), log_q initialised to 0 (q = 1);
    ``aol_scale`` picks the convention of ``aol_transform``: 'columns' (eqs. (1)-(2), W T^(-1/2))
    or 'rows' (diag(t) W, as inventory fig09 writes it).  ``relu_on_logits`` applies ReLU to the output
    too (what the decay authors' code did; the paper's text does not)."""

    in_features: int
    width: int
    depth: int
    out_features: int
    lipschitz: str | None = None
    aol_scale: str = "columns"
    aol_layers: str = "all"
    bias_init: str = "uniform_fan_in"
    relu_on_logits: bool = False
    activation: str = "relu"
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("in_features", "width", "out_features"):
            if getattr(self, name) < 1:
                raise ValueError(f"MLPSpec.{name} = {getattr(self, name)}; must be >= 1")
        if self.depth < 0:
            raise ValueError(f"MLPSpec.depth = {self.depth}; must be >= 0 (internal layers)")
        if self.lipschitz not in (None, "aol"):
            raise ValueError(f"MLPSpec.lipschitz = {self.lipschitz!r}; allowed: None, 'aol'")
        if self.aol_layers not in ("all", "internal"):
            raise ValueError(f"MLPSpec.aol_layers = {self.aol_layers!r}; allowed: 'all', 'internal'")
        if self.aol_scale not in AOL_SCALES:
            raise ValueError(f"MLPSpec.aol_scale = {self.aol_scale!r}; allowed: {', '.join(AOL_SCALES)}")
        if self.bias_init not in BIAS_INITS:
            raise ValueError(f"MLPSpec.bias_init = {self.bias_init!r}; allowed: {', '.join(BIAS_INITS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"MLPSpec.activation = {self.activation!r}; allowed: {', '.join(ACTIVATIONS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"MLPSpec.dropout = {self.dropout}; must be in [0, 1)")

    def is_aol(self, index: int) -> bool:
        """Whether linear map ``index`` is AOL-normalised: all of them, or (aol_layers='internal')
        only the width x width maps between the input and output layers."""
        if self.lipschitz != "aol":
            return False
        return self.aol_layers == "all" or 0 < index < len(self.shapes) - 1

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every linear map, input to output."""
        sizes = [self.in_features] + [self.width] * (self.depth + 1) + [self.out_features]
        return list(zip(sizes[:-1], sizes[1:]))


class BatchedMLP:
    """S independent copies of ``spec`` as stacked parameters; a function of those parameters.

    ``init(generators)`` returns the parameter dict (one generator per seed), ``forward(params, x,
    dropout_rng)`` maps x of shape (S, B, in_features) to (S, B, out_features)."""

    def __init__(self, spec: MLPSpec):
        self.spec = spec

    def init(self, generators: Sequence[torch.Generator]) -> dict[str, torch.Tensor]:
        per_seed = [self.init_one(g) for g in generators]
        return {name: torch.stack([p[name] for p in per_seed]) for name in per_seed[0]}

    def init_one(self, generator: torch.Generator) -> dict[str, torch.Tensor]:
        params: dict[str, torch.Tensor] = {}
        for index, (fan_in, fan_out) in enumerate(self.spec.shapes):
            weight, bias = init_layer(fan_in, fan_out, self.spec.bias_init, generator)
            params[f"weight_{index}"] = weight
            params[f"bias_{index}"] = bias
            if self.spec.is_aol(index):  # eq. (2): q = exp(log_q) initialised to 1
                params[f"log_q_{index}"] = torch.zeros(fan_in if self.spec.aol_scale == "columns" else fan_out)
        return params

    def effective_weight(self, params: dict[str, torch.Tensor], index: int) -> torch.Tensor:
        weight = params[f"weight_{index}"]
        if self.spec.is_aol(index):
            return aol_transform(weight, params[f"log_q_{index}"].exp(), self.spec.aol_scale)
        return weight

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor,
                dropout_rng=None) -> torch.Tensor:
        """x: (S, B, in_features) -> logits (S, B, out_features).  ``dropout_rng`` (training only)
        is a callable shape -> uniform(0, 1) tensor of shape (S, *shape) from per-seed streams."""
        act = ACTIVATIONS[self.spec.activation]
        n_layers = len(self.spec.shapes)
        h = x
        for index in range(n_layers):
            weight = self.effective_weight(params, index)
            # (S, B, in) @ (S, in, out) + (S, 1, out): one batched product for all seeds.
            h = torch.baddbmm(params[f"bias_{index}"].unsqueeze(1), h, weight.transpose(1, 2))
            last = index == n_layers - 1
            if not last or self.spec.relu_on_logits:
                # In place: baddbmm's backward does not need its output, and skipping one
                # activation-sized allocation per layer is measurable at width 64 on a CPU.
                h = torch.relu_(h) if (last or self.spec.activation == "relu") else act(h)
            if not last and self.spec.dropout > 0 and dropout_rng is not None:
                keep = dropout_rng(h.shape[1:]) >= self.spec.dropout
                h = h * keep / (1.0 - self.spec.dropout)
        return h


class MLP(nn.Module):
    """One seed of ``spec`` as a plain nn.Module (same parameter names and maths as BatchedMLP)."""

    def __init__(self, spec: MLPSpec, params: dict[str, torch.Tensor] | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.spec = spec
        if params is None:
            params = BatchedMLP(spec).init_one(generator or torch.Generator().manual_seed(0))
        for name, value in params.items():
            self.register_parameter(name, nn.Parameter(value.detach().clone()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = ACTIVATIONS[self.spec.activation]
        n_layers = len(self.spec.shapes)
        h = x
        for index in range(n_layers):
            weight = getattr(self, f"weight_{index}")
            if self.spec.is_aol(index):
                weight = aol_transform(weight, getattr(self, f"log_q_{index}").exp(), self.spec.aol_scale)
            h = F.linear(h, weight, getattr(self, f"bias_{index}"))
            last = index == n_layers - 1
            if not last or self.spec.relu_on_logits:
                h = F.relu(h) if last else act(h)
            if not last and self.spec.dropout > 0 and self.training:
                h = F.dropout(h, self.spec.dropout)
        return h
