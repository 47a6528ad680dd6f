"""fractional Figure 1. Left: log(sigma_bar_0^2(s, d) - 2/d) vs log d for ReLU (Corollary 4 predicts a
straight line of slope -2 and intercept log(5(2 - s)/2)). Right: growth of the alpha-th moment of x_k at
k = 500 for sigma = sigma_bar_0(s, d), d = 64 (eq. (3.1)): it is preserved at alpha = s, decays below
and grows above, faster for smaller s."""

import math

import numpy as np
import pandas as pd

from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.plot.fractional import fig01
from initlab.theory import fractional as F


def main(job):
    p = job.params
    widths = np.unique(np.geomspace(p["left_width_min"], p["left_width_max"], p["left_points"]).round().astype(int))
    alphas = np.linspace(0.05, p["alpha_max"], 80)
    d, k = p["right_width"], p["right_depth"]
    rows, fits, growth = [], {}, {}
    for s in p["left_moments"]:
        y = np.log([F.sigma_bar(0.0, s, int(w)) ** 2 - 2.0 / w for w in widths])
        reference = math.log(5.0 * (2.0 - s) / 2.0) - 2.0 * np.log(widths)
        big = widths >= widths.max() / 10.0  # the last decade of d
        fits[s] = np.polyfit(np.log(widths[big]), y[big], 1, cov=True)
        rows += [dict(panel="left", s=s, width=int(w), x=math.log(w), y=v, y_corollary4=r)
                 for w, v, r in zip(widths, y, reference)]
    for s in p["right_moments"]:
        growth[s] = np.array([F.log_moment_growth(a, s, d, k) for a in alphas]) / math.log(10.0)
        rows += [dict(panel="right", s=s, width=d, x=a, y=v, y_corollary4=float("nan")) for a, v in zip(alphas, growth[s])]
    table = pd.DataFrame(rows)
    job.save_figure("fig01", fig01(table, d, k))
    job.write_csv("fig01", table)

    worst = max(fits, key=lambda s: abs(fits[s][0][0] + 2.0))
    (slope, intercept), cov = fits[worst]
    job.claim(**C.slope_claim(
        "fig01_slope_minus_two",
        "Figure 1 (left) / Corollary 4: log(sigma_bar_0^2 - 2/d) vs log d is a line of slope -2 (printed) and intercept "
        f"log(5(2 - s)/2) for large d; least-squares fit over the last decade of d (up to {widths.max()}), worst s = "
        f"{worst:g} of {p['left_moments']}", slope, math.sqrt(cov[0, 0]), intercept, math.log(2.5 * (2.0 - worst)),
        p["slope_tolerance"]))
    job.claim(**C.moment_growth_claim(
        "fig01_moment_growth",
        f"Figure 1 (right) / Theorem 1: with sigma = sigma_bar_0(s, d) (d = {d}, k = {k}) the alpha-th moment decays "
        "for alpha < s, is preserved at alpha = s and grows for alpha > s; 'when s gets smaller, moments grow faster' "
        f"(checked for alpha > {max(growth):g}); replicated: log10 E||x_k||^{p['alpha_max']:g} per s", alphas, growth))


if __name__ == "__main__":
    run_job(main)
