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

from initlab.jobs import run_job
from initlab.nn.random_nets import gaussian_weights, leaky_relu, simulate_log_norms
from initlab.theory import fractional as F
from initlab.theory import lyapunov as L


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
            sigmas = {"he": L.sigma_he(a, d), "sigma_bar_s1": F.sigma_bar(a, 1.0, d),
                      "lyapunov": math.exp(-L.half_e_log_phi(a, d))}
            for name, sigma in sigmas.items():
                total = simulate_increments(d, depth, n, sigma, a, gen, device)
                mu_frac = math.log(sigma) + series.half_e_log_z
                lam = L.lambda_gauss(sigma, a, d)
                mc = total.mean() / depth
                mc_se = total.std(ddof=1) / math.sqrt(n) / depth
                var = total.var(ddof=1) / depth
                var_se = math.sqrt(max(np.mean((total - total.mean()) ** 4) - total.var() ** 2, 0.0) / n) / depth
                rows.append(dict(kind="exponent", slope=a, width=d, sigma_name=sigma_name(name), sigma=sigma,
                                 mu_fractional=mu_frac, mu_fractional_bound=series.half_e_log_z_bound,
                                 lambda_lyapunov=lam, mc=mc, mc_stderr=mc_se, z=(mc - mu_frac) / mc_se,
                                 s2_fractional=series.s2, s2_mc=var, s2_mc_stderr=var_se,
                                 s2_z=(var - series.s2) / var_se, depth=depth, networks=n))
            job.log(f"a={a:g} d={d}: mu_frac - lambda = {rows[-1]['mu_fractional'] - rows[-1]['lambda_lyapunov']:.2e}, "
                    f"z = {rows[-1]['z']:.2f}")
    # ReLU: Theorem 5 conditions on x_k != 0 (pi_d(n) = C(d, n) / (2^d - 1))
    for d in p["relu_widths"]:
        sigma = math.sqrt(2.0 / d)
        k = p["relu_depth"]
        total = simulate_increments(d, k, p["relu_networks"], sigma, 0.0, gen, device)
        alive = np.isfinite(total)
        m = int(alive.sum())
        mc = total[alive].mean() / k
        mc_se = total[alive].std(ddof=1) / math.sqrt(m) / k
        mu0 = F.mu_relu(sigma, d)
        survive = (1.0 - 2.0**-d) ** k
        frac = m / total.size
        frac_se = math.sqrt(survive * (1 - survive) / total.size)
        var = total[alive].var(ddof=1) / k
        var_se = math.sqrt(max(np.mean((total[alive] - total[alive].mean()) ** 4) - total[alive].var() ** 2, 0.0) / m) / k
        rows.append(dict(kind="relu_conditional", slope=0.0, width=d, sigma_name="kaiming", sigma=sigma,
                         mu_fractional=mu0, mu_fractional_bound=0.0, lambda_lyapunov=float("-inf"), mc=mc,
                         mc_stderr=mc_se, z=(mc - mu0) / mc_se, s2_fractional=F.s2_relu(d), s2_mc=var,
                         s2_mc_stderr=var_se, s2_z=(var - F.s2_relu(d)) / var_se, depth=k, networks=total.size,
                         survival=frac, survival_theory=survive, survival_z=(frac - survive) / frac_se))
        job.log(f"ReLU d={d}: {m} of {total.size} alive at k={k} (theory {survive:.4f}); mu_0 MC {mc:.4f} vs {mu0:.4f}")
    table = pd.DataFrame(rows)
    job.write_csv("cross_lyapunov", table)
    claims(job, p, table)


def sigma_name(key):
    return {"he": "he", "sigma_bar_s1": "sigma_bar_a(1,d)", "lyapunov": "sigma_lyapunov"}[key]


def claims(job, p, table):
    z_tol = p["z_tolerance"]
    exp_rows = table[table["kind"] == "exponent"]
    diff = float(np.max(np.abs(exp_rows["mu_fractional"] - exp_rows["lambda_lyapunov"])))
    job.claim(
        "mu_fractional_equals_lambda_lyapunov",
        "The fractional paper's top Lyapunov exponent mu_a(sigma) (Theorem 11; from Theorem 7's series, s-derivative "
        "at s = 0) equals the lyapunov paper's lambda_gauss(sigma, a, d) (Theorem 4.1, Frullani quadrature) for a > 0; "
        f"slopes {p['slopes']}, widths {p['widths']}, sigma in (He, sigma_bar_a(1, d), sigma_lyapunov)",
        "identical quantity", f"max |mu_a - lambda| = {diff:.1e}",
        f"series truncation bound <= {exp_rows['mu_fractional_bound'].max():.1e}, quadrature ~1e-13",
        "reproduced" if diff < 1e-9 else "deviates", paper="cross")
    worst = exp_rows.iloc[int(np.argmax(np.abs(exp_rows["z"].to_numpy())))]
    job.claim(
        "mu_lambda_vs_monte_carlo",
        "Both formulas vs Monte Carlo with full Gaussian weight matrices: (log||x_k|| - log||x_0||)/k over "
        f"{int(worst['networks'])} networks, k = {int(worst['depth'])}, all {len(exp_rows)} (slope, width, sigma) "
        f"cases; worst a = {worst['slope']:g}, d = {int(worst['width'])}, sigma = {worst['sigma_name']}",
        f"{worst['mu_fractional']:.5f}", f"{worst['mc']:.5f}",
        f"1 s.e. = {worst['mc_stderr']:.5f}; max |z| = {abs(worst['z']):.2f}",
        "reproduced" if abs(worst["z"]) < z_tol else "deviates", paper="cross")
    worst = exp_rows.iloc[int(np.argmax(np.abs(exp_rows["s2_z"].to_numpy())))]
    job.claim(
        "clt_variance_vs_monte_carlo",
        "CLT variance s_a^2 of Theorem 11 (second s-derivative of Theorem 7's series) vs the Monte Carlo variance of "
        f"(log||x_k|| - log||x_0||)/sqrt(k) (the lyapunov paper's CLT variance, Theorem 3.4), all {len(exp_rows)} cases; "
        f"worst a = {worst['slope']:g}, d = {int(worst['width'])}",
        f"{worst['s2_fractional']:.5f}", f"{worst['s2_mc']:.5f}",
        f"1 s.e. = {worst['s2_mc_stderr']:.5f}; max |z| = {abs(worst['s2_z']):.2f}",
        "reproduced" if abs(worst["s2_z"]) < z_tol else "deviates", paper="cross")
    relu = table[table["kind"] == "relu_conditional"]
    worst = relu.iloc[int(np.argmax(np.abs(relu["z"].to_numpy())))]
    worst_surv = float(np.max(np.abs(relu["survival_z"])))
    ok = abs(worst["z"]) < z_tol and worst_surv < z_tol
    job.claim(
        "relu_conditional_mu0",
        "ReLU (a = 0): lambda_gauss is -inf (x_k = 0 with probability 1 - (1 - 2^-d)^k); Theorem 5's mu_0 "
        "(pi_d(n) = C(d, n)/(2^d - 1)) is the exponent conditioned on x_k != 0. Monte Carlo conditioned on survival, "
        f"Kaiming sigma, widths {p['relu_widths']}, k = {p['relu_depth']}; worst d = {int(worst['width'])}; the "
        "survival fraction is checked against (1 - 2^-d)^k too",
        f"{worst['mu_fractional']:.5f}", f"{worst['mc']:.5f}",
        f"1 s.e. = {worst['mc_stderr']:.5f}; |z| = {abs(worst['z']):.2f}; survival max |z| = {worst_surv:.2f}",
        "reproduced" if ok else "deviates", paper="cross")
    limits = []
    for a in p["slopes"]:
        for d in p["widths"]:
            target = math.exp(-L.half_e_log_phi(a, d))
            limits.append(max(abs(F.sigma_bar(a, s, d) / target - 1.0) / s for s in (1e-3, 1e-4)))
    job.claim(
        "lyapunov_init_is_s_to_zero_limit",
        "The lyapunov paper's sigma_lyapunov = exp(-I(a, d)) (zero exponent) is the s -> 0 limit of the fractional "
        "paper's sigma_bar_a(s, d) = I_a(s, d)^(-1/s) (log I_a(s, d) = s I(a, d) + O(s^2)): |sigma_bar_a(s, d) / "
        f"sigma_lyapunov - 1| / s at s = 1e-3, 1e-4 stays bounded (O(s) convergence); slopes {p['slopes']}, widths {p['widths']}",
        "lim_{s->0} sigma_bar_a(s, d) = sigma_lyapunov", f"max |ratio - 1| / s = {max(limits):.3f}", "series ~1e-13",
        "reproduced" if max(limits) < 10.0 else "deviates", paper="cross")
    devs = []
    for d in p["s2_widths"]:
        devs.append(abs(F.sigma_bar(0.0, 2.0, d) ** 2 * d / 2.0 - 1.0))
        devs.append(abs(F.sigma_bar(1.0, 2.0, d) ** 2 * d - 1.0))
        devs += [abs(F.sigma_bar(a, 2.0, d) / L.sigma_he(a, d) - 1.0) for a in p["slopes"]]
    job.claim(
        "s2_recovers_kaiming_lecun_he",
        f"s = 2 recovers Kaiming (sigma_bar_0^2 = 2/d), LeCun (sigma_bar_1^2 = 1/d) and the lyapunov paper's He scale "
        f"sigma_he = sqrt(2/((1 + a^2) d)) for a in {p['slopes']}; widths {p['s2_widths']}",
        "exact", f"max relative difference {max(devs):.1e}", "floating point",
        "reproduced" if max(devs) < 1e-12 else "deviates", paper="cross")


if __name__ == "__main__":
    run_job(main)
