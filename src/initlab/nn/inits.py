"""Weight initialisations as a registry, applied per layer with a rule for the first and last layer.

An init method is a function ``draw(fan_in, fan_out, generator, **options) -> (fan_out, fan_in)
float32 tensor``.  Every draw is made in float64 on the CPU from the member's own
``torch.Generator`` and then rounded, so a member starts from the same numbers on every device and
whether it is trained alone or in a batch.  ``InitSpec`` names a method with its options and,
optionally, other specs for the first and the last layer (e.g. the lyapunov paper's He first
layer).  New methods join with ``register_init`` (the lyapunov and ldlt experiments add theirs).

Methods here:

* ``pytorch_default``: nn.Linear's kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(fan_in)).
* ``scaled_normal`` / ``scaled_uniform`` (ldlt paper, Sec. IV-F): N(0, (scale / sqrt(fan_in))^2) /
  scale x U(+-1 / sqrt(fan_in)).
* ``xavier_normal`` / ``xavier_uniform`` (Glorot & Bengio 2010): std = gain sqrt(2 / (fan_in +
  fan_out)), bound = gain sqrt(6 / (fan_in + fan_out)).
* ``kaiming_normal`` (He et al. 2015, fan-in mode): std = gain / sqrt(fan_in), gain = sqrt(2 / (1 +
  slope^2)) for (leaky) ReLU, 1 for linear.
* ``random_walk`` (Sussillo & Abbott 2014) as the fractional authors coded it (sweeps.md b.3):
  std = gain exp(1 / (2 fan_in)) / sqrt(fan_in) where gain = 1 (the ``linear`` form), else
  gain exp(1.2 / (fan_in - 2.4)) / sqrt(fan_in) (the ``relu`` form, gain sqrt(2) for ReLU).
* ``fractional_s`` (Gurbuzbalaban & Hu): Gaussian with the variance that preserves the s-th moment
  of ||x_k||: ``sigma: corollary4`` is 2/fan_in + 5 (2 - s) / (2 fan_in^2) (Corollary 4, what the
  authors' code uses, ReLU only); ``sigma: exact`` is sigma_bar_a(s, fan_in)^2 of Theorems 1/7
  (``initlab.theory.fractional.sigma_bar``; any slope a).

The lyapunov paper's methods (``initlab.theory.lyapunov``; x_{k+1} = phi_a(W x_k), phi_a the Leaky
ReLU of negative slope a = option ``slope``, which has no default: leaving it out is an error).  With
I(a, d) = 1/2 E log sum_i phi_a(g_i)^2 and J(d) = 1/2 E log ||g||^2, g ~ N(0, I_d), i.i.d.
N(0, sigma^2) weights have the exponent log sigma + I(a, d), and eta times a Haar orthogonal matrix
has log eta + I(a, d) - J(d):

* ``glorot_uniform`` (the paper's name for Glorot & Bengio 2010): ``xavier_uniform`` with gain 1,
  U(+-sqrt(6 / (fan_in + fan_out))).
* ``he_normal`` (He et al. 2015): N(0, 2 / ((1 + a^2) fan_in)), i.e. ``kaiming_normal`` with
  nonlinearity leaky_relu.
* ``scaled_orthogonal`` (the paper's standard scaled orthogonal init): eta O with O Haar on O(d),
  eta = ``scale`` or, by default, eta_he = sqrt(2 / (1 + a^2)) (eq. (13)).  A non-square layer gets a
  Haar semi-orthogonal O: orthonormal rows when fan_out <= fan_in, orthonormal columns otherwise
  (``haar_orthogonal``).
* ``lyapunov_gaussian`` (the paper's Lyapunov initialization, Gaussian): N(0, sigma^2) with
  sigma = exp(-I(a, d)) (eq. (17), exponent exactly 0; sigma is the entry std itself).
* ``lyapunov_orthogonal`` (the paper's Lyapunov initialization, orthogonal): eta O with
  eta = exp(J(d) - I(a, d)) (eq. (17)) and O as for ``scaled_orthogonal``.

  For both Lyapunov methods d is option ``width`` or, when it is not given, the layer's size if the
  layer is square (fan_in = fan_out); a non-square layer without ``width`` is an error (the
  exponent is defined for the d x d hidden maps).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch

from initlab.theory import fractional as fractional_theory
from initlab.theory import lyapunov as lyapunov_theory

InitMethod = Callable[..., torch.Tensor]
INITS: dict[str, InitMethod] = {}
INIT_OPTIONS: dict[str, dict[str, Any]] = {}


def register_init(name: str, **defaults) -> Callable[[InitMethod], InitMethod]:
    """Decorator: add ``draw(fan_in, fan_out, generator, **options)`` to the registry under ``name``;
    ``defaults`` are its options (an unknown option given later is an error)."""
    def add(draw: InitMethod) -> InitMethod:
        if name in INITS:
            raise ValueError(f"init method {name!r} is registered twice")
        INITS[name], INIT_OPTIONS[name] = draw, dict(defaults)
        return draw
    return add


def uniform(shape, bound: float, generator: torch.Generator) -> torch.Tensor:
    """U(-bound, bound) drawn in float64 from ``generator``, rounded to float32."""
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2.0 - 1.0).mul_(bound).float()


def normal(shape, std: float, generator: torch.Generator) -> torch.Tensor:
    """N(0, std^2) drawn in float64 from ``generator``, rounded to float32."""
    return torch.randn(shape, generator=generator, dtype=torch.float64).mul_(std).float()


def relu_gain(nonlinearity: str, slope: float = 0.0) -> float:
    """torch.nn.init.calculate_gain for 'linear', 'relu' and 'leaky_relu' (negative slope ``slope``)."""
    if nonlinearity == "linear":
        return 1.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1.0 + slope**2))
    raise ValueError(f"nonlinearity {nonlinearity!r}; allowed: linear, relu, leaky_relu")


@register_init("pytorch_default")
def pytorch_default(fan_in: int, fan_out: int, generator: torch.Generator) -> torch.Tensor:
    return uniform((fan_out, fan_in), 1.0 / math.sqrt(fan_in), generator)


@register_init("scaled_normal", scale=1.0)
def scaled_normal(fan_in: int, fan_out: int, generator: torch.Generator, scale: float) -> torch.Tensor:
    """N(0, (scale / sqrt(fan_in))^2): the ldlt paper's init scale (Sec. IV-F, sigma = c / sqrt(n))."""
    return normal((fan_out, fan_in), float(scale) / math.sqrt(fan_in), generator)


@register_init("scaled_uniform", scale=1.0)
def scaled_uniform(fan_in: int, fan_out: int, generator: torch.Generator, scale: float) -> torch.Tensor:
    """scale x PyTorch's nn.Linear default, U(+-scale / sqrt(fan_in)) (the alternative reading of the
    ldlt paper's scale: its first author's layer code keeps nn.Linear's init)."""
    return uniform((fan_out, fan_in), float(scale) / math.sqrt(fan_in), generator)


@register_init("xavier_normal", gain=1.0)
def xavier_normal(fan_in: int, fan_out: int, generator: torch.Generator, gain: float) -> torch.Tensor:
    return normal((fan_out, fan_in), gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


@register_init("xavier_uniform", gain=1.0)
def xavier_uniform(fan_in: int, fan_out: int, generator: torch.Generator, gain: float) -> torch.Tensor:
    return uniform((fan_out, fan_in), gain * math.sqrt(6.0 / (fan_in + fan_out)), generator)


@register_init("kaiming_normal", nonlinearity="relu", slope=0.0)
def kaiming_normal(fan_in: int, fan_out: int, generator: torch.Generator, nonlinearity: str,
                   slope: float) -> torch.Tensor:
    return normal((fan_out, fan_in), relu_gain(nonlinearity, slope) / math.sqrt(fan_in), generator)


def random_walk_std(fan_in: int, nonlinearity: str = "relu", slope: float = 0.0) -> float:
    """The fractional authors' ``randomwalk_normal_`` (sweeps.md b.3): the linear form where the gain
    is 1, the ReLU form exp(1.2 / (fan_in - 2.4)) otherwise."""
    gain = relu_gain(nonlinearity, slope)
    if gain == 1.0:
        return gain * math.exp(1.0 / (2.0 * fan_in)) / math.sqrt(fan_in)
    if fan_in <= 2.4:
        raise ValueError(f"random_walk init: the ReLU form exp(1.2 / (fan_in - 2.4)) needs fan_in > 2.4; "
                         f"got fan_in = {fan_in}")
    return gain * math.exp(1.2 / (fan_in - 2.4)) / math.sqrt(fan_in)


@register_init("random_walk", nonlinearity="relu", slope=0.0)
def random_walk(fan_in: int, fan_out: int, generator: torch.Generator, nonlinearity: str,
                slope: float) -> torch.Tensor:
    return normal((fan_out, fan_in), random_walk_std(fan_in, nonlinearity, slope), generator)


@functools.lru_cache(maxsize=None)
def fractional_variance(s: float, fan_in: int, sigma: str = "corollary4", slope: float = 0.0) -> float:
    """sigma^2 of the s-init for a layer with ``fan_in`` inputs (see the module docstring)."""
    if sigma == "corollary4":
        if slope != 0.0:
            raise ValueError(f"fractional_s init: sigma 'corollary4' is the ReLU expansion (slope 0); got slope "
                             f"{slope}: use sigma 'exact'")
        return fractional_theory.sigma_bar_sq_corollary4(s, fan_in)
    if sigma == "exact":
        return fractional_theory.sigma_bar(slope, s, fan_in) ** 2
    raise ValueError(f"fractional_s init: sigma {sigma!r}; allowed: corollary4, exact")


@register_init("fractional_s", s=0.8, sigma="corollary4", slope=0.0)
def fractional_s(fan_in: int, fan_out: int, generator: torch.Generator, s: float, sigma: str,
                 slope: float) -> torch.Tensor:
    return normal((fan_out, fan_in), math.sqrt(fractional_variance(float(s), fan_in, sigma, float(slope))),
                  generator)



# --- the lyapunov paper's methods ---------------------------------------------------------------

def _required_slope(method: str, slope) -> float:
    """The Leaky ReLU slope a as a float; it is a config assumption, so there is no default."""
    if slope is None:
        raise ValueError(f"{method} init: option 'slope' (the Leaky ReLU negative slope a) is required; "
                         f"give it in the init spec, e.g. {{method: {method}, slope: 0.01}}")
    try:
        value = float(slope)
    except (TypeError, ValueError):
        raise ValueError(f"{method} init: option 'slope' must be a number; got {slope!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{method} init: option 'slope' must be finite; got {slope!r}")
    return value


def haar_orthogonal(rows: int, cols: int, generator: torch.Generator) -> torch.Tensor:
    """A (rows, cols) float64 Haar-distributed orthogonal matrix (rows = cols) or the first rows / columns
    of one: orthonormal rows when rows <= cols, orthonormal columns otherwise.  QR of a float64
    Gaussian matrix with Q's columns multiplied by sign(diag(R)), which makes the law exactly Haar
    (Mezzadri 2007); drawn on the CPU from ``generator`` (callers round to float32)."""
    if rows < 1 or cols < 1:
        raise ValueError(f"haar_orthogonal: need rows, cols >= 1; got {rows} x {cols}")
    tall = (max(rows, cols), min(rows, cols))
    q, r = torch.linalg.qr(torch.randn(tall, generator=generator, dtype=torch.float64))
    signs = torch.sign(torch.diagonal(r))
    signs[signs == 0] = 1.0  # probability 0; keeps Q orthogonal
    q = q * signs
    return q if rows >= cols else q.T.contiguous()


@register_init("glorot_uniform")
def glorot_uniform(fan_in: int, fan_out: int, generator: torch.Generator) -> torch.Tensor:
    return xavier_uniform(fan_in, fan_out, generator, gain=1.0)


@register_init("he_normal", slope=None)
def he_normal(fan_in: int, fan_out: int, generator: torch.Generator, slope) -> torch.Tensor:
    return kaiming_normal(fan_in, fan_out, generator, "leaky_relu", _required_slope("he_normal", slope))


@register_init("scaled_orthogonal", slope=None, scale=None)
def scaled_orthogonal(fan_in: int, fan_out: int, generator: torch.Generator, slope, scale) -> torch.Tensor:
    """``scale`` (default eta_he(slope); the slope is needed only for that default) times a Haar
    (semi-)orthogonal matrix."""
    if scale is None:
        scale = lyapunov_theory.eta_he(_required_slope("scaled_orthogonal", slope))
    return haar_orthogonal(fan_out, fan_in, generator).mul_(float(scale)).float()


@functools.lru_cache(maxsize=None)
def lyapunov_scales(slope: float, width: int) -> tuple[float, float]:
    """(sigma_lyapunov, scale_lyapunov_orth) = (exp(-I(a, d)), exp(J(d) - I(a, d))), eq. (17): the
    Gaussian entry std and the orthogonal factor whose Lyapunov exponent is exactly 0."""
    row = lyapunov_theory.lookup_row(slope, width)
    return float(row["sigma_lyapunov"]), float(row["scale_lyapunov_orth"])


def _lyapunov_width(method: str, fan_in: int, fan_out: int, width) -> int:
    """d of the Lyapunov scale: ``width`` if given, else the size of a square layer."""
    if width is not None:
        try:
            d = int(width)
            exact = float(width) == d
        except (TypeError, ValueError):
            exact = False
        if not exact or d < 1:
            raise ValueError(f"{method} init: option 'width' must be a positive integer; got {width!r}")
        return d
    if fan_in != fan_out:
        raise ValueError(f"{method} init: the Lyapunov scale is defined for the d x d hidden maps; this layer "
                         f"is {fan_out} x {fan_in} (fan_out x fan_in), so give option 'width' (the hidden "
                         f"width d) for the input / output maps")
    return fan_in


def _lyapunov_scale(method: str, fan_in: int, fan_out: int, slope, width, which: int) -> float:
    a = _required_slope(method, slope)
    if not a > 0:
        raise ValueError(f"{method} init: needs slope a > 0 (got {a}); for ReLU (a = 0) the exponent is "
                         f"-inf and there is no Lyapunov scale")
    return lyapunov_scales(a, _lyapunov_width(method, fan_in, fan_out, width))[which]


@register_init("lyapunov_gaussian", slope=None, width=None)
def lyapunov_gaussian(fan_in: int, fan_out: int, generator: torch.Generator, slope, width) -> torch.Tensor:
    sigma = _lyapunov_scale("lyapunov_gaussian", fan_in, fan_out, slope, width, 0)
    return normal((fan_out, fan_in), sigma, generator)


@register_init("lyapunov_orthogonal", slope=None, width=None)
def lyapunov_orthogonal(fan_in: int, fan_out: int, generator: torch.Generator, slope, width) -> torch.Tensor:
    eta = _lyapunov_scale("lyapunov_orthogonal", fan_in, fan_out, slope, width, 1)
    return haar_orthogonal(fan_out, fan_in, generator).mul_(eta).float()


@dataclass(frozen=True)
class InitSpec:
    """One init method with its options (a sorted tuple of (name, value)), and optionally other specs
    for the first and the last linear map.  Build it with ``InitSpec.parse``.

    ``candidates`` > 1 makes it a *sampled* init (lyapunov paper, Sec. 4): the model draws that many
    whole networks in turn from the member's init stream and keeps the one whose mean output-to-input
    norm ratio on probe inputs is closest to ``norm_target`` (``BatchedMLP.init``)."""

    method: str = "pytorch_default"
    options: tuple[tuple[str, Any], ...] = ()
    first: "InitSpec | None" = None
    last: "InitSpec | None" = None
    candidates: int = 1
    norm_target: float = 1.0

    def __post_init__(self):
        if self.method not in INITS:
            raise ValueError(f"init method {self.method!r}; allowed: {', '.join(sorted(INITS))}")
        unknown = sorted(set(dict(self.options)) - set(INIT_OPTIONS[self.method]))
        if unknown:
            raise ValueError(f"init method {self.method!r}: unknown option(s) {unknown}; allowed: "
                             f"{sorted(INIT_OPTIONS[self.method]) or 'none'}")
        if not (isinstance(self.candidates, int) and self.candidates >= 1):
            raise ValueError(f"init candidates = {self.candidates!r}; must be an integer >= 1")
        if not self.norm_target > 0:
            raise ValueError(f"init norm_target = {self.norm_target!r}; must be > 0")

    @classmethod
    def parse(cls, value: "str | Mapping[str, Any] | InitSpec | None") -> "InitSpec":
        """From a method name, or a mapping {method: ..., <option>: ..., first: <spec>, last: <spec>}."""
        if value is None:
            return cls()
        if isinstance(value, InitSpec):
            return value
        if isinstance(value, str):
            return cls(value)
        body = dict(value)
        if "method" not in body:
            raise ValueError(f"init spec {value!r} has no 'method'")
        method = body.pop("method")
        first, last = body.pop("first", None), body.pop("last", None)
        candidates, norm_target = int(body.pop("candidates", 1)), float(body.pop("norm_target", 1.0))
        return cls(method, tuple(sorted(body.items())),
                   None if first is None else cls.parse(first), None if last is None else cls.parse(last),
                   candidates, norm_target)

    def for_layer(self, index: int, n_layers: int) -> "InitSpec":
        """The spec that applies to linear map ``index`` of ``n_layers`` (first/last rule)."""
        if index == 0 and self.first is not None:
            return self.first
        if index == n_layers - 1 and self.last is not None:
            return self.last
        return self

    def draw(self, fan_in: int, fan_out: int, generator: torch.Generator) -> torch.Tensor:
        """This spec's own method (no first/last rule): a (fan_out, fan_in) weight."""
        options = {**INIT_OPTIONS[self.method], **dict(self.options)}
        return INITS[self.method](fan_in, fan_out, generator, **options)

    def describe(self) -> str:
        text = self.method + "".join(f" {k}={v}" for k, v in self.options)
        if self.first is not None:
            text += f" [first: {self.first.describe()}]"
        if self.last is not None:
            text += f" [last: {self.last.describe()}]"
        if self.candidates > 1:
            text += f" [best of {self.candidates} by output norm ratio -> {self.norm_target}]"
        return text
