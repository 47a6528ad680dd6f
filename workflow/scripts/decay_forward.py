"""Decay paper Figures 2-5: forward pass through a deep AOL/SLL ReLU net (Kaiming-normal W, input
N(0, 1)): per-layer distributions (fig02, fig04) and variances (fig03, fig05) of y_l, with zero bias
and with the bias variance of eq. (42), against eqs. (14), (38), (41)."""

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

MODES = {"zero": ("fig02", "fig03", "zero bias"), "eq42": ("fig04", "fig05", "bias variance of eq. (42)")}


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    n, depth = p["width"], p["depth"]
    var_w = float(decay.approx_eq36(n, n))
    gain = float(decay.layer_gain_eq38(n, n))
    var_b = float(decay.bias_variance_eq42(n, n))
    job.log(f"eq. (36) Var[w] = {var_w:.6g}, eq. (38) r = {gain:.6g}, eq. (42) Var[b] = {var_b:.6g}")
    started = time.perf_counter()
    res = simulate_deep_net(n, depth, p["n_inputs"], {"zero": 0.0, "eq42": var_b}, seed=p["seed"], backward=False,
                            bins=p["bins"], hist_sd=p["hist_sd"], device=device, log=job.log)
    if device.type == "cuda":
        torch.cuda.synchronize()
    job.extra_meta["simulation_seconds"] = round(time.perf_counter() - started, 3)
    job.extra_meta["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    job.log(f"simulation {job.extra_meta['simulation_seconds']} s, peak RSS {job.extra_meta['peak_rss_mb']} MB")
    realized_w = np.asarray(res["var_weight"])
    job.extra_meta["var_weight_realized_mean"] = float(realized_w.mean())
    if device.type == "cuda":
        job.extra_meta["cuda_peak_memory_bytes"] = torch.cuda.max_memory_allocated()

    layers = np.arange(1, depth + 1)
    curves = {}
    for mode, (fig_dist, fig_var, label) in MODES.items():
        vb = 0.0 if mode == "zero" else var_b
        stats_list = res["forward"][mode]
        theory = decay.forward_variance_eq14(depth, 1.0, n, var_w, vb)
        realized = decay.forward_variance_eq14(depth, 1.0, n, realized_w, res["var_bias"][mode])
        table = pd.DataFrame({
            "layer": layers, "var_mc": [s["var"] for s in stats_list], "mean_mc": [s["mean"] for s in stats_list],
            "var_theory_eq14": theory, "var_theory_realized": realized, "var_weight_realized": realized_w,
            "var_bias_realized": res["var_bias"][mode], "samples": [s["count"] for s in stats_list],
            "fraction_in_hist_range": [s["fraction_in_range"] for s in stats_list],
        })
        curves[mode] = table
        job.write_csv(fig_var, table)
        hist = histogram_frame(stats_list, theory)
        job.write_csv(fig_dist, hist)
        job.save_figure(fig_dist, plot_distributions(
            hist, r"$y_l$", f"Forward layer outputs $y_l$, {label} (width {n}, {p['n_inputs']:,} inputs)",
            r"$\mathcal{N}(0, \mathrm{Var}[y_l])$, eq. (14)"))

        fig, ax = plot.subplots(1, 1, figsize=(5.6, 3.8))
        ax.plot(layers, table["var_mc"], "o", label="simulation")
        ax.plot(layers, theory, "-", label="eq. (14) with eq. (36) Var[w]")
        ax.plot(layers, realized, ":", color="k", lw=1.2, label="eq. (14) with realised Var[w], Var[b]")
        if mode == "eq42":  # settles at a constant: linear axis from 0
            ax.axhline(float(decay.fixed_point_eq41(var_b, gain)), color="0.5", lw=0.8, ls="--",
                       label="fixed point, eq. (41)")
            ax.set_ylim(0, 1.3 * max(table["var_mc"].max(), theory.max()))
            ax.legend(loc="lower right")
        else:  # decays geometrically: log axis
            ax.set_yscale("log")
            ax.legend()
        ax.set_xlabel("layer $l$")
        ax.set_ylabel(r"$\mathrm{Var}[y_l]$")
        ax.set_title(f"Forward variance, {label}\nwidth {n}, $r = (n/2)\\mathrm{{Var}}[w] = {gain:.4g}$ (eq. (38))")
        job.save_figure(fig_var, fig)

    # ---- claims ----
    rate, se_log, _ = decay_rate(curves["zero"]["var_mc"].to_numpy()[1:])  # layers 2..L: ReLU inputs
    gap = rate / gain - 1
    job.claim(
        "forward_decay_rate",
        f"Zero bias: the forward variance decays by r = (n/2) Var[w] per layer (eqs. (14), (38), (40)); width {n}, "
        f"depth {depth}; measured geometric-mean ratio Var[y_l]/Var[y_l-1] over layers 2..{depth} "
        f"(z = {np.log(rate / gain) / se_log:.1f} s.e.)",
        f"r = {gain:.6g} (eq. (38))",
        f"{rate:.6g} (gap {gap:+.2%}); Var[y_{depth}] = {curves['zero']['var_mc'].iloc[-1]:.3g} vs eq. (14) "
        f"{curves['zero']['var_theory_eq14'].iloc[-1]:.3g}",
        f"1 s.e. of log rate = {se_log:.2e}",
        "reproduced" if abs(gap) <= p["rate_tolerance_rel"] else "deviates",
    )
    bias_table = curves["eq42"]
    fixed_point = float(decay.fixed_point_eq41(var_b, gain))
    settled = bias_table[np.abs(bias_table["var_theory_eq14"] / fixed_point - 1) < 1e-3]
    values = settled["var_mc"].to_numpy()
    mean, se = float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))
    z = (mean - fixed_point) / se
    job.claim(
        "forward_bias_fixed_point",
        f"With Var[b] from eq. (42) the forward variance settles at the fixed point of eq. (41) (Figure 5); mean of "
        f"Var[y_l] over the {len(values)} layers where eq. (14) is within 0.1% of it (z = {z:.2f})",
        f"{fixed_point:.6g}",
        f"{mean:.5f}",
        f"1 s.e. = {se:.5f} (spread over layers: each layer draws its own bias)",
        "reproduced" if abs(z) < p["z_tolerance"] else "deviates",
    )


if __name__ == "__main__":
    run_job(main)
