"""lyapunov paper, Lemma C.21: the law of large numbers (Theorem 3.3) fails
(a) for ReLU: x_k = 0 with probability 1 - (1 - 2^-d)^k -> 1, so log||x_k||/k -> -inf almost surely, and
(b) for matrices with positive entries and a Leaky ReLU: the positive and negative cones are invariant, so
    log||x_k||/k tends to lambda_+ from a positive start and to lambda_+ + log a from a negative one, and a
    start with mixed signs reaches either limit with positive probability (bimodal).
Simulation: initlab.theory.lyapunov_mc; claims: initlab.claims.lyapunov; figure: initlab.plot.lyapunov."""


import numpy as np
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
    alive = np.stack([mc.relu_survival(d, p["relu_depth"], p["relu_networks"], gen, device) for d in p["relu_widths"]])
    width, a, depth = p["positive_width"], p["positive_slope"], p["positive_depth"]
    rates = mc.positive_entry_rates(width, a, p["positive_low"], p["positive_high"], depth, p["positive_networks"],
                                    gen, device)
    frame = plot_lyapunov.lln_fail_frame(p["relu_widths"], alive, p["relu_networks"], rates, mc.START_NAMES, a, width)
    job.write_csv("fig_lln_fail", frame)
    job.save_figure("fig_lln_fail", plot_lyapunov.fig_lln_fail(frame, a, width))

    job.claim(**claims.relu_survival(p["relu_widths"], alive, p["relu_networks"], p["alpha"]))
    job.claim(**claims.positive_cones(rates[:, 0, :], rates[:, 1, :], a, p["cone_tolerance"]))
    job.claim(**claims.mixed_start(rates, a, p["z_tolerance"], depth))


if __name__ == "__main__":
    run_job(main)
