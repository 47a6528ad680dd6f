"""Decay paper Figures 6-8: gradients dE/dx_l through deep AOL/SLL ReLU nets: per-layer variances against
eq. (45) with and without the eq. (42) bias (fig06, with per-layer residuals over independent nets), and
per-layer gradient distributions without (fig07) and with (fig08) bias."""

import numpy as np
import pandas as pd
import torch

from initlab.claims import decay as claims
from initlab.jobs import run_job
from initlab.nn.deep_variance import simulate_deep_net
from initlab.plot import decay as plots
from initlab.theory import decay

MODES = {"zero": ("fig07", "zero bias", "o"), "eq42": ("fig08", "bias variance of eq. (42)", "x")}


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    n, depth, tol, alpha, top = p["width"], p["depth"], p["layer_tolerance_rel"], p["family_alpha"], p["upstream_grad_var"]
    var_w, gain, var_b = (float(f(n, n)) for f in (decay.approx_eq36, decay.layer_gain_eq38, decay.bias_variance_eq42))
    runs = [simulate_deep_net(n, depth, p["n_inputs"], {"zero": 0.0, "eq42": var_b}, seed=p["seed"] + 1000 * r,
                              backward=True, upstream_var=top, bins=p["bins"], hist_sd=p["hist_sd"],
                              device=job.torch_device(), log=job.log if r == 0 else None) for r in range(p["replicates"])]
    var = {m: np.array([[s["var"] for s in run["backward"][m]] for run in runs]) for m in MODES}
    theory = decay.backward_variance_eq45(depth, top, n, var_w)
    realized = decay.backward_variance_eq45(depth, top, n, np.asarray(runs[0]["var_weight"]))
    frames, residuals = [], []
    for mode, (fig_dist, label, marker) in MODES.items():
        table, claim = claims.per_layer_claim(
            f"backward_decay_rate_{mode}", f"{label.capitalize()}: Var[dE/dx_l] follows eq. (45), (n_hat/2) Var[w] per "
            f"layer (eqs. (44)-(45), Figures 6-8); width {n}, depth {depth}", var[mode], theory, tol, alpha,
            "fig06," + fig_dist, "eq. (45)")
        job.claim(**claim)
        frame = plots.layer_frame(runs[0]["backward"][mode], var[mode], theory, table, "var_theory_eq45",
                                  var_theory_realized=realized)
        frame.insert(0, "bias", mode)
        frames.append(frame)
        residuals.append((f"{label}, {1 - alpha:.0%} CI", table, marker))
        hist = plots.histogram_frame(runs[0]["backward"][mode], theory)
        job.write_csv(fig_dist, hist)
        job.save_figure(fig_dist, plots.plot_distributions(
            hist, r"$\Delta x_l$", f"Backward gradients $\\Delta x_l = \\partial E/\\partial x_l$, {label} "
            f"(width {n}, {p['n_inputs']:,} inputs)", r"$\mathcal{N}(0, \mathrm{Var}[\Delta x_l])$, eq. (45)"))
    job.write_csv("fig06", pd.concat(frames, ignore_index=True))
    job.save_figure("fig06", plots.variance_figure(
        np.arange(1, depth + 1),
        [(f"simulation, {MODES[m][1]} (mean of {p['replicates']} nets)", var[m].mean(axis=0), MODES[m][2]) for m in MODES],
        [("eq. (45) with eq. (36) Var[w]", theory, "-"), ("eq. (45) with realised Var[w] (net 1)", realized, ":")],
        residuals, f"Backward gradient variance, width {n}\n$\\mathrm{{Var}}[\\Delta x_{{{depth + 1}}}] = {top:g}$, "
        f"$r = {gain:.4g}$ per layer (eq. (45))", r"$\mathrm{Var}[\Delta x_l]$", tolerance=tol))
    job.claim(**claims.paired_layer_claim(
        "backward_same_with_bias", "The backward variance is the same with or without the eq. (42) bias (section 4.4, "
        "Figures 7-8): Var[dx_l] with bias over Var[dx_l] without", var["eq42"], var["zero"], tol, alpha, "fig06,fig08")[1])


if __name__ == "__main__":
    run_job(main)
