"""ldlt table_wick: exact coefficients C^(k)_{a,b} of E tr(S^k) = sigma^(2k) sum C n^a m^b, k = 1..k_max,
with the paper's eqs. (10)-(11) and its brute-force Wick enumeration as checks (initlab.claims.ldlt)."""

import time

import pandas as pd

from initlab.claims import ldlt as claims
from initlab.jobs import run_job
from initlab.theory import wick


def main(job):
    p = job.params
    seconds, rows = {}, []
    start = time.perf_counter()
    for k in range(1, p["k_max"] + 1):
        rows.extend(wick.order_rows(k))
        seconds[k] = time.perf_counter() - start
    timing = f"k <= {p['k_max']} in {seconds[p['k_max']]:.2f} s, k <= 10 in {seconds[min(10, p['k_max'])]:.4f} s"
    job.log(f"table: {timing}")
    # exact Python ints; pandas keeps them as int64 where they fit and as objects beyond
    job.write_csv("table_wick", pd.DataFrame(rows, columns=["k", "n_power", "m_power", "coefficient"]))
    job.extra_meta["cumulative_seconds_by_k"] = {k: round(s, 4) for k, s in seconds.items()}
    job.extra_meta["method"] = "zonal/Jack-polynomial closed forms (src/initlab/theory/wick.py), exact integers"
    by_k = wick.coefficients_from_rows(rows)
    printed = {k: (p[key], wick.polynomial_from_expression(p[key]))
               for k, key in ((1, "paper_eq10"), (2, "paper_eq11"))}
    bf_start = time.perf_counter()
    bruteforce = {k: wick.wick_coefficients_bruteforce(k) for k in range(1, min(p["bruteforce_k_max"], p["k_max"]) + 1)}
    job.extra_meta["bruteforce_seconds"] = round(time.perf_counter() - bf_start, 3)
    for claim in claims.wick_claims(by_k, printed, bruteforce, timing):
        job.claim(**claim)


if __name__ == "__main__":
    run_job(main)
