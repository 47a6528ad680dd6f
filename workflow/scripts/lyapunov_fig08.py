"""Lyapunov paper, Fig. 8: the selection statistic (mean of the best of K runs' final test loss) vs
K for the polynomial and the score, at each method's selected combination; whether the selection is
robust to K (claims)."""

import pandas as pd

from initlab.claims import lyapunov_training as claims
from initlab.jobs import run_job
from initlab.plot.lyapunov_sweeps import lyapunov_fig08
from initlab.sweeps import lyapunov


def main(job):
    profiles = []
    for task in ("polynomial", "score"):
        p = job.params[task]
        metrics = pd.concat([pd.read_csv(path) for path in job.inputs[task]], ignore_index=True)
        last = metrics[metrics.epoch == metrics.epoch.max()]
        chosen = lyapunov.best_of_k_selection(last, "test_loss", p["k_best"])
        profiles.append(lyapunov.best_of_k_profile(last, chosen, "test_loss", p["k_profile"]).assign(task=task))
        picks = lyapunov.best_of_k_selections(last, "test_loss", p["k_profile"])
        job.claim(**claims.k_robustness_claim(task, picks, p, paper_settings=p["paper_settings"]))
    profile = pd.concat(profiles, ignore_index=True)[["task", "method", "k", "best_of_k_mean"]]
    job.write_csv("fig08", profile)
    job.save_figure("fig08", lyapunov_fig08(profile))


if __name__ == "__main__":
    run_job(main)
