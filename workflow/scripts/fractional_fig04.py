"""fractional Figure 4: pdf and cdf of R_{k,a} = log||x_k|| for linear (a = 1) and Leaky ReLU (a = 0.01)
networks, Kaiming (sigma^2 = 2/((1 + a^2) d)) vs sigma = sigma_bar_a(s, d) (s = 1). Monte Carlo over
independent networks (initlab.claims.fractional_mc) against the Gaussian of Theorem 11: mean
log||x_0|| + k mu_a(sigma), variance k s_a^2, with mu_a and s_a^2 from the s-derivatives of Theorem 7's
series at s = 0 (the appendix formulas (I.11), (I.12) are not in our copy); mu_a is cross-checked
against the lyapunov paper's quadrature."""

import time

import torch

from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.plot.fractional import fig04
from initlab.stats.distributions import common_support
from initlab.claims import fractional_mc as MC


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    gen = torch.Generator(device=device).manual_seed(p["seed"])
    panels, started = {}, time.time()
    for a in p["slopes"]:
        results = MC.slope_distributions(a, p, gen, device, log=job.log)
        panels[a] = (results, *common_support([r["samples"] for r in results.values()], p["bins"]))
    job.extra_meta.update(networks_per_init=p["n_networks"], network_layers_per_s=round(
        2 * len(p["slopes"]) * p["n_networks"] * p["depth"] / (time.time() - started)))
    job.save_figure("fig04", fig04(panels, p["width"], p["depth"], p["n_networks"], p["moment"]))
    job.write_csv("fig04", MC.distribution_table({f"a={a:g}": panel for a, panel in panels.items()}))
    for a, (results, _, _) in panels.items():
        for row in C.fig04_claims(a, results, p):
            job.claim(**row)


if __name__ == "__main__":
    run_job(main)
