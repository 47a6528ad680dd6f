"""ldlt fig04/fig05: Var[y] vs normalised input variance for square W0, n-scaling (sigma^2 = c/n, fig04)
or sqrt(n)-scaling (sigma = c/sqrt(n), fig05): Monte Carlo, the truncated series (from table_wick) and
the Marchenko-Pastur limit; claims.  Science: initlab.claims.ldlt, initlab.plot.ldlt."""

import time

import numpy as np
import torch

from initlab.claims import ldlt as claims
from initlab.jobs import run_job
from initlab.plot import ldlt as ldlt_plot
from initlab.theory import wick


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    if p["c_max"] <= p["c_min"]:
        raise ValueError(f"ldlt.{job.name}: c_max ({p['c_max']}) must exceed c_min ({p['c_min']})")
    sqrt_n = p["scaling"] == "sqrt_n"
    extra = [p["paper_scale_kaiming"], p["paper_scale_large"]] if sqrt_n else p["limit_scales"]
    start = time.perf_counter()
    frame, at, breaks = claims.variance_scaling_table(
        wick.read_table_csv(job.inputs["table_wick"]), p["sizes"], p["samples"],
        np.geomspace(p["c_min"], p["c_max"], p["c_points"]), extra, p["scaling"], p["alpha"], p["gamma"],
        p["series_order"], p["seed"], p["model"], p["z_tolerance"], p["break_abs_tol"], device, log=job.log)
    job.write_csv(job.name, frame)
    job.extra_meta.update({"monte_carlo_samples": dict(zip(map(str, p["sizes"]), p["samples"])),
                           "monte_carlo_model": p["model"], "monte_carlo_draws": "independent W0 per (size, c)",
                           "monte_carlo_seconds": round(time.perf_counter() - start, 2),
                           "series_break_c": {str(n): c for n, c in breaks.items()}})
    job.save_figure(job.name, ldlt_plot.variance_scaling_figure(frame, breaks, job.name, p))
    a, g, z = p["alpha"], p["gamma"], p["z_tolerance"]
    if sqrt_n:
        for key, claim_id in (("kaiming", "var_at_sigma_1_over_sqrt_n"), ("large", "var_at_sigma_10_over_sqrt_n")):
            job.claim(**claims.paper_value_claim(at, claim_id, p[f"paper_scale_{key}"], p[f"paper_var_{key}"], a, g, z))
        return
    job.claim(**claims.large_sigma_square_claim(at, p["limit_scales"], g, p["limit_tolerance"], z))
    wide = claims.wide_limit_table(p["wide_sizes"], p["wide_ratio"], p["limit_scales"][-1], a, g, p["wide_samples"],
                                   p["seed"], p["model"], device)
    job.claim(**claims.large_sigma_wide_claim(wide, p["limit_scales"][-1], g, p["limit_tolerance"], z))


if __name__ == "__main__":
    run_job(main)
