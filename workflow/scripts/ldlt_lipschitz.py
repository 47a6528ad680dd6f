"""ldlt claims: Lemma III.1 (M = gamma W (alpha I + W^T W)^(-1/2)) and Lemma III.2 (Cholesky form)
give ||M||_2 <= gamma, checked on random W of random shape and scale (rules: initlab.claims.ldlt)."""

import torch

from initlab.claims import ldlt as claims
from initlab.jobs import run_job
from initlab.nn import ldlt


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    norms = ldlt.random_spectral_norms(p["trials"], p["max_dim"], p["log10_scale_range"], p["alpha"], p["gamma"],
                                       p["seed"])
    for claim in claims.lipschitz_claims(norms, p["gamma"], p["roundoff_rtol"]):
        job.claim(**claim)


if __name__ == "__main__":
    run_job(main)
