"""Lyapunov paper Figure 1: law of large numbers and central limit theorem for log||x_k|| (Theorems
3.3/3.4), Monte Carlo with Gaussian (He) and orthogonal (standard scaled) weights.  The CLT variable is
centred by the theory (k lambda) and scaled by s^2 fitted on an independent half of the networks
(initlab.stats.clt); claims: initlab.claims.lyapunov; figure: initlab.plot.lyapunov."""

import pandas as pd
import torch

from initlab.claims import lyapunov as claims
from initlab.jobs import run_job
from initlab.nn.limit_theorems import WEIGHT_KINDS, run_limit_theorems
from initlab.plot import lyapunov as plot_lyapunov
from initlab.stats.clt import clt_split_test, split_halves
from initlab.stats.moments import moments
from initlab.theory import lyapunov


def main(job):
    p = job.params
    device = job.torch_device()
    torch.set_num_threads(job.threads)
    generator = torch.Generator(device=device).manual_seed(p["seed"])
    depth, n = p["depth"], p["n_networks"]
    fit_idx, test_idx = split_halves(n, p["seed"])
    frames, lln, tests, variances = [], [], [], []
    for weights in WEIGHT_KINDS:
        s2_formula = lyapunov.clt_variance_gauss if weights == "gaussian" else lyapunov.clt_variance_orth
        for slope in p["slopes"]:
            for width in p["widths"]:
                r = run_limit_theorems(weights, slope, width, depth, n, generator, device)
                case = dict(weights=weights, slope=slope, width=width)
                test = clt_split_test(r.log_growth[:, -1], depth, depth * r.lambda_theory, fit_idx, test_idx)
                s2 = moments(r.clt_variable())
                lln.append(dict(case, lambda_mc=r.lambda_mc, lambda_mc_se=r.lambda_mc_stderr,
                                lambda_theory=r.lambda_theory))
                tests.append(dict(case, **test))
                variances.append(dict(case, s2_mc=s2["var"], s2_mc_se=s2["var_se"],
                                      s2_theory=s2_formula(slope, width)))
                frames.append(plot_lyapunov.fig01_frame(r, test))
                job.log(f"{weights} a={slope} d={width}: lambda mc {r.lambda_mc:.5f} +- {r.lambda_mc_stderr:.5f}, "
                        f"theory {r.lambda_theory:.5f}; s2 {s2['var']:.4f} vs {variances[-1]['s2_theory']:.4f}; "
                        f"test half: var ratio {test['var_ratio']:.3f}, KS p {test['ks_p']:.3f}")
    frame = pd.concat(frames, ignore_index=True)
    job.write_csv("fig01", frame)
    job.save_figure("fig01", plot_lyapunov.fig01(frame, depth, n))
    job.claim(**claims.lln_exponent(lln, p["z_tolerance"], depth))
    job.claim(**claims.clt_gaussian(tests, p["clt_alpha"], p["z_tolerance"], depth))
    job.claim(**claims.clt_variance(variances, p["z_tolerance"], depth))
    job.extra_meta["monte_carlo"] = {"networks_per_case": n, "depth": depth, "cases": len(lln),
                                     "clt_fit_half": len(fit_idx), "clt_test_half": len(test_idx),
                                     "clt_tests": [{k: v for k, v in t.items() if k != "z"} for t in tests]}


if __name__ == "__main__":
    run_job(main)
