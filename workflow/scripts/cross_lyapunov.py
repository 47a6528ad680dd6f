"""Cross-paper check (claims with paper = cross): the fractional paper's top Lyapunov exponent mu_a(sigma)
(Theorems 5/11; here from the s-derivative of Theorem 7's series at s = 0) and the lyapunov paper's
lambda_gauss(sigma, a, d) (Theorem 4.1, Frullani quadrature) are the same quantity for a > 0; both are
compared with Monte Carlo over networks with full Gaussian weight matrices (initlab.claims.fractional_mc).
For ReLU (a = 0), Theorem 5's mu_0 conditions on x_k != 0: Monte Carlo conditioned on survival.
And s = 2 must give Kaiming 2/d, LeCun 1/d and He 2/((1 + a^2) d) exactly."""

import torch

from initlab.claims import fractional as C
from initlab.jobs import run_job
from initlab.claims import fractional_mc as MC


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    table = MC.cross_table(p, job.torch_device(), log=job.log)
    job.write_csv("cross_lyapunov", table)
    for row in C.cross_claims(table, p):
        job.claim(**row)


if __name__ == "__main__":
    run_job(main)
