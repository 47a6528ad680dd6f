"""Lyapunov paper: Table 1 and the Appendix D.3 lookup table (quadrature, formulas.md), a cross-check of
the quadrature against an independent formula, and the claims about He / orthogonal initialisation in
low and infinite width (rules: initlab.claims.lyapunov)."""

from initlab.claims import lyapunov as claims
from initlab.jobs import run_job
from initlab.theory import lyapunov


def main(job):
    p = job.params
    table1 = lyapunov.lookup_table(p["table1_slopes"], p["table1_widths"])
    table_d3 = lyapunov.lookup_table(p["table_d3_slopes"], p["table_d3_widths"])
    job.write_csv("table1", table1)
    job.write_csv("table_d3", table_d3)

    checked = table_d3[table_d3.width <= p["crosscheck_max_width"]]
    beta = [lyapunov.half_e_log_phi_beta(a, int(d)) for a, d in zip(checked.slope, checked.width)]
    check = claims.quadrature_crosscheck(checked.half_e_log_phi, beta, p["quadrature_tolerance"])
    quad_error = check["replicated_value"]
    job.claim(**check)
    for column in ("lambda_he", "lambda_orth"):
        job.claim(**claims.sign_low_width(table_d3, column, p["low_width_max"], quad_error))
        job.claim(**claims.zero_infinite_width(table_d3, column, p["o1d_rel_tolerance"], quad_error))


if __name__ == "__main__":
    run_job(main)
