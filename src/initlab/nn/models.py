"""Models for the training engine (initlab.train): feed-forward nets with a leading seed dimension.

A *batched* model holds S independent networks of one architecture as stacked tensors
(``weight_l``: (S, fan_out, fan_in), ``bias_l``: (S, fan_out), ``log_q_l``: (S, fan_in)) and runs them
with batched matrix products (``torch.baddbmm``) on inputs of shape (S, B, fan_in) in ``forward``
(differentiated by autograd).  The engine's hand-written pass for (Leaky) ReLU nets
(``forward_for_backward`` / ``backward``) computes the same maps feature-major, W h with h of shape
(S, width, B), in cache-sized blocks of members.  Seed s of a batch is initialised from its own
``torch.Generator`` only, so it is the same network whether it is trained alone or among other
seeds.

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

from initlab.nn.inits import InitSpec, uniform
from initlab.nn.lipschitz import SCALES as AOL_SCALES
from initlab.nn.lipschitz import aol_transform
from initlab.theory.decay import bias_variance_eq42

BIAS_INITS = ("zero", "eq42", "uniform_fan_in")
# Activations with their parameter (``MLPSpec.slope``: the negative slope of Leaky ReLU, the alpha
# of ELU); each maps (x, slope) -> activation.
ACTIVATIONS = {"relu": lambda x, slope: F.relu(x), "leaky_relu": F.leaky_relu,
               "elu": lambda x, slope: F.elu(x, slope), "tanh": lambda x, slope: torch.tanh(x),
               "identity": lambda x, slope: x}
DEFAULT_SLOPE = {"leaky_relu": 0.01, "elu": 1.0}  # PyTorch's defaults


def init_layer(fan_in: int, fan_out: int, bias_init: str, generator: torch.Generator,
               init: InitSpec | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One layer's (weight, bias) for one seed, drawn from ``generator`` on the CPU (so that CPU and
    CUDA runs start from the same numbers), weight first.  Weight: ``init``'s method
    (``initlab.nn.inits``; default PyTorch's nn.Linear init, kaiming_uniform(a=sqrt(5)) =
    U(+-1/sqrt(fan_in))).  Bias: exactly 0 ('zero'), N(0, eq. (42)) ('eq42'), or nn.Linear's default
    U(+-1/sqrt(fan_in)) ('uniform_fan_in')."""
    bound = 1.0 / math.sqrt(fan_in)
    weight = (init or InitSpec()).draw(fan_in, fan_out, generator)
    if bias_init == "zero":
        bias = torch.zeros(fan_out)
    elif bias_init == "uniform_fan_in":
        bias = uniform((fan_out,), bound, generator)
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
    slope: float | None = None  # Leaky ReLU's negative slope / ELU's alpha; None: PyTorch's default

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
        if self.slope is not None and self.activation not in DEFAULT_SLOPE:
            raise ValueError(f"MLPSpec.slope = {self.slope} is a parameter of {' / '.join(DEFAULT_SLOPE)} only; "
                             f"activation is {self.activation!r}")

    def activate(self, h: torch.Tensor) -> torch.Tensor:
        """The hidden-layer activation with its parameter."""
        return ACTIVATIONS[self.activation](h, self.activation_slope)

    @property
    def activation_slope(self) -> float | None:
        return DEFAULT_SLOPE.get(self.activation) if self.slope is None else self.slope

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

    grouped_inputs = True  # forward accepts (G, B, in): G groups of consecutive members share inputs
    # Stored activations per block of members in the manual pass (``member_chunks``): measured on the
    # 2-core CPU, the 420-member depth-98 MNIST group's forward + backward runs 20-30 % faster in
    # blocks of 42-84 members (46-92 MB) than all at once (460 MB).
    CHUNK_BYTES = 128 * 2 ** 20

    def __init__(self, spec: MLPSpec):
        self.spec = spec

    def init(self, generators: Sequence[torch.Generator],
             inits: Sequence[InitSpec | None] | None = None) -> dict[str, torch.Tensor]:
        """Parameters of every member (leading dimension), member s from ``generators[s]`` and its
        init method ``inits[s]`` (None: PyTorch's default)."""
        inits = list(inits) if inits is not None else [None] * len(generators)
        if len(inits) != len(generators):
            raise ValueError(f"{len(inits)} init specs for {len(generators)} members")
        chosen = [self.init_selected(g, init) for g, init in zip(generators, inits)]
        per_seed = [params for params, _, _ in chosen]
        # What the sampled inits chose, per member (-1: no choice; the ratio is then that of the draw).
        self.selection = {"candidate": torch.tensor([c for _, c, _ in chosen]),
                          "norm_ratio": torch.tensor([r for _, _, r in chosen], dtype=torch.float64)}
        return {name: torch.stack([p[name] for p in per_seed]) for name in per_seed[0]}

    def init_selected(self, generator: torch.Generator, init: InitSpec | None = None
                      ) -> tuple[dict[str, torch.Tensor], int, float]:
        """One member's parameters, (for a sampled init, ``init.candidates`` > 1) chosen among
        candidate networks: candidate k is the k-th whole network drawn from ``generator``, and the
        one whose mean ||f(x)|| / ||x|| over ``self.selection_inputs`` (probe inputs from the input
        distribution, shared by all members) is closest to ``init.norm_target`` is kept (lyapunov
        paper, Sec. 4: chosen before training, from the member's own stream).  Returns (params,
        chosen candidate or -1, its ratio or NaN where there are no probe inputs)."""
        init = init or InitSpec()
        probe = getattr(self, "selection_inputs", None)
        if init.candidates == 1:
            params = self.init_one(generator, init)
            ratio = float(self.norm_ratios({k: v.unsqueeze(0) for k, v in params.items()}, probe)[0]) \
                if probe is not None else math.nan
            return params, -1, ratio
        if probe is None:
            raise ValueError(f"init {init.describe()!r} selects among candidates by their output norm, but the "
                             "model has no probe inputs: set BatchedMLP.selection_inputs (inputs from the data)")
        candidates = [self.init_one(generator, init) for _ in range(init.candidates)]
        stacked = {name: torch.stack([c[name] for c in candidates]) for name in candidates[0]}
        ratios = self.norm_ratios(stacked, probe)
        best = int((ratios - init.norm_target).abs().argmin())
        return candidates[best], best, float(ratios[best])

    @torch.no_grad()
    def norm_ratios(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Mean over the rows of x (B, in) of ||f(x)|| / ||x||, per member of ``params`` (float64)."""
        out = self.forward({k: v.double() for k, v in params.items()}, x.double())
        return (out.norm(dim=-1) / x.double().norm(dim=-1).clamp_min(1e-300)).mean(-1)

    def init_one(self, generator: torch.Generator, init: InitSpec | None = None) -> dict[str, torch.Tensor]:
        """One seed's parameters: all weights, then all biases, then all log_q, each in layer
        order (so that ``ParamLayout`` puts consecutive layers back to back: ``segments``).
        Draws: layer by layer, weight (``init``, with its first/last-layer rule) then bias."""
        weights, biases, log_qs = {}, {}, {}
        init = init or InitSpec()
        n_layers = len(self.spec.shapes)
        for index, (fan_in, fan_out) in enumerate(self.spec.shapes):
            weights[f"weight_{index}"], biases[f"bias_{index}"] = init_layer(
                fan_in, fan_out, self.spec.bias_init, generator, init.for_layer(index, n_layers))
            if self.spec.is_aol(index):  # eq. (2): q = exp(log_q) initialised to 1
                log_qs[f"log_q_{index}"] = torch.zeros(fan_in if self.spec.aol_scale == "columns" else fan_out)
        return {**weights, **biases, **log_qs}

    def effective_weight(self, params: dict[str, torch.Tensor], index: int) -> torch.Tensor:
        weight = params[f"weight_{index}"]
        if self.spec.is_aol(index):
            return aol_transform(weight, params[f"log_q_{index}"].exp(), self.spec.aol_scale)
        return weight

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor,
                dropout_rng=None) -> torch.Tensor:
        """x: (S, B, in_features), one batch per member, or (B, in_features), one batch shared by
        all members (never copied per member) -> logits (S, B, out_features).  ``dropout_rng``
        (training only) is a callable shape -> uniform(0, 1) tensor of shape (S, *shape) from
        per-seed streams."""
        n_layers = len(self.spec.shapes)
        h = x
        for index in range(n_layers):
            weight = self.effective_weight(params, index)
            bias = params[f"bias_{index}"].unsqueeze(1)
            if h.ndim == 2:
                # Shared inputs: one (B, in) @ (in, S * out) product for every member at once.
                S, fan_out = weight.shape[:2]
                h = (h @ weight.reshape(S * fan_out, -1).T).view(h.shape[0], S, fan_out).transpose(0, 1) + bias
            elif h.shape[0] != weight.shape[0]:
                h = grouped_linear(h, weight) + bias
            else:
                # (S, B, in) @ (S, in, out) + (S, 1, out): one batched product for all seeds.
                h = torch.baddbmm(bias, h, weight.transpose(1, 2))
            last = index == n_layers - 1
            if not last or self.spec.relu_on_logits:
                # In place: baddbmm's backward does not need its output, and skipping one
                # activation-sized allocation per layer is measurable at width 64 on a CPU.
                h = torch.relu_(h) if last else self._activate_(h)
            if not last and self.spec.dropout > 0 and dropout_rng is not None:
                keep = dropout_rng(h.shape[1:]) >= self.spec.dropout
                h = h * keep / (1.0 - self.spec.dropout)
        return h

    # ---- hand-written backward pass (used by initlab.train when ``manual_backward`` is True) -----

    @property
    def manual_backward(self) -> bool:
        """Whether ``forward_for_backward``/``backward`` apply: ReLU nets without dropout.  They give
        the gradients of ``forward`` (tests/test_train_models_metrics.py) with a fraction of the
        operator calls of autograd: at width 64 on a CPU a step is bound by per-operator overhead,
        not by arithmetic (``python -m initlab.bench training``)."""
        return self.spec.activation in ("relu", "leaky_relu") and self.spec.dropout == 0

    def _activate_(self, h: torch.Tensor) -> torch.Tensor:
        """The hidden activation in place where it has an in-place form (ReLU, Leaky ReLU)."""
        if self.spec.activation == "relu":
            return h.relu_()
        if self.spec.activation == "leaky_relu":
            return F.leaky_relu_(h, self.spec.activation_slope)
        return self.spec.activate(h)

    def _activation_backward_(self, grad: torch.Tensor, activated: torch.Tensor) -> None:
        """grad *= d(activation)/d(pre-activation), in place, read off the activation's output (one
        pass; the sign of a (Leaky) ReLU output is that of its input for slopes > 0)."""
        if self.spec.activation == "relu":
            torch.ops.aten.threshold_backward.grad_input(grad, activated, 0, grad_input=grad)
        else:
            torch.ops.aten.leaky_relu_backward.grad_input(grad, activated, self.spec.activation_slope, True,
                                                          grad_input=grad)

    def segments(self) -> list[range]:
        """Runs of consecutive linear maps handled as one stacked tensor by the manual pass: the
        input map, the width x width internal maps (one batched product over all of them), the
        output map."""
        n_layers = len(self.spec.shapes)
        runs = [range(0, 1), range(1, n_layers - 1), range(n_layers - 1, n_layers)]
        return [r for r in runs if len(r)]

    def member_chunks(self, n_members: int, n_groups: int, batch: int, element_size: int = 4) -> list[slice]:
        """Blocks of consecutive members that the manual pass runs one after another (whole input
        groups of n_members / n_groups members each, blocks as equal as possible), so that a block's
        stored activations, (n_layers - 1) x (width + 1) x batch per member, stay within about
        ``CHUNK_BYTES``, a working set that stays in cache between the forward and the backward
        pass instead of going to memory."""
        group = n_members // n_groups
        per_group = (len(self.spec.shapes) - 1) * (self.spec.width + 1) * batch * element_size * group
        n_chunks = math.ceil(n_groups / max(1, self.CHUNK_BYTES // per_group))
        per_chunk = math.ceil(n_groups / n_chunks) * group
        return [slice(start, min(start + per_chunk, n_members)) for start in range(0, n_members, per_chunk)]

    def forward_for_backward(self, params: dict[str, torch.Tensor], x: torch.Tensor,
                             members: slice = slice(None)) -> tuple[torch.Tensor, dict]:
        """``forward`` without an autograd graph, keeping what ``backward`` needs, for the block
        ``members`` (``member_chunks``) of the members of ``params``; x (S, B, in) for those S members
        or, for G groups of consecutive members sharing their inputs, (G, B, in).

        Parameters of a segment (``segments``) are read as one (L, S, ...) view of the flat
        parameter buffer, so the AOL rescaling of eq. (2) runs once per segment (the only part
        recorded by autograd).

        Activations are kept *feature-major*, in one (n_layers - 1, S, width + 1, B) buffer reused
        from step to step: each batched product W h has the batch as its long, contiguous dimension
        (measured on the 2-core CPU against (S, B, width) h W^T: products 2x faster at width 10,
        elementwise passes 1.5-4x; not slower at width 64).  Each slab's last row is ones, and every
        map after the first is one product with its bias as an extra column, [W | b] (internal maps
        also carry a row (0, ..., 0, 1) that carries the ones on): no separate bias pass forward, and
        backward one product gives the weight and bias gradients together.  Returns the logits as an
        (S, B, out) view of the feature-major (S, out, B) buffer (the engine's losses take that
        layout as it is), valid until the next call with inputs of the same shape."""
        weight_0 = params["weight_0"][members]
        work = self._workspace(x, weight_0.shape[0])
        segments = []
        for run in self.segments():
            weight = _stacked([params[f"weight_{i}"] for i in run]).detach()[:, members]
            segment = {"run": run, "weight": weight, "effective": weight, "log_q": None}
            if self.spec.is_aol(run[0]):
                weight.requires_grad_(True)
                log_q = _stacked([params[f"log_q_{i}"] for i in run]).detach()[:, members].requires_grad_(True)
                with torch.enable_grad():
                    segment["effective"] = aol_transform(weight, log_q.exp(), self.spec.aol_scale)
                segment["log_q"] = log_q
            segments.append(segment)
        n_layers, width = len(self.spec.shapes), self.spec.width
        hidden = work["hidden"].unbind(0)  # views made in one call
        with torch.no_grad():
            for segment in segments:
                run, effective = segment["run"], segment["effective"].detach()
                bias = _stacked([params[f"bias_{i}"] for i in run]).detach()[:, members]
                if run[0] == 0:  # (G, m * width, in) @ (G, in, B) is (S, width, B): no copy per member
                    groups, first = x.shape[0], work["first"]
                    torch.bmm(effective[0].reshape(groups, -1, effective.shape[3]), x.transpose(1, 2),
                              out=first.view(groups, -1, first.shape[2]))
                    torch.add(first, bias[0].unsqueeze(2), out=hidden[0][:, :width])
                    self._activate_(hidden[0])  # the row of ones stays 1 under (Leaky) ReLU
                    continue
                extended = work["extended"][run[0]]  # [W | b] (+ the row (0, ..., 0, 1))
                fan_out = effective.shape[2]
                extended[:, :, :fan_out, :width].copy_(effective)
                extended[:, :, :fan_out, width].copy_(bias)
                for index, weight in zip(run, extended.unbind(0)):
                    out = work["logits"] if index == n_layers - 1 else hidden[index]
                    torch.bmm(weight, hidden[index - 1], out=out)
                    if index < n_layers - 1:
                        self._activate_(out)
                    elif self.spec.relu_on_logits:
                        out.relu_()
        return work["logits"].transpose(1, 2), {"x": x, "segments": segments, "work": work, "members": members}

    def _workspace(self, x: torch.Tensor, S: int) -> dict[str, torch.Tensor]:
        """Buffers per input shape/device/dtype and member count S: the hidden activations with
        their rows of ones (n_layers - 1, S, width + 1, B), the first map's product (S, width, B),
        two (S, width, B) gradient buffers (the backward pass needs one layer's gradient at a time;
        two buffers, unlike one per layer, stay in cache), the logits (S, out, B), and per segment
        after the first the extended weights [W | b] and their gradients.  Reusing them keeps the
        CPU allocator from returning and re-faulting activation-sized blocks every step."""
        if S % x.shape[0]:
            raise ValueError(f"{S} members cannot share {x.shape[0]} input groups evenly (groups of consecutive "
                             "members)")
        key = (tuple(x.shape), S, x.device, x.dtype)
        cache = self.__dict__.setdefault("_workspaces", {})
        if key not in cache:
            B, width, n_layers = x.shape[1], self.spec.width, len(self.spec.shapes)
            empty = lambda *shape: torch.empty(shape, device=x.device, dtype=x.dtype)
            work = {"hidden": empty(n_layers - 1, S, width + 1, B), "first": empty(S, width, B),
                    "grad": empty(2, S, width, B), "logits": empty(S, self.spec.out_features, B),
                    "extended": {}, "extended_grad": {}}
            work["hidden"][:, :, width] = 1
            for run in self.segments()[1:]:
                last = run[-1] == n_layers - 1
                fan_out = self.spec.out_features if last else width
                extended = torch.zeros(len(run), S, fan_out + (not last), width + 1, device=x.device, dtype=x.dtype)
                if not last:
                    extended[:, :, width, width] = 1
                work["extended"][run[0]] = extended
                work["extended_grad"][run[0]] = empty(len(run), S, fan_out, width + 1)
            cache[key] = work
        return cache[key]

    @torch.no_grad()
    def backward(self, grads: dict[str, torch.Tensor], cache: dict, grad_outputs: torch.Tensor) -> None:
        """Write d(loss)/d(parameter) into ``grads[name]`` (buffers laid out like the parameters
        given to ``forward_for_backward``: see ``initlab.train.engine.ParamLayout.leaves``), given
        d(loss)/d(outputs) (S, B, out) for the outputs of ``forward_for_backward``.

        One pass from the output to the input; per layer three operator calls: the weight and bias
        gradients as one product (while that layer's activations are still in cache: against one
        stacked product over all layers afterwards, measured 2x faster for the depth-98,
        420-member MNIST group), the product with the weight, and the activation's derivative.  AOL
        segments get the gradient of their rescaled weights, then one chain rule through eq. (2)
        by autograd."""
        work, segments, x, members = cache["work"], cache["segments"], cache["x"], cache["members"]
        n_layers, width = len(self.spec.shapes), self.spec.width
        hidden, pre_grads = work["hidden"].unbind(0), work["grad"].unbind(0)
        inputs_t = work["hidden"].transpose(2, 3).unbind(0)  # (S, B, width + 1) views
        if self.spec.relu_on_logits:
            grad_outputs = torch.ops.aten.threshold_backward(grad_outputs, work["logits"].transpose(1, 2), 0)
        for segment in reversed(segments):
            run = segment["run"]
            weight_grad = _stacked([grads[f"weight_{i}"] for i in run])[:, members]
            bias_grad = _stacked([grads[f"bias_{i}"] for i in run])[:, members]
            effective_grad = weight_grad if segment["log_q"] is None else torch.empty_like(weight_grad)
            if run[0] == 0:  # (G, m * width, B) @ (G, B, in), as in the forward pass
                groups, upstream = x.shape[0], pre_grads[0]
                torch.sum(upstream, 2, out=bias_grad[0])
                torch.bmm(upstream.view(groups, -1, upstream.shape[2]), x,
                          out=effective_grad[0].view(groups, -1, x.shape[2]))
            else:
                extended_grad, fan_out = work["extended_grad"][run[0]], weight_grad.shape[2]
                weights_t = work["extended"][run[0]][:, :, :fan_out, :width].transpose(2, 3).unbind(0)
                for k, index, weight_t, grad_extended in reversed(list(zip(range(len(run)), run, weights_t,
                                                                             extended_grad.unbind(0)))):
                    # d(loss)/d(pre-activation of this layer), feature-major (S, out, B)
                    upstream = grad_outputs.transpose(1, 2) if index == n_layers - 1 else pre_grads[index % 2]
                    torch.bmm(upstream, inputs_t[index - 1], out=grad_extended)  # [dW | db]
                    out = pre_grads[(index - 1) % 2]
                    torch.bmm(weight_t, upstream, out=out)
                    self._activation_backward_(out, hidden[index - 1][:, :width])
                effective_grad.copy_(extended_grad[..., :width])
                bias_grad.copy_(extended_grad[..., width])
            if segment["log_q"] is not None:
                with torch.enable_grad():
                    grad_weight, grad_log_q = torch.autograd.grad(
                        segment["effective"], (segment["weight"], segment["log_q"]), effective_grad)
                weight_grad.copy_(grad_weight)
                _stacked([grads[f"log_q_{i}"] for i in run])[:, members].copy_(grad_log_q)


def grouped_linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x W_s^T for S members in G groups of m = S / G consecutive members, the members of group g
    sharing the inputs x[g]: x (G, B, in), weight (S, out, in) -> (S, B, out).  One (B, in) @
    (in, m * out) product per group: members that share a data order (common random numbers)
    never get a copy of the inputs each."""
    G, B = x.shape[:2]
    S, fan_out, fan_in = weight.shape
    if S % G:
        raise ValueError(f"{S} members cannot share {G} input groups evenly (groups of consecutive members)")
    h = torch.bmm(x, weight.reshape(G, (S // G) * fan_out, fan_in).transpose(1, 2))  # (G, B, m * out)
    return h.view(G, B, S // G, fan_out).transpose(1, 2).reshape(S, B, fan_out)


def _stacked(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Tensors of one shape at equally spaced places of one storage (parameters or gradients of
    consecutive layers in ``ParamLayout``'s flat buffer, or the same members' slices of them) as
    one (L, *shape) view of it."""
    first = tensors[0]
    step = tensors[1].storage_offset() - first.storage_offset() if len(tensors) > 1 else first.numel()
    for k, t in enumerate(tensors):
        if (t.shape != first.shape or not t.is_contiguous() or t.untyped_storage().data_ptr()
                != first.untyped_storage().data_ptr() or t.storage_offset() != first.storage_offset() + k * step
                or step < first.numel()):
            raise ValueError("the manual backward pass needs the parameters (and gradients) of consecutive "
                             "layers back to back in one buffer, in BatchedMLP.init's order: use "
                             "initlab.train.engine.ParamLayout, or backward='autograd'")
    return first.as_strided((len(tensors),) + tuple(first.shape), (step,) + first.stride(), first.storage_offset())


class MLP(nn.Module):
    """One seed of ``spec`` as a plain nn.Module (same parameter names and maths as BatchedMLP)."""

    def __init__(self, spec: MLPSpec, params: dict[str, torch.Tensor] | None = None,
                 generator: torch.Generator | None = None, init: InitSpec | None = None):
        super().__init__()
        self.spec = spec
        if params is None:
            params = BatchedMLP(spec).init_one(generator or torch.Generator().manual_seed(0), init)
        for name, value in params.items():
            self.register_parameter(name, nn.Parameter(value.detach().clone()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_layers = len(self.spec.shapes)
        h = x
        for index in range(n_layers):
            weight = getattr(self, f"weight_{index}")
            if self.spec.is_aol(index):
                weight = aol_transform(weight, getattr(self, f"log_q_{index}").exp(), self.spec.aol_scale)
            h = F.linear(h, weight, getattr(self, f"bias_{index}"))
            last = index == n_layers - 1
            if not last or self.spec.relu_on_logits:
                h = F.relu(h) if last else self.spec.activate(h)
            if not last and self.spec.dropout > 0 and self.training:
                h = F.dropout(h, self.spec.dropout)
        return h
