"""Decay paper Figure 1: Monte Carlo variance of the AOL/SLL-normalised weights W T^(-1/2)
(q = 1, Gaussian W, d = 10 n) against eq. (23) (upper bound 1/d) and eq. (36) (approximation);
claims on eqs. (23), (36), (38)-(39) (initlab.claims.decay.fig01_claims)."""

import time

import torch

from initlab.claims import decay as claims
from initlab.jobs import run_job
from initlab.nn.lipschitz import matrices_needed, transformed_weight_variance, transformed_weight_variance_many
from initlab.plot import decay as plots


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    cells = [dict(n=n, d=p["d_over_n"] * n, seed=p["seed"] + n,
                  matrices=matrices_needed(n, p["d_over_n"] * n, p["min_samples"], p["min_matrices"]))
             for n in range(1, p["n_max"] + 1)]
    started = time.perf_counter()
    # one cell per worker thread on the CPU (small matrices: parallel over n, not inside each op)
    rows = transformed_weight_variance_many(cells, workers=job.threads if device.type == "cpu" else 1,
                                            chunk_elements=p["chunk_elements"], device=device)
    mc_seconds = time.perf_counter() - started
    table, theory_err = claims.fig01_table(rows)
    total = int(table["samples"].sum())
    job.extra_meta.update(samples_total=total, mc_seconds=round(mc_seconds, 3),
                          samples_per_second=round(total / mc_seconds), eq36_independent_max_rel_diff=theory_err)
    job.log(f"{total:,} samples in {mc_seconds:.2f} s = {total / mc_seconds:,.0f} samples/s")
    job.write_csv("fig01", table)
    job.save_figure("fig01", plots.fig01(table, p))
    # eq. (39): Monte Carlo at d = 1, n = n_max
    mc_d1 = transformed_weight_variance(p["n_max"], 1, max(p["min_matrices"], 100), seed=p["seed"],
                                        chunk_elements=p["chunk_elements"], device=device)
    claims.fig01_claims(table, p, mc_d1, job.claim, job.scale)


if __name__ == "__main__":
    run_job(main)
