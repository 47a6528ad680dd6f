"""Fractional paper, Fig. 6: tail index of the gradient noise over epochs, and its claim.  Reads the
metrics of fractional_train.py (job tail_index)."""

import pandas as pd

from initlab.claims import fractional_training as training_claims
from initlab.jobs import run_job
from initlab.plot.sweeps import fractional_fig06
from initlab.sweeps import fractional


def main(job):
    p = job.params
    metrics = pd.read_csv(job.inputs["metrics"])
    summary = fractional.tail_index_summary(metrics)
    job.write_csv("fig06", summary)
    job.save_figure("fig06", fractional_fig06(metrics, summary, p))
    for row in training_claims.tail_index_claims(metrics, p):
        job.claim(**row)


if __name__ == "__main__":
    run_job(main)
