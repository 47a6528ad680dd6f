"""Decay paper Figures 6-8: gradients dE/dx_l through deep AOL/SLL ReLU nets: per-layer variances against
eq. (45) with and without the eq. (42) bias (fig06, with per-layer residuals over independent nets), and
per-layer gradient distributions without (fig07) and with (fig08) bias."""

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
    var_w, var_b = float(decay.approx_eq36(n, n)), float(decay.bias_variance_eq42(n, n))
    runs = [simulate_deep_net(n, depth, p["n_inputs"], {"zero": 0.0, "eq42": var_b}, seed=p["seed"] + 1000 * r,
                              backward=True, upstream_var=top, bins=p["bins"], hist_sd=p["hist_sd"],
                              device=job.torch_device(), log=job.log if r == 0 else None) for r in range(p["replicates"])]
    var = claims.replicate_variances(runs, "backward")
    theory = decay.backward_variance_eq45(depth, top, n, var_w)
    judged, same_with_bias = claims.backward_claims(var, theory, n, depth, tol, alpha,
                                                    {m: (fig, label) for m, (fig, label, _) in MODES.items()})
    for _, claim in judged.values():
        job.claim(**claim)
    frame, figure, distributions = plots.backward_outputs(runs[0], var, theory, {m: t for m, (t, _) in judged.items()},
                                                          p, MODES)
    for fig_dist, (hist, dist_figure) in distributions.items():
        job.write_csv(fig_dist, hist)
        job.save_figure(fig_dist, dist_figure)
    job.write_csv("fig06", frame)
    job.save_figure("fig06", figure)
    job.claim(**same_with_bias)


if __name__ == "__main__":
    run_job(main)
