"""fractional Figure 1. Left: log(sigma_bar_0^2(s, d) - 2/d) vs log d for ReLU (Corollary 4 predicts a
straight line of slope -2 and intercept log(5(2 - s)/2)). Right: growth of the alpha-th moment of x_k at
k = 500 for sigma = sigma_bar_0(s, d), d = 64 (eq. (3.1)): it is preserved at alpha = s, decays below
and grows above, faster for smaller s.  Data and claims: initlab.claims.fractional."""

import numpy as np

from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.plot.fractional import fig01


def main(job):
    p = job.params
    widths = np.unique(np.geomspace(p["left_width_min"], p["left_width_max"], p["left_points"]).round().astype(int))
    alphas = np.linspace(0.05, p["alpha_max"], 80)
    d, k = p["right_width"], p["right_depth"]
    table = C.fig01_table(widths, p["left_moments"], alphas, p["right_moments"], d, k)
    job.save_figure("fig01", fig01(table, d, k))
    job.write_csv("fig01", table)
    for claim in C.fig01_claims(table, p["slope_tolerance"], k, p["left_moments"]):
        job.claim(**claim)


if __name__ == "__main__":
    run_job(main)
