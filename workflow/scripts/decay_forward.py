"""Decay paper Figures 2-5: forward pass through deep AOL/SLL ReLU nets (Kaiming-normal W, input N(0, 1)):
per-layer distributions (fig02, fig04) and variances (fig03, fig05, with per-layer residuals over
independent nets) of y_l, zero bias and eq. (42) bias, against eqs. (14), (38), (41), (115)."""

import numpy as np
import torch

from initlab.claims import decay as claims
from initlab.jobs import run_job
from initlab.nn.deep_variance import simulate_deep_net
from initlab.plot import decay as plots
from initlab.theory import decay

MODES = {"zero": ("fig02", "fig03", "zero bias"), "eq42": ("fig04", "fig05", "bias variance of eq. (42)")}


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    n, depth, tol, alpha = p["width"], p["depth"], p["layer_tolerance_rel"], p["family_alpha"]
    var_w, gain, var_b = (float(f(n, n)) for f in (decay.approx_eq36, decay.layer_gain_eq38, decay.bias_variance_eq42))
    runs = [simulate_deep_net(n, depth, p["n_inputs"], {"zero": 0.0, "eq42": var_b}, seed=p["seed"] + 1000 * r,
                              backward=False, bins=p["bins"], hist_sd=p["hist_sd"], device=job.torch_device(),
                              log=job.log if r == 0 else None) for r in range(p["replicates"])]
    var = {m: np.array([[s["var"] for s in run["forward"][m]] for run in runs]) for m in MODES}
    theory = {m: decay.forward_variance_eq14(depth, 1.0, n, var_w, 0.0 if m == "zero" else var_b) for m in MODES}
    what = {"zero": ("forward_decay_rate", "Zero bias: Var[y_l] follows eq. (14) with r = (n/2) Var[w] of eq. (38) per "
                     f"layer (Figure 3); width {n}, depth {depth}"),
            "eq42": ("forward_variance_eq42", f"Eq. (42) bias: Var[y_l] follows eq. (14) (Figure 5); width {n}, depth {depth}")}
    for mode, (fig_dist, fig_var, label) in MODES.items():
        # the distributions figure shows the same layer outputs whose variances the claim judges
        table, claim = claims.per_layer_claim(*what[mode], var[mode], theory[mode], tol, alpha, f"{fig_dist},{fig_var}",
                                              "eq. (14)")
        job.claim(**claim)
        realized = decay.forward_variance_eq14(depth, 1.0, n, np.asarray(runs[0]["var_weight"]), runs[0]["var_bias"][mode])
        frame = plots.layer_frame(runs[0]["forward"][mode], var[mode], theory[mode], table, "var_theory_eq14",
                                  var_theory_realized=realized, var_weight_realized=runs[0]["var_weight"],
                                  var_bias_realized=runs[0]["var_bias"][mode])
        job.write_csv(fig_var, frame)
        hist = plots.histogram_frame(runs[0]["forward"][mode], theory[mode])
        job.write_csv(fig_dist, hist)
        job.save_figure(fig_dist, plots.plot_distributions(
            hist, r"$y_l$", f"Forward layer outputs $y_l$, {label} (width {n}, {p['n_inputs']:,} inputs)",
            r"$\mathcal{N}(0, \mathrm{Var}[y_l])$, eq. (14)"))
        fp = float(decay.fixed_point_eq41(var_b, gain))
        job.save_figure(fig_var, plots.variance_figure(
            frame["layer"], [(f"simulation, mean of {p['replicates']} nets", frame["var_mc_mean"], "o")],
            [("eq. (14) with eq. (36) Var[w]", theory[mode], "-"), ("eq. (14) with realised Var[w], Var[b] (net 1)", realized, ":")],
            [(f"mean of {p['replicates']} nets, {1 - alpha:.0%} CI", table, "o")],
            f"Forward variance, {label}\nwidth {n}, $r = (n/2)\\mathrm{{Var}}[w] = {gain:.4g}$ (eq. (38))",
            r"$\mathrm{Var}[y_l]$", log=mode == "zero", tolerance=tol,
            hline=None if mode == "zero" else (fp, "fixed point, eq. (41)"),
            ylim=None if mode == "zero" else (0, 1.3 * max(frame["var_mc_mean"].max(), theory[mode].max()))))

    for claim in claims.bias_limit_claims(var["eq42"], theory["eq42"], var_b, gain, tol, alpha):
        job.claim(**claim)
    s2 = {float(s): claims.transformed_weight_variances(
        p["sigma_width"], p["sigma_width"], float(s), p["sigma_matrices"], p["seed"] + 7 + i)
          for i, s in enumerate(p["sigma2_values"])}
    table, claim = claims.sigma_invariance_claim("sigma2_no_bearing", s2, 1.0, p["sigma_tolerance_rel"], alpha, "fig03")
    job.claim(**claim)
    job.extra_meta["sigma2_invariance"] = table.to_dict(orient="records")


if __name__ == "__main__":
    run_job(main)
