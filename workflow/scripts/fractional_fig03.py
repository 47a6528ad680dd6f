"""fractional Figure 3: sigma_bar_0(s, d) vs d (s fixed) and vs s (d fixed), and Corollary 9:
sigma_bar_a(s, d) is strictly decreasing in a, d and s."""

import numpy as np
import pandas as pd

from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.plot.fractional import fig03
from initlab.theory import fractional as F


def main(job):
    p = job.params
    widths = np.arange(1, p["width_max"] + 1)
    moments = np.linspace(p["moment_min"], 2.0, p["moment_points"])
    rows = [dict(panel="vs_d", s=s, width=int(d), sigma_bar=F.sigma_bar(0.0, s, int(d)))
            for s in p["moments"] for d in widths]
    rows += [dict(panel="vs_s", s=float(s), width=d, sigma_bar=F.sigma_bar(0.0, float(s), d))
             for d in p["widths_at"] for s in moments]
    table = pd.DataFrame(rows)
    job.save_figure("fig03", fig03(table))
    job.write_csv("fig03", table)

    slopes = sorted(p["monotone_slopes"])
    by_a = [[F.sigma_bar(a, s, d) for a in slopes] for s in (0.5, 1.0, 1.5) for d in p["widths_at"]]
    job.claim(**C.monotone_claim(
        "corollary9_monotone",
        f"Corollary 9 / Figure 3: sigma_bar_a(s, d) is strictly decreasing in d (d = 1..{p['width_max']}), in s "
        f"({p['moment_points']} values in [{p['moment_min']:g}, 2], d in {p['widths_at']}) and in a ({slopes} at s in "
        "(0.5, 1, 1.5))",
        [g["sigma_bar"] for _, g in table[table["panel"] == "vs_d"].groupby("s", sort=False)],
        [g["sigma_bar"] for _, g in table[table["panel"] == "vs_s"].groupby("width", sort=False)], by_a))


if __name__ == "__main__":
    run_job(main)
