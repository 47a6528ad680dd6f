"""fractional Figure 2: pdf and cdf of R_k = log||x_k|| given x_k != 0 for ReLU networks (d = 64,
k = 100): Kaiming (sigma^2 = 2/d) vs the paper's s ~ 1 initialisation (sigma^2 = 2/d + 5/(2 d^2)).
Monte Carlo over independent networks (initlab.claims.fractional_mc) against the Gaussian of Theorem 5,
N(log||x_0|| + k mu_0(sigma), k s_0^2)."""

import time

import torch

from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.plot.fractional import fig02
from initlab.stats.distributions import common_support
from initlab.claims import fractional_mc as MC


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    gen = torch.Generator(device=device).manual_seed(p["seed"])
    started = time.time()
    results = MC.relu_distributions(p, gen, device, log=job.log)
    layers = len(results) * p["n_networks"] * p["depth"]
    job.extra_meta.update(networks_per_init=p["n_networks"],
                          network_layers_per_s=round(layers / (time.time() - started)),
                          networks_with_x_k_zero=sum(r["dead"] for r in results.values()))
    edges, grid = common_support([r["samples"] for r in results.values()], p["bins"])
    job.save_figure("fig02", fig02(results, edges, grid, p["width"], p["depth"], p["n_networks"],
                                   p["paper_sigma_sq_correction"]))
    job.write_csv("fig02", MC.distribution_table({"relu": (results, edges, grid)}))
    for row in C.fig02_claims(results, edges, p):
        job.claim(**row)


if __name__ == "__main__":
    run_job(main)
