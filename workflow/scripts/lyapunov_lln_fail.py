"""lyapunov paper, Lemma C.21: the law of large numbers (Theorem 3.3) fails
(a) for ReLU: x_k = 0 with probability 1 - (1 - 2^-d)^k -> 1, so log||x_k||/k -> -inf almost surely, and
(b) for matrices with positive entries and a Leaky ReLU: the positive and negative cones are invariant, so
    log||x_k||/k tends to lambda_+ from a positive start and to lambda_+ + log a from a negative one, and a
    start with mixed signs reaches either limit with positive probability (bimodal)."""

import math

import numpy as np
import pandas as pd
import torch

from initlab import plot
from initlab.jobs import run_job
from initlab.nn.random_nets import gaussian_weights, leaky_relu, simulate_log_norms


def uniform_weights(low, high):
    """i.i.d. U(low, high) entries (positive when low >= 0, almost surely)."""

    def sample(gen, shape, device, dtype):
        return low + (high - low) * torch.rand(shape, generator=gen, device=device, dtype=dtype)

    return sample


def start_points(width):
    ones = torch.ones(width, dtype=torch.float64) / math.sqrt(width)
    mixed = torch.zeros(width, dtype=torch.float64)
    mixed[0], mixed[1] = 1.0 / math.sqrt(2.0), -1.0 / math.sqrt(2.0)
    return {"positive cone": ones, "negative cone": -ones, "mixed signs": mixed}


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    gen = torch.Generator(device=device).manual_seed(p["seed"])
    z_tol = p["z_tolerance"]
    rows = []
    fig, (ax_relu, ax_paths, ax_hist) = plot.subplots(1, 3)

    # (a) ReLU, Gaussian He weights: survival of x_k != 0
    worst_z = 0.0
    k_relu = np.arange(0, p["relu_depth"] + 1)
    for width in p["relu_widths"]:
        x0 = torch.zeros(1, width, dtype=torch.float64)
        x0[0, 0] = 1.0
        log_norm = simulate_log_norms(width, p["relu_depth"], p["relu_networks"], gaussian_weights(math.sqrt(2.0 / width)),
                                      leaky_relu(0.0), x0, generator=gen, device=device).log_norm[:, 0, :].cpu().numpy()
        alive = np.isfinite(log_norm).mean(axis=0)
        theory = (1.0 - 2.0**-width) ** k_relu
        se = np.sqrt(np.maximum(theory * (1 - theory), 1e-300) / p["relu_networks"])
        worst_z = max(worst_z, float(np.max(np.abs(alive - theory)[1:] / se[1:])))
        line, = ax_relu.plot(k_relu, alive, "o", ms=3, label=f"$d={width}$ Monte Carlo")
        ax_relu.plot(k_relu, theory, color=line.get_color(), lw=1.2, label=fr"$(1-2^{{-{width}}})^k$")
        rows += [dict(panel="relu_survival", width=width, start="e1", k=int(k), value=v, stderr=s, theory=t)
                 for k, v, s, t in zip(k_relu, alive, se, theory)]
    ax_relu.set_yscale("log")
    ax_relu.set_xlabel("layer $k$")
    ax_relu.set_ylabel(r"$P(x_k \neq 0)$")
    ax_relu.set_title(r"(a) ReLU: $x_k=0$ eventually, $\frac{1}{k}\log\|x_k\|\to-\infty$")
    ax_relu.legend(fontsize=7, ncol=2)
    job.claim(
        "lemma_c21_relu",
        "Lemma C.21 (1): for ReLU with Gaussian weights x_k = 0 with probability 1 - (1 - 2^-d)^k -> 1, so log||x_k||/k "
        f"-> -inf almost surely and Theorem 3.3 fails. Monte Carlo survival vs (1 - 2^-d)^k, widths {p['relu_widths']}, "
        f"k <= {p['relu_depth']}, {p['relu_networks']} networks each",
        "P(x_k != 0) = (1 - 2^-d)^k -> 0", f"max |z| = {worst_z:.2f} over all (d, k)", "binomial s.e.",
        "reproduced" if worst_z < z_tol else "deviates")

    # (b), (c) positive-entry matrices with a Leaky ReLU
    width, a, depth = p["positive_width"], p["positive_slope"], p["positive_depth"]
    starts = start_points(width)
    x0 = torch.stack(list(starts.values()))
    log_norm = simulate_log_norms(width, depth, p["positive_networks"], uniform_weights(p["positive_low"], p["positive_high"]),
                                  leaky_relu(a), x0, generator=gen, device=device).log_norm.cpu().numpy()
    k = np.arange(1, depth + 1)
    rate = (log_norm[:, :, 1:] - log_norm[:, :, :1]) / k  # (networks, start, k)
    final = rate[:, :, -1]
    lam_plus = final[:, 0].mean()
    lam_plus_se = final[:, 0].std(ddof=1) / math.sqrt(final.shape[0])
    diff = final[:, 1] - final[:, 0]
    diff_mean, diff_se = diff.mean(), diff.std(ddof=1) / math.sqrt(diff.size)
    lam_minus = lam_plus + math.log(a)
    mixed = final[:, 2]
    to_minus = np.abs(mixed - lam_minus) < np.abs(mixed - lam_plus)
    p_minus = to_minus.mean()
    p_minus_se = math.sqrt(p_minus * (1 - p_minus) / mixed.size)
    colors = dict(zip(starts, plot.PALETTE))
    for j, name in enumerate(starts):
        if name != "mixed signs":
            ax_paths.plot(k, rate[:, j, :].mean(axis=0), color=colors[name], lw=2, label=f"{name} (mean)")
    for i in range(min(40, rate.shape[0])):
        ax_paths.plot(k, rate[i, 2, :], color=colors["mixed signs"], lw=0.5, alpha=0.5,
                      label="mixed signs (paths)" if i == 0 else None)
    for value, name in ((lam_plus, r"$\lambda_+$"), (lam_minus, r"$\lambda_+ + \log a$")):
        ax_paths.axhline(value, color="k", ls="--", lw=0.8)
        ax_paths.annotate(name, (depth, value), textcoords="offset points", xytext=(-30, 4), fontsize=9)
    ax_paths.set_xlabel("layer $k$")
    ax_paths.set_ylabel(r"$\frac{1}{k}\log\|x_k\|/\|x_0\|$")
    ax_paths.set_title(f"(b) positive entries, Leaky ReLU $a={a:g}$, $d={width}$")
    ax_paths.legend(fontsize=7)
    edges = np.linspace(min(final.min(), lam_minus) - 0.3, max(final.max(), lam_plus) + 0.3, 80)
    for j, name in enumerate(starts):
        density, _ = np.histogram(final[:, j], bins=edges, density=True)
        ax_hist.stairs(density, edges, color=colors[name], fill=True, alpha=0.45, label=name)
        rows += [dict(panel="positive_final", width=width, start=name, k=depth, value=0.5 * (lo + hi), stderr=float("nan"),
                      theory=dens) for lo, hi, dens in zip(edges[:-1], edges[1:], density)]
    for j, name in enumerate(starts):
        rows += [dict(panel="positive_mean_rate", width=width, start=name, k=int(kk), value=v,
                      stderr=s, theory=float("nan"))
                 for kk, v, s in zip(k, rate[:, j, :].mean(axis=0), rate[:, j, :].std(axis=0, ddof=1) / math.sqrt(rate.shape[0]))]
    ax_hist.set_xlabel(fr"$\frac{{1}}{{k}}\log\|x_k\|/\|x_0\|$ at $k={depth}$")
    ax_hist.set_ylabel("density")
    ax_hist.set_title("(c) the limit depends on the start")
    ax_hist.legend(fontsize=7)
    fig.suptitle("Lemma C.21: the law of large numbers fails for ReLU and for positive-entry matrices")
    job.save_figure("fig_lln_fail", fig)
    job.write_csv("fig_lln_fail", pd.DataFrame(rows))

    ok = abs(diff_mean - math.log(a)) < max(z_tol * diff_se, 1e-6)
    job.claim(
        "lemma_c21_positive_cones",
        "Lemma C.21 (2): with positive-entry weights (i.i.d. U(low, high), low >= 0) and a Leaky ReLU, the limit of "
        "log||x_k||/k depends on the start: lambda_+ from the positive cone, lambda_+ + log a from the negative cone "
        f"(eqs. (42)/(43)); a = {a:g}, d = {width}, k = {depth}, {p['positive_networks']} networks (same weights for every start)",
        f"lambda_- - lambda_+ = log a = {math.log(a):.5f}",
        f"{diff_mean:.5f} (lambda_+ = {lam_plus:.4f} +- {lam_plus_se:.4f})", f"1 s.e. = {diff_se:.1e}",
        "reproduced" if ok else "deviates")
    ok = min(p_minus, 1 - p_minus) > z_tol * p_minus_se
    job.claim(
        "lemma_c21_mixed_start",
        "Lemma C.21 (2): from a start with mixed signs, x_k enters the positive and the negative cone each with positive "
        "probability, so log||x_k||/k has no almost-sure limit common to all networks (bimodal); fraction of networks "
        f"ending nearer lambda_+ + log a than lambda_+ at k = {depth}",
        "both limits with positive probability", f"{p_minus:.4f} near lambda_-, {1 - p_minus:.4f} near lambda_+",
        f"1 s.e. = {p_minus_se:.4f}", "reproduced" if ok else "deviates")


if __name__ == "__main__":
    run_job(main)
