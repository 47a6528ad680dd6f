"""Lyapunov paper, Section 5 / Appendix G: table_mnist, fig03 and fig06 from the MNIST training
groups (lyapunov_train.py), at each method's best (lr0, weight decay) by mean final validation
accuracy; the claims."""

import pandas as pd

from initlab.claims import lyapunov_training as claims
from initlab.jobs import run_job
from initlab.plot.lyapunov_sweeps import lyapunov_fig03, lyapunov_fig06
from initlab.sweeps import lyapunov


def main(job):
    p = job.params
    metrics = pd.concat([pd.read_csv(path) for path in job.inputs["metrics"]], ignore_index=True)
    chosen = lyapunov.select_combination(metrics, "val_accuracy", higher_is_better=True)
    curves = lyapunov.mnist_curves(metrics, chosen)
    job.write_csv("fig03", curves)
    job.save_figure("fig03", lyapunov_fig03(curves, p))
    final = lyapunov.mnist_histograms(metrics, chosen)
    job.write_csv("fig06", final)
    job.save_figure("fig06", lyapunov_fig06(final, p))
    job.write_csv("table_mnist", lyapunov.mnist_table(curves, chosen, p["table_epochs"]))
    runs = lyapunov.selected_runs(metrics, chosen)
    for row in claims.mnist_claims(runs, curves, p, paper_settings=p["paper_settings"]):
        job.claim(**row)


if __name__ == "__main__":
    run_job(main)
