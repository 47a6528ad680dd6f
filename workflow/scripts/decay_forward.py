"""Decay paper Figures 2-5: forward pass through deep AOL/SLL ReLU nets (Kaiming-normal W, input N(0, 1)):
per-layer distributions (fig02, fig04) and variances (fig03, fig05, with per-layer residuals over
independent nets) of y_l, zero bias and eq. (42) bias, against eqs. (14), (38), (41), (115)."""

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
    var = claims.replicate_variances(runs, "forward")
    theory = {m: decay.forward_variance_eq14(depth, 1.0, n, var_w, 0.0 if m == "zero" else var_b) for m in MODES}
    judged = claims.forward_claims(var, theory, n, depth, tol, alpha)
    for mode, (fig_dist, fig_var, label) in MODES.items():
        table, claim = judged[mode]
        job.claim(**claim)
        frame, hist, dist_figure, var_figure = plots.forward_outputs(runs[0], mode, label, var[mode], theory[mode],
                                                                     table, p, var_b, gain)
        job.write_csv(fig_var, frame)
        job.write_csv(fig_dist, hist)
        job.save_figure(fig_dist, dist_figure)
        job.save_figure(fig_var, var_figure)
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
