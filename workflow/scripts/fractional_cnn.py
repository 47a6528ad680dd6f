"""Fractional paper, Fig. 7: CNN curves per dataset and init, and the claims.  Reads the metrics of
fractional_train.py (jobs cnn_<dataset>); datasets left out by exclude_datasets are not-run."""

import pandas as pd

from initlab.claims import fractional_training as training_claims
from initlab.jobs import run_job
from initlab.plot.sweeps import fractional_fig07
from initlab.sweeps import fractional


def main(job):
    p = job.params
    paths = job.inputs["metrics"]
    metrics = pd.concat([pd.read_csv(path) for path in ([paths] if isinstance(paths, str) else paths)],
                        ignore_index=True)
    summary = fractional.cnn_summary(metrics)
    job.write_csv("fig07", summary)
    job.save_figure("fig07", fractional_fig07(summary, p))
    for row in training_claims.cnn_claims(metrics, p, p["excluded_datasets"]):
        job.claim(**row)


if __name__ == "__main__":
    run_job(main)
