"""ldlt fig01-fig03: |Monte Carlo Var[y] - truncated Laplace series| vs small sigma^2, square W0, one
panel per size, one curve per truncation order K; bars +-1 s.d. (the paper's), s.e. in the CSV.
Science: initlab.claims.ldlt (measurement, claim rule), initlab.plot.ldlt (figure)."""

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
    if p["sigma2_max"] <= p["sigma2_min"]:
        raise ValueError(f"ldlt.{job.name}: sigma2_max ({p['sigma2_max']}) must exceed sigma2_min ({p['sigma2_min']})")
    sigma2 = np.geomspace(p["sigma2_min"], p["sigma2_max"], p["sigma2_points"])
    start = time.perf_counter()
    frame = claims.series_error_table(wick.read_table_csv(job.inputs["table_wick"]), p["sizes"], sigma2,
                                      sorted(p["orders"]), p["alpha"], p["gamma"], p["samples"], p["seed"],
                                      p["model"], job.torch_device(), log=job.log)
    seconds = time.perf_counter() - start
    job.write_csv(job.name, frame)
    job.extra_meta.update({"monte_carlo_samples_per_point": p["samples"], "monte_carlo_model": p["model"],
                           "monte_carlo_draws": "independent W0 per (size, sigma^2)",
                           "monte_carlo_seconds": round(seconds, 2),
                           "samples_per_second": round(p["samples"] * len(p["sizes"]) * sigma2.size / seconds, 1)})
    job.save_figure(job.name, ldlt_plot.series_error_figure(frame, job.name, p["alpha"], p["gamma"], p["model"]))
    small_max = p["sigma2_min"] * 10 ** p["small_decades"]
    job.claim(**claims.series_agreement_claim(frame, job.name, small_max, p["familywise_alpha"]))


if __name__ == "__main__":
    run_job(main)
