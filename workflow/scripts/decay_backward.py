"""Decay paper Figures 6-8: gradients dE/dx_l through a deep AOL/SLL ReLU net: per-layer variances
against eq. (45) with and without the eq. (42) bias (fig06), and per-layer gradient distributions
without (fig07) and with (fig08) bias."""

import resource
import time

import numpy as np
import pandas as pd
import torch
from decay_common import decay_rate, histogram_frame, plot_distributions

from initlab import plot
from initlab.jobs import run_job
from initlab.nn.deep_variance import simulate_deep_net
from initlab.theory import decay

MODES = {"zero": ("fig07", "zero bias"), "eq42": ("fig08", "bias variance of eq. (42)")}


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    n, depth = p["width"], p["depth"]
    var_w = float(decay.approx_eq36(n, n))
    gain = float(decay.layer_gain_eq38(n, n))  # n_hat = fan-out = n for square layers (eq. (45))
    var_b = float(decay.bias_variance_eq42(n, n))
    started = time.perf_counter()
    res = simulate_deep_net(n, depth, p["n_inputs"], {"zero": 0.0, "eq42": var_b}, seed=p["seed"], backward=True,
                            upstream_var=p["upstream_grad_var"], bins=p["bins"], hist_sd=p["hist_sd"],
                            device=device, log=job.log)
    if device.type == "cuda":
        torch.cuda.synchronize()
    job.extra_meta["simulation_seconds"] = round(time.perf_counter() - started, 3)
    job.extra_meta["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    job.log(f"simulation {job.extra_meta['simulation_seconds']} s, peak RSS {job.extra_meta['peak_rss_mb']} MB")
    realized_w = np.asarray(res["var_weight"])
    if device.type == "cuda":
        job.extra_meta["cuda_peak_memory_bytes"] = torch.cuda.max_memory_allocated()
    layers = np.arange(1, depth + 1)
    theory = decay.backward_variance_eq45(depth, p["upstream_grad_var"], n, var_w)
    realized = decay.backward_variance_eq45(depth, p["upstream_grad_var"], n, realized_w)
    rows, rates = [], {}
    fig, ax = plot.subplots(1, 1, figsize=(5.6, 3.8))
    for mode, (fig_dist, label) in MODES.items():
        stats_list = res["backward"][mode]
        var_mc = np.array([s["var"] for s in stats_list])
        rows.append(pd.DataFrame({
            "bias": mode, "layer": layers, "var_mc": var_mc, "mean_mc": [s["mean"] for s in stats_list],
            "var_theory_eq45": theory, "var_theory_realized": realized, "samples": [s["count"] for s in stats_list],
        }))
        ax.semilogy(layers, var_mc, "o" if mode == "zero" else "x", label=f"simulation, {label}")
        # gradients flow from layer L down to 1: rate of Var[dx_l] / Var[dx_{l+1}]
        rates[mode] = decay_rate(var_mc[::-1])
        hist = histogram_frame(stats_list, theory)
        job.write_csv(fig_dist, hist)
        job.save_figure(fig_dist, plot_distributions(
            hist, r"$\Delta x_l$", f"Backward gradients $\\Delta x_l = \\partial E/\\partial x_l$, {label} "
            f"(width {n}, {p['n_inputs']:,} inputs)", r"$\mathcal{N}(0, \mathrm{Var}[\Delta x_l])$, eq. (45)"))
    ax.semilogy(layers, theory, "-", label="eq. (45) with eq. (36) Var[w]")
    ax.semilogy(layers, realized, ":", color="k", lw=1.2, label="eq. (45) with realised Var[w]")
    ax.set_xlabel("layer $l$")
    ax.set_ylabel(r"$\mathrm{Var}[\Delta x_l]$")
    ax.set_title(f"Backward gradient variance, width {n}\n"
                 f"$\\mathrm{{Var}}[\\Delta x_{{{depth + 1}}}] = {p['upstream_grad_var']:g}$, "
                 f"$r = {gain:.4g}$ per layer (eq. (45))")
    ax.legend(fontsize=8)
    job.save_figure("fig06", fig)
    job.write_csv("fig06", pd.concat(rows, ignore_index=True))

    # ---- claims ----
    for mode, (_, label) in MODES.items():
        rate, se_log, _ = rates[mode]
        gap = rate / gain - 1
        job.claim(
            f"backward_decay_rate_{mode}",
            f"{label.capitalize()}: the gradient variance decays by (n_hat/2) Var[w] per layer (eqs. (44)-(45)); "
            f"width {n}, depth {depth}; measured geometric-mean ratio Var[dx_l]/Var[dx_l+1] "
            f"(z = {np.log(rate / gain) / se_log:.1f} s.e.)",
            f"r = {gain:.6g} (eq. (45))",
            f"{rate:.6g} (gap {gap:+.2%})",
            f"1 s.e. of log rate = {se_log:.2e}",
            "reproduced" if abs(gap) <= p["rate_tolerance_rel"] else "deviates",
        )
    (rate0, _, logs0), (rate1, _, logs1) = rates["zero"], rates["eq42"]
    paired = logs1 - logs0
    se_pair = float(paired.std(ddof=1) / np.sqrt(len(paired)))
    rel = rate1 / rate0 - 1
    job.claim(
        "backward_same_with_bias",
        "The backward variance decays the same with or without the bias (section 4.4, Figures 7-8): ratio of the "
        f"measured per-layer rates with eq. (42) bias and with zero bias (paired over layers, z = "
        f"{np.log(rate1 / rate0) / se_pair:.1f} s.e.)",
        "same decay with and without bias",
        f"{rate1:.6g} vs {rate0:.6g} (relative difference {rel:+.2%})",
        f"1 s.e. of log ratio = {se_pair:.2e}",
        "reproduced" if abs(rel) <= p["rate_tolerance_rel"] else "deviates",
    )


if __name__ == "__main__":
    run_job(main)
