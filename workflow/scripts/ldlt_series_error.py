"""ldlt fig01-fig03: |Monte Carlo Var[y] - truncated Laplace series| vs small sigma^2, square W0, one
panel per size, one curve per truncation order K (error bars: 1 standard error of the Monte Carlo mean)."""

import math
import time

import numpy as np
import pandas as pd
import torch
from matplotlib import cm

from initlab import plot
from initlab.jobs import run_job
from initlab.nn import ldlt as ldlt_nn
from initlab.theory import ldlt as ldlt_theory
from initlab.theory import wick


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    coefficients = wick.read_table_csv(job.inputs["table_wick"])
    orders = sorted(p["orders"])
    if p["sigma2_max"] <= p["sigma2_min"]:
        raise ValueError(f"ldlt.{job.name}: sigma2_max ({p['sigma2_max']}) must exceed sigma2_min ({p['sigma2_min']})")
    sigma2 = np.geomspace(p["sigma2_min"], p["sigma2_max"], p["sigma2_points"])
    alpha, gamma = p["alpha"], p["gamma"]

    rows, mc_seconds, agreement = [], 0.0, []
    for n in p["sizes"]:
        start = time.perf_counter()
        mc = ldlt_nn.monte_carlo_variance(n, n, sigma2, alpha, gamma, p["samples"], ldlt_nn.size_seed(p["seed"], n, n),
                                          p["model"], device)
        mc_seconds += time.perf_counter() - start
        series = ldlt_theory.series_variance(coefficients, n, n, sigma2, alpha, gamma, orders)
        radius = ldlt_theory.series_convergence_sigma2(n, n, alpha)
        job.log(f"n = {n}: {p['samples']} samples, {time.perf_counter() - start:.1f} s")
        for i, order in enumerate(orders):
            for j, s2 in enumerate(sigma2):
                rows.append({"n": n, "m": n, "sigma2": s2, "order": order, "samples": mc.samples,
                             "var_mc": mc.mean[j], "var_mc_stderr": mc.stderr[j], "var_series": series[i, j],
                             "abs_error": abs(mc.mean[j] - series[i, j]), "series_radius_sigma2": radius})
        # agreement of the highest order with Monte Carlo; the validity edge is the largest sigma^2 up to
        # which every grid point agrees (the series is asymptotic: it fails beyond some sigma^2)
        agree = np.abs(mc.mean - series[-1]) <= p["z_tolerance"] * mc.stderr
        failing = np.flatnonzero(~agree)
        edge = sigma2[-1] if failing.size == 0 else (sigma2[failing[0] - 1] if failing[0] > 0 else 0.0)
        small = sigma2 <= p["sigma2_min"] * 10 ** p["small_decades"] * (1 + 1e-9)
        agreement.append((n, bool(agree[small].all()), edge, edge / radius))
    frame = pd.DataFrame(rows)
    job.write_csv(job.name, frame)
    total = p["samples"] * len(p["sizes"])
    job.extra_meta.update({"monte_carlo_samples_per_size": p["samples"], "monte_carlo_model": p["model"], "monte_carlo_seconds": round(mc_seconds, 2),
                           "samples_per_second": round(total / mc_seconds, 1)})

    plot_panels(job, frame, orders, p)

    ok = all(a[1] for a in agreement)
    small_max = p["sigma2_min"] * 10 ** p["small_decades"]
    job.claim(
        f"{job.name}_series_matches_mc_small_sigma2",
        f"Sec. IV-E, Fig. {int(job.name[-2:])}: the truncated series (K = {orders[-1]}) matches Monte Carlo Var[y] "
        f"for small sigma^2, square sizes {p['sizes'][0]}..{p['sizes'][-1]}. Verdict: |MC - series| <= "
        f"{p['z_tolerance']:g} stderr at every sigma^2 <= {small_max:.3g} (the lowest {p['small_decades']:g} decades "
        "of the sweep) for every size. Also reported: the validity edge, the largest sigma^2 up to which all grid "
        "points agree, and its ratio to the Lemma III.5 radius alpha/(2 sqrt(n))^2 (the series is asymptotic)",
        "series accurate for small sigma^2",
        "; ".join(f"n={n}: {'agrees' if good else 'DISAGREES'} below {small_max:.3g}, valid up to "
                  f"{edge:.3g} ({ratio:.2f} x radius)" for n, good, edge, ratio in agreement),
        f"Monte Carlo stderr, {p['samples']} samples per size ({p['model']})",
        "reproduced" if ok else "deviates",
    )


def plot_panels(job, frame, orders, p):
    sizes = p["sizes"]
    ncols = min(3, len(sizes))
    nrows = math.ceil(len(sizes) / ncols)
    fig, axes = plot.subplots(nrows, ncols, squeeze=False, sharey=False)
    colours = cm.viridis(np.linspace(0.0, 0.9, len(orders)))
    for ax, n in zip(axes.flat, sizes):
        sub = frame[frame.n == n]
        for colour, order in zip(colours, orders):
            rows = sub[sub.order == order]
            err = rows.abs_error.to_numpy()
            se = rows.var_mc_stderr.to_numpy()
            lower = np.minimum(se, 0.95 * err)  # keep the lower bar positive on the log axis
            ax.errorbar(rows.sigma2, err, yerr=[lower, se], color=colour, marker="o", ms=2.5, lw=1.0,
                        elinewidth=0.7, label=f"K={order}")
        ax.plot(sub.sigma2.unique(), sub[sub.order == orders[0]].var_mc_stderr, color="grey", ls=":", lw=1.2,
                label="MC stderr")
        ax.axvline(sub.series_radius_sigma2.iloc[0], color="black", ls="--", lw=0.8, label=r"$\alpha/(2\sqrt{n})^2$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"$n = m = {n}$")
        ax.set_xlabel(r"$\sigma^2$")
        ax.set_ylabel(r"$|\mathrm{Var}_{MC}[y] - \mathrm{Var}_K[y]|$")
    for ax in list(axes.flat)[len(sizes):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", title="series order")
    fig.suptitle(f"ldlt Fig. {int(job.name[-2:])}: |Monte Carlo - truncated series| of Var[y], "
                 rf"$\alpha={p['alpha']:g}, \gamma={p['gamma']:g}$, {p['samples']} samples/size ({p['model']}), bars = 1 s.e.")
    job.save_figure(job.name, fig)


if __name__ == "__main__":
    run_job(main)
