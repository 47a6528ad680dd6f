"""Forward and backward variance through deep AOL/SLL ReLU feed-forward nets (decay paper sec. 3-4).

Network (square width n, ``depth`` layers, independent weights per layer):

    y_l = W_l T_l^(-1/2) x_l + b_l,    x_{l+1} = ReLU(y_l),    x_1 ~ N(0, 1)        (eq. (1))

with W_l Kaiming-normal (std sqrt(2 / fan_in); the scale is irrelevant, the transform is
scale-invariant), T_l from eq. (2) with q = 1 and b_l ~ N(0, Var[b]) per unit (section 3 assumes a
normal iid bias).  Several bias variances ("modes") share the same weights, input and upstream
gradient, so their differences are paired.

Only statistics are kept, layer by layer: mean and variance over every unit and input
(``torch.var_mean``, two-pass) and a histogram per layer (bins spanning +- ``hist_sd`` measured standard deviations).
Activations are never stored; the backward pass keeps one boolean ReLU mask per layer and mode
plus the normalised weights (depth * n^2 floats), which is what back-propagation needs.
"""

from __future__ import annotations

import math

import torch

from initlab.nn.lipschitz import aol_transform


def _kaiming_normal(width: int, generator: torch.Generator, device, dtype) -> torch.Tensor:
    """Kaiming-normal W (fan_in = width, ReLU gain sqrt(2))."""
    return torch.randn(width, width, generator=generator, device=device, dtype=dtype) * math.sqrt(2.0 / width)


def _moments_and_histogram(values: torch.Tensor, bins: int, hist_sd: float) -> dict:
    """Mean, variance and a histogram on +- hist_sd standard deviations."""
    count = values.numel()
    var_t, mean_t = torch.var_mean(values)  # two-pass (cascade-summed), unbiased
    var, mean = float(var_t), float(mean_t)
    half_range = hist_sd * math.sqrt(var) if var > 0 else 1.0
    lo, hi = mean - half_range, mean + half_range
    counts = torch.histc(values.float(), bins=bins, min=lo, max=hi).double().cpu()
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64)
    return {"mean": mean, "var": var, "count": count, "hist_counts": counts.numpy(), "hist_edges": edges.numpy(),
            "fraction_in_range": float(counts.sum().item() / count)}


def simulate_deep_net(width: int, depth: int, n_inputs: int, var_biases: dict[str, float], *, seed: int,
                      backward: bool, upstream_var: float = 1.0, bins: int = 80, hist_sd: float = 5.0, device=None,
                      dtype: torch.dtype = torch.float32, keep_tensors: bool = False, log=None) -> dict:
    """Run the net once for every bias mode in ``var_biases`` (name -> Var[b]).

    Returns ``{"var_weight": [per-layer mean of (W T^(-1/2))^2 entries], "var_bias": {mode: [per-layer
    mean of b^2]}, "forward": {mode: [layer stats]},
    "backward": {mode: [layer stats]} }``; layer stats are for y_l (forward) and for
    dE/dx_l = (W_l T_l^(-1/2))^T (ReLU'(y_l) * dE/dx_{l+1}) (backward, eq. (43)), l = 1..depth, with an
    upstream gradient dE/dx_{depth+1} ~ N(0, upstream_var) independent of everything else.
    ``keep_tensors`` (for tests, small nets only) also returns the input, the raw (un-normalised)
    weights, the biases and the upstream gradient under "tensors".
    """
    if width < 1 or depth < 1 or n_inputs < 2:
        raise ValueError(f"need width >= 1, depth >= 1, n_inputs >= 2; got {width}, {depth}, {n_inputs}")
    for mode, var_b in var_biases.items():
        if not var_b >= 0:
            raise ValueError(f"bias variance of mode {mode!r} must be >= 0; got {var_b}")
    device = torch.device(device or "cpu")
    generator = torch.Generator(device=device).manual_seed(int(seed))
    x_input = torch.randn(n_inputs, width, generator=generator, device=device, dtype=dtype)
    states = {mode: x_input for mode in var_biases}
    result = {"var_weight": [], "var_bias": {m: [] for m in var_biases},
              "forward": {m: [] for m in var_biases}, "backward": {m: [] for m in var_biases}}
    weights, masks = [], {m: [] for m in var_biases}
    kept = {"input": x_input, "weights": [], "biases": {m: [] for m in var_biases}} if keep_tensors else None
    for layer in range(depth):
        raw = _kaiming_normal(width, generator, device, dtype)
        weight = aol_transform(raw)  # q = 1
        result["var_weight"].append(float(weight.square().mean()))
        for mode, var_b in var_biases.items():
            bias = torch.randn(width, generator=generator, device=device, dtype=dtype) * math.sqrt(var_b)
            result["var_bias"][mode].append(float(bias.square().mean()))  # realised (zero-mean law)
            if kept:
                kept["biases"][mode].append(bias)
            y = torch.addmm(bias, states[mode], weight.T)
            result["forward"][mode].append(_moments_and_histogram(y, bins, hist_sd))
            if backward:
                masks[mode].append(y > 0)
            states[mode] = y.relu_()
        if backward:
            weights.append(weight)
        if kept:
            kept["weights"].append(raw)
        del weight, raw
        if log:
            log(f"forward layer {layer + 1}/{depth}: " + ", ".join(
                f"Var[y] {m} = {result['forward'][m][-1]['var']:.4g}" for m in var_biases))
    del states
    if backward:
        upstream = torch.randn(n_inputs, width, generator=generator, device=device, dtype=dtype) * math.sqrt(upstream_var)
        if kept:
            kept["upstream"] = upstream
        for mode in var_biases:
            grad = upstream
            stats = [None] * depth
            for layer in range(depth - 1, -1, -1):
                grad = (grad * masks[mode][layer]) @ weights[layer]  # dE/dx_l = W~^T (mask * dE/dx_{l+1})
                stats[layer] = _moments_and_histogram(grad, bins, hist_sd)
                masks[mode][layer] = None
            result["backward"][mode] = stats
            if log:
                log(f"backward {mode}: Var[dx_1] = {stats[0]['var']:.4g}")
    if kept:
        result["tensors"] = kept
    return result
