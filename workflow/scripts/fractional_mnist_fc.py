"""Fractional paper, Fig. 5 and its table: curves and final statistics per init, and the claims.
Reads the metrics of fractional_mnist_fc_train.py."""

import pandas as pd

from initlab.claims import fractional_training as training_claims
from initlab.jobs import run_job
from initlab.plot.sweeps import fractional_fig05
from initlab.sweeps import fractional


def main(job):
    p = job.params
    metrics = pd.read_csv(job.inputs["metrics"])
    summary = fractional.curve_summary(metrics)
    job.write_csv("fig05", summary)
    job.save_figure("fig05", fractional_fig05(summary, p))
    job.write_csv("table_mnist", fractional.final_table(metrics, fractional.ordered(p["inits"]), p["paper_table"],
                                                        p["paper_accuracy_std_is_fraction"]))
    for row in training_claims.claims(metrics, p):
        job.claim(**row)


if __name__ == "__main__":
    run_job(main)
