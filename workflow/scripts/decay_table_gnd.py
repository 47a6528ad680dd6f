"""Decay paper section 5: transformed-weight variance under Generalised-Normal initialisation
(sampled by the inverse CDF, eq. (50)) against eq. (97) (upper bound), eq. (107) (lower bound,
Cauchy-Schwarz) and the printed special cases eqs. (108)-(110); one verdict per cell."""

import math

import torch

from initlab.claims import decay as claims
from initlab.jobs import run_job
from initlab.nn.lipschitz import gnd_sampler, matrices_needed, transformed_weight_variance_many


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    z_tol = p["z_tolerance"]
    def shape(alpha_raw):
        return math.inf if alpha_raw == "inf" else float(alpha_raw)

    # the (alpha, n, d) grid, then spot checks: single cells with many more samples where the grid
    # resolves the bound only to within noise
    grid = [(a, shape(a), n, d, "grid", p["min_samples"])
            for a in p["alphas"] for n in p["n_values"] for d in p["d_values"]]
    grid += [(c["alpha"], shape(c["alpha"]), c["n"], c["d"], "spot check", p["spot_check_min_samples"])
             for c in p.get("spot_checks", [])]
    cells = [dict(n=n, d=d, seed=p["seed"] + index, sampler=gnd_sampler(alpha),
                  matrices=matrices_needed(n, d, samples, p["min_matrices"]))
             for index, (_, alpha, n, d, _, samples) in enumerate(grid, start=1)]
    # cells in parallel over worker threads (scipy's ufuncs and torch release the GIL)
    results = transformed_weight_variance_many(cells, workers=job.threads, chunk_elements=p["chunk_elements"])
    table = claims.gnd_table(grid, results, cells, z_tol, log=job.log)
    job.write_csv("table_gnd", table)
    job.extra_meta["samples_total"] = int(table["samples"].sum())
    claims.gnd_claims(table, p, job.claim)


if __name__ == "__main__":
    run_job(main)
