"""A small CNN for the fractional paper's Figure 7 (Gurbuzbalaban & Hu), batched over members.

Two architectures (``CNNSpec.arch``):

* ``paper``: the paper's text, "one convolutional layer and four fully-connected layers using ReLU
  with width d = 64": conv(C_in -> 6, 5x5) + ReLU + maxpool(2, 2), flatten (MNIST 6*12*12 = 864,
  CIFAR-10 6*14*14 = 1176), then flat -> 64 -> 64 -> 64 -> classes.
* ``public_code``: the authors' public CIFAR-10 script: pool(relu(conv1)), pool(relu(conv2)) with
  Conv2d(C_in, 6, 5) and Conv2d(6, 16, 5), flatten (CIFAR-10 16*5*5 = 400), then 20 linear maps
  400 -> 64, 18 x (64 -> 64), 64 -> classes.

ReLU follows every linear map but the last; ``relu_on_logits`` (default True, what the authors'
code does) applies it to the logits as well.

Initialisation, per member and from that member's generator only, layers in forward order, weight
then bias: conv layers at PyTorch's default, weight and bias U(+-1/sqrt(fan_in)) with fan_in =
in_channels k^2; linear weights from the member's ``InitSpec`` (first/last rule over the linear maps
only), linear biases nn.Linear's U(+-1/sqrt(fan_in)) (the authors never re-initialise biases).

``BatchedCNN`` runs S members as one model for ``initlab.train.engine`` (parameters with a leading
member dimension); ``CNN`` is one member as a plain ``nn.Module`` (tests, per-member loop baseline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from initlab.nn.inits import InitSpec, uniform

ARCHS = ("paper", "public_code")
KERNEL = 5  # every convolution: 5x5, stride 1, no padding
POOL = 2  # maxpool(2, 2) after every convolution


@dataclass(frozen=True)
class CNNSpec:
    """Architecture of the Figure 7 CNN on ``in_channels`` x ``image_size`` x ``image_size`` images
    (MNIST: 1, 28; CIFAR-10: 3, 32).  The conv stack (``conv_channels``, 5x5 kernels, each followed
    by maxpool(2, 2)) and the number of linear maps (``linear_shapes``) follow from ``arch``;
    ``width`` is that of the hidden linear maps."""

    in_channels: int = 3
    image_size: int = 32
    classes: int = 10
    arch: str = "paper"
    width: int = 64
    relu_on_logits: bool = True

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"CNNSpec.arch = {self.arch!r}; allowed: {', '.join(ARCHS)}")
        for name in ("in_channels", "image_size", "classes", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"CNNSpec.{name} = {value!r}; must be an integer >= 1")
        if not isinstance(self.relu_on_logits, bool):
            raise ValueError(f"CNNSpec.relu_on_logits = {self.relu_on_logits!r}; must be True or False")
        size = self.image_size
        for index in range(len(self.conv_channels)):
            if (size - KERNEL + 1) // POOL < 1:
                raise ValueError(
                    f"CNNSpec: image_size {self.image_size} is too small for arch {self.arch!r}: conv{index} "
                    f"({KERNEL}x{KERNEL}, no padding) + maxpool({POOL}) gets a {size}x{size} map and needs at "
                    f"least {KERNEL + POOL - 1}x{KERNEL + POOL - 1}; the smallest image_size is "
                    f"{self.min_image_size()}")
            size = (size - KERNEL + 1) // POOL

    @property
    def conv_channels(self) -> tuple[int, ...]:
        """Output channels of each conv layer."""
        return (6,) if self.arch == "paper" else (6, 16)

    def min_image_size(self) -> int:
        """The smallest image side the conv stack accepts (6 for 'paper', 16 for 'public_code')."""
        size = 1
        for _ in self.conv_channels:  # invert floor((size - k + 1) / 2) >= 1 layer by layer
            size = POOL * size + KERNEL - 1
        return size

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.image_size, self.image_size)

    @property
    def convs(self) -> list[tuple[int, int]]:
        """(in_channels, out_channels) of each conv layer, input to output."""
        channels = (self.in_channels,) + self.conv_channels
        return list(zip(channels[:-1], channels[1:]))

    @property
    def feature_size(self) -> int:
        """Side of the feature map after the conv stack."""
        size = self.image_size
        for _ in self.conv_channels:
            size = (size - KERNEL + 1) // POOL
        return size

    @property
    def flat_features(self) -> int:
        return self.conv_channels[-1] * self.feature_size**2

    @property
    def linear_shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every linear map, input to output: 4 maps ('paper') or 20
        ('public_code')."""
        n_hidden = 2 if self.arch == "paper" else 18  # width x width maps
        sizes = [self.flat_features] + [self.width] * (n_hidden + 1) + [self.classes]
        return list(zip(sizes[:-1], sizes[1:]))


def _init_specs(inits, n: int) -> list[InitSpec]:
    if inits is None:
        return [InitSpec()] * n
    inits = list(inits)
    if len(inits) != n:
        raise ValueError(f"{len(inits)} init specs for {n} generators; give one per member (or None)")
    return [InitSpec.parse(spec) for spec in inits]


class BatchedCNN:
    """S independent copies of ``spec`` as stacked parameters; a function of those parameters.

    ``init(generators, inits)`` returns the parameter dict (one generator and one InitSpec per
    member); ``forward(params, x)`` maps x of shape (S, B, *input_shape) (each member its own batch)
    or (B, *input_shape) (one batch for all) to logits (S, B, classes).  Inputs may also come
    flattened, (S, B, C*H*W) or (B, C*H*W)."""

    manual_backward = False  # the engine uses autograd

    def __init__(self, spec: CNNSpec):
        self.spec = spec

    def init(self, generators: Sequence[torch.Generator],
             inits: Sequence[Any] | None = None) -> dict[str, torch.Tensor]:
        specs = _init_specs(inits, len(generators))
        per_member = [self.init_one(g, s) for g, s in zip(generators, specs)]
        return {name: torch.stack([p[name] for p in per_member]) for name in per_member[0]}

    def init_one(self, generator: torch.Generator, init: Any = None) -> dict[str, torch.Tensor]:
        """One member's parameters, drawn from ``generator`` layer by layer in forward order, weight
        then bias; the dict is in that order too."""
        init = InitSpec.parse(init)
        params = {}
        for index, (c_in, c_out) in enumerate(self.spec.convs):
            bound = 1.0 / math.sqrt(c_in * KERNEL * KERNEL)
            params[f"conv{index}_weight"] = uniform((c_out, c_in, KERNEL, KERNEL), bound, generator)
            params[f"conv{index}_bias"] = uniform((c_out,), bound, generator)
        shapes = self.spec.linear_shapes
        for index, (fan_in, fan_out) in enumerate(shapes):
            params[f"linear{index}_weight"] = init.for_layer(index, len(shapes)).draw(fan_in, fan_out, generator)
            params[f"linear{index}_bias"] = uniform((fan_out,), 1.0 / math.sqrt(fan_in), generator)
        return params

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, dropout_rng=None) -> torch.Tensor:
        """Logits (S, B, classes).  ``dropout_rng`` is accepted for the engine's interface and unused
        (no dropout in this net).

        The conv stack runs member by member, as S ordinary convolutions per layer in channels-last
        layout, inside one autograd graph; the linear maps are batched products over all members.
        Measured on the 2-core CPU (torch 2.13, S = 20, B = 512, per-member inputs, one forward +
        backward through autograd, ms, fastest of 7 steps interleaved across the variants):

            arch / data           member loop   grouped conv, NCHW / channels-last   torch.func.vmap
            paper, MNIST              287                 628 / 608                       704
            paper, CIFAR-10           425                1218 / 460                      1683
            public_code, MNIST        591                1256 / 866                      1088
            public_code, CIFAR-10     741                2499 / 698                      2468

        (An earlier run: loop 327 / 405 / 471 / 563, channels-last grouped 674 / 471 / 982 / 632; this
        machine drifts by 20-30 % between runs.)  On CIFAR-10 the loop and the channels-last grouped
        conv are within that noise; on MNIST the loop is twice as fast: oneDNN runs a convolution
        with S groups of 1-6 input channels far below its speed on S plain ones, and vmap's batching
        rule lowers to that same grouped convolution.  A shared batch goes through the first conv as
        one ordinary conv with S*C_out output channels (x read once, never copied S times).  Not
        measured on a GPU, where each of the loop's S convolutions per layer is a kernel launch."""
        spec = self.spec
        S = params["conv0_weight"].shape[0]
        x, shared = _images(spec, x, S)
        convs = spec.convs
        # relu and max commute exactly (values and gradients): pool first, then ReLU on a quarter
        # of the elements, in place (max_pool2d's backward needs its input and indices only).
        if shared:
            c_in, c_out = convs[0]
            h = F.conv2d(x.contiguous(memory_format=torch.channels_last),
                         params["conv0_weight"].reshape(S * c_out, c_in, KERNEL, KERNEL),
                         params["conv0_bias"].reshape(S * c_out))
            members = list(F.max_pool2d(h, POOL, POOL).relu_().unflatten(1, (S, c_out)).unbind(1))
            first = 1
        else:
            members = [m.contiguous(memory_format=torch.channels_last) for m in x.unbind(0)]
            first = 0
        layers = [(params[f"conv{i}_weight"].unbind(0), params[f"conv{i}_bias"].unbind(0))
                  for i in range(first, len(convs))]
        for s in range(S):
            for weights, biases in layers:
                members[s] = F.max_pool2d(F.conv2d(members[s], weights[s], biases[s]), POOL, POOL).relu_()
        h = torch.stack(members).flatten(2)  # (S, B, C*H*W), CNN's flatten order
        n_linear = len(spec.linear_shapes)
        for index in range(n_linear):
            # (S, B, in) @ (S, in, out) + (S, 1, out): one batched product for all members.
            h = torch.baddbmm(params[f"linear{index}_bias"].unsqueeze(1), h,
                              params[f"linear{index}_weight"].transpose(1, 2))
            if index < n_linear - 1 or spec.relu_on_logits:
                h = torch.relu_(h)  # baddbmm's backward does not need its output
        return h


def _images(spec: CNNSpec, x: torch.Tensor, S: int) -> tuple[torch.Tensor, bool]:
    """x as images, (S, B, C, H, W) or (B, C, H, W) (shared), and whether it is shared."""
    flat = math.prod(spec.input_shape)
    if x.dim() in (4, 5) and tuple(x.shape[-3:]) == spec.input_shape:
        images, shared = x, x.dim() == 4
    elif x.dim() in (2, 3) and x.shape[-1] == flat:
        images, shared = x.unflatten(-1, spec.input_shape), x.dim() == 2
    else:
        raise ValueError(f"input of shape {tuple(x.shape)}; expected (S, B, {', '.join(map(str, spec.input_shape))})"
                         f" or (B, {', '.join(map(str, spec.input_shape))}), or flattened (S, B, {flat}) / (B, {flat})")
    if not shared and images.shape[0] != S:
        raise ValueError(f"input has {images.shape[0]} members in dimension 0, the parameters {S}")
    return images, shared


class CNN(nn.Module):
    """One member of ``spec`` as a plain nn.Module, written as the authors' script is
    (``pool(relu(conv(x)))``), with BatchedCNN's parameter names and values: ``params`` (one
    member's tensors, no member dimension), or drawn from ``generator`` with ``init``."""

    def __init__(self, spec: CNNSpec, params: dict[str, torch.Tensor] | None = None,
                 generator: torch.Generator | None = None, init: Any = None):
        super().__init__()
        self.spec = spec
        if params is None:
            params = BatchedCNN(spec).init_one(generator or torch.Generator().manual_seed(0), init)
        for name, value in params.items():
            self.register_parameter(name, nn.Parameter(value.detach().clone()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) or (B, C*H*W) -> logits (B, classes)."""
        h = x.reshape(x.shape[0], *self.spec.input_shape)
        for index in range(len(self.spec.convs)):
            h = F.conv2d(h, getattr(self, f"conv{index}_weight"), getattr(self, f"conv{index}_bias"))
            h = F.max_pool2d(F.relu(h), POOL, POOL)
        h = h.flatten(1)
        n_linear = len(self.spec.linear_shapes)
        for index in range(n_linear):
            h = F.linear(h, getattr(self, f"linear{index}_weight"), getattr(self, f"linear{index}_bias"))
            if index < n_linear - 1 or self.spec.relu_on_logits:
                h = F.relu(h)
        return h
