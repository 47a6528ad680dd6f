"""lyapunov paper, Appendix E: the central limit theorem (Theorem 3.4) fails for tanh networks.

tanh is not positively homogeneous: small states evolve like the linear network (slope 1), large ones
saturate (||x|| <= sqrt(d)). At the scale sigma_c = exp(-J(d)) where the linear network's exponent is 0
(its Lyapunov initialisation), log||x_k|| is a driftless random walk pushed back from above: log||x_k||/sqrt(k)
approaches a negative half-normal, not a Gaussian (our heuristic, plotted for comparison). Above sigma_c
log||x_k|| stays bounded, so Var(log||x_k||)/k -> 0: no non-degenerate Gaussian limit either. The linear
network at sigma_c (Leaky ReLU with a = 1, where Theorem 3.4 holds) is the reference.
Simulation: initlab.theory.lyapunov_mc; claims: initlab.claims.lyapunov; figure: initlab.plot.lyapunov."""

import torch

from initlab.claims import lyapunov as claims
from initlab.jobs import run_job
from initlab.plot import lyapunov as plot_lyapunov
from initlab.theory import lyapunov_mc as mc


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    gen = torch.Generator(device=device).manual_seed(p["seed"])
    d, depth, n = p["width"], p["depth"], p["n_networks"]
    sigma_c, runs = mc.tanh_log_norms(d, depth, n, p["sigma_multiples"], gen, device)
    frame = plot_lyapunov.tanh_frame(runs, sigma_c, d, depth)
    job.write_csv("fig_tanh_clt", frame)
    job.save_figure("fig_tanh_clt", plot_lyapunov.fig_tanh_clt(frame, d, n, sigma_c))

    critical = runs["tanh, sigma=1 sigma_c"][1]
    job.claim(**claims.tanh_skewness(critical[:, depth], runs["linear"][1][:, depth], p["z_tolerance"], depth,
                                     seed=p["seed"]))
    m_top = max(p["sigma_multiples"])
    job.claim(**claims.tanh_degenerate(runs[f"tanh, sigma={m_top:g} sigma_c"][1], max(10, depth // 10), m_top,
                                       p["z_tolerance"]))


if __name__ == "__main__":
    run_job(main)
