"""ldlt claims: Lemma III.1 (M = gamma W (alpha I + W^T W)^(-1/2)) and Lemma III.2 (Cholesky form)
give ||M||_2 <= gamma, checked on random W of random shape and scale."""

import torch

from initlab.jobs import run_job
from initlab.nn import ldlt


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    alpha, gamma = p["alpha"], p["gamma"]
    norms = ldlt.random_spectral_norms(p["trials"], p["max_dim"], p["log10_scale_range"], alpha, gamma, p["seed"])
    tol = 1e-10 * gamma  # float64 round-off
    for key, claim_id, description in (
        ("inverse_sqrt", "lemma_iii1_norm_bound",
         "Lemma III.1: M = gamma W (alpha I + W^T W)^(-1/2) has ||M||_2 <= gamma (eigh inverse square root)"),
        ("cholesky_upper", "lemma_iii2_norm_bound_corrected",
         "Lemma III.2 with the factor that makes it true: M = gamma W R^(-1), R^T R = alpha I + W^T W "
         "(upper Cholesky factor; the form implemented in initlab.nn.ldlt)"),
        ("cholesky_as_printed", "lemma_iii2_norm_bound_as_printed",
         "Lemma III.2 as printed: M = gamma W R^(-1) with R R^T = alpha I + W^T W (lower Cholesky factor, "
         "torch.linalg.cholesky); then M M^T = gamma^2 W R^(-1) R^(-T) W^T, not gamma^2 W (R R^T)^(-1) W^T"),
    ):
        worst = float(norms[key].max())
        violations = int((norms[key] > gamma + tol).sum())
        job.claim(claim_id, description, f"||M||_2 <= gamma = {gamma:g}",
                  f"max ||M||_2 = {worst:.6g} over {p['trials']} random W; {violations} exceed gamma",
                  "exact linear algebra (float64)", "reproduced" if violations == 0 else "deviates")


if __name__ == "__main__":
    run_job(main)
