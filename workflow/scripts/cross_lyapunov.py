"""Cross-paper check (claims with paper = cross): the fractional paper's top Lyapunov exponent mu_a(sigma)
(Theorems 5/11; here from the s-derivative of Theorem 7's series at s = 0) and the lyapunov paper's
lambda_gauss(sigma, a, d) (Theorem 4.1, Frullani quadrature) are the same quantity for a > 0; both are
compared with Monte Carlo over networks with full Gaussian weight matrices (initlab.nn.random_nets).
For ReLU (a = 0), Theorem 5's mu_0 conditions on x_k != 0: Monte Carlo conditioned on survival.
And s = 2 must give Kaiming 2/d, LeCun 1/d and He 2/((1 + a^2) d) exactly."""

import math

import numpy as np
import pandas as pd
import torch

from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.nn.random_nets import gaussian_weights, leaky_relu, simulate_log_norms
from initlab.stats.moments import moments
from initlab.theory import fractional as F
from initlab.theory import lyapunov as L

SIGMA_NAMES = {"he": "he", "sigma_bar_s1": "sigma_bar_a(1,d)", "lyapunov": "sigma_lyapunov"}


def simulate_increments(width, depth, n, sigma, slope, gen, device):
    x0 = torch.zeros(1, width, dtype=torch.float64)
    x0[0, 0] = 1.0
    log_norm = simulate_log_norms(width, depth, n, gaussian_weights(sigma), leaky_relu(slope), x0, generator=gen,
                                  device=device, dtype=torch.float32).log_norm[:, 0, :].cpu().numpy()
    return log_norm[:, depth] - log_norm[:, 0]


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    gen = torch.Generator(device=device).manual_seed(p["seed"])
    depth, n = p["depth"], p["n_networks"]
    rows = []
    for a in p["slopes"]:
        for d in p["widths"]:
            series = F.exponent_series(a, d)
            for name, sigma in {"he": L.sigma_he(a, d), "sigma_bar_s1": F.sigma_bar(a, 1.0, d),
                                "lyapunov": math.exp(-L.half_e_log_phi(a, d))}.items():
                mu = math.log(sigma) + series.half_e_log_z
                total = simulate_increments(d, depth, n, sigma, a, gen, device)
                rows.append(dict(kind="exponent", slope=a, width=d, sigma_name=SIGMA_NAMES[name], sigma=sigma,
                                 mu_fractional=mu, mu_fractional_bound=series.half_e_log_z_bound,
                                 lambda_lyapunov=L.lambda_gauss(sigma, a, d), s2_fractional=series.s2,
                                 **C.exponent_row(moments(total), depth, mu, series.s2), depth=depth, networks=n))
            job.log(f"a={a:g} d={d}: mu_frac - lambda = {rows[-1]['mu_fractional'] - rows[-1]['lambda_lyapunov']:.2e}, "
                    f"z = {rows[-1]['z']:.2f}")
    for d in p["relu_widths"]:  # ReLU: Theorem 5 conditions on x_k != 0 (pi_d(n) = C(d, n) / (2^d - 1))
        sigma, k = math.sqrt(2.0 / d), p["relu_depth"]
        total = simulate_increments(d, k, p["relu_networks"], sigma, 0.0, gen, device)
        alive = np.isfinite(total)
        mu0, s2 = F.mu_relu(sigma, d), F.s2_relu(d)
        rows.append(dict(kind="relu_conditional", slope=0.0, width=d, sigma_name="kaiming", sigma=sigma, mu_fractional=mu0,
                         mu_fractional_bound=0.0, lambda_lyapunov=float("-inf"), s2_fractional=s2,
                         **C.exponent_row(moments(total[alive]), k, mu0, s2), depth=k, networks=total.size,
                         **C.survival_row(int(alive.sum()), total.size, d, k)))
        job.log(f"ReLU d={d}: {alive.sum()} of {total.size} alive at k={k} (theory {rows[-1]['survival_theory']:.4f}); "
                f"mu_0 MC {rows[-1]['mc']:.4f} vs {mu0:.4f}")
    table = pd.DataFrame(rows)
    job.write_csv("cross_lyapunov", table[COLUMNS])
    for row in C.cross_claims(table, p):
        job.claim(**row)


COLUMNS = ["kind", "slope", "width", "sigma_name", "sigma", "mu_fractional", "mu_fractional_bound", "lambda_lyapunov",
           "mc", "mc_stderr", "z", "s2_fractional", "s2_mc", "s2_mc_stderr", "s2_z", "depth", "networks", "survival",
           "survival_theory", "survival_z"]


if __name__ == "__main__":
    run_job(main)
