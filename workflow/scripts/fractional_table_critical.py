"""fractional table_critical: sigma_bar_a(s, d) by eq. (3.2) (a = 0) and Theorem 7's series (a > 0),
with the expansions of Corollaries 4 and 10; Monte Carlo confirmation (full Gaussian weight matrices)
that sigma_bar preserves E||x_k||^s over many layers; Remark 13's dropout threshold by Monte Carlo
(initlab.claims.fractional_mc)."""

import torch

from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.theory import fractional as F
from initlab.claims import fractional_mc as MC


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    table = F.critical_table(p["slopes"], p["moments"], p["widths"])
    job.write_csv("table_critical", table)
    job.log(f"table_critical: {len(table)} rows; max truncation bound {table['truncation_bound'].max():.1e}")
    rows = C.table_critical_theory_claims(table, p)
    rows += C.moment_preservation_claims(MC.moment_preservation(p, device, log=job.log), p)
    rows.append(C.remark13_claim(MC.dropout_residuals(p, device, log=job.log), p))
    for row in rows:
        job.claim(**row)
    job.extra_meta["moment_mc_networks"] = p["mc_networks"]


if __name__ == "__main__":
    run_job(main)
