"""Lyapunov paper, Appendices H and I: the polynomial (table_poly, fig04, fig07) or score
(table_score, fig09, fig10) outputs from its training groups (lyapunov_train.py), at each method's
best combination by the mean best-of-K final test loss; the claims."""

import numpy as np
import pandas as pd

from initlab.claims import lyapunov_training as claims
from initlab.jobs import run_job
from initlab.plot import lyapunov_sweeps as figures
from initlab.sweeps import lyapunov


def main(job):
    p = job.params
    groups = [(pd.read_csv(csv), dict(np.load(npz))) for csv, npz in zip(job.inputs["metrics"], job.inputs["curves"])]
    summary = lyapunov.task_summary(groups, p)
    zero_signal = lyapunov.zero_signal_loss(p)
    shown = {**p, "zero_signal_loss": zero_signal}
    table = lyapunov.task_table(summary, p)
    if p["kind"] == "polynomial":
        job.write_csv("fig04", summary["curves"])
        job.save_figure("fig04", figures.lyapunov_fig04(summary["curves"], shown))
        job.write_csv("fig07", summary["final"])
        job.save_figure("fig07", figures.lyapunov_fig07(summary["final"], shown))
        job.write_csv("table_poly", table)
    else:
        job.write_csv("fig09", summary["short_curves"])
        job.save_figure("fig09", figures.lyapunov_fig09(summary["short_curves"], shown))
        job.write_csv("fig10", summary["curves"])
        job.save_figure("fig10", figures.lyapunov_fig10(summary["curves"], shown))
        job.write_csv("table_score", table)
    job.extra_meta["selected"] = summary["chosen"].to_dict(orient="records")
    job.extra_meta["zero_signal_loss"] = zero_signal
    for row in claims.task_claims(summary, table, p, zero_signal, paper_settings=p["paper_settings"]):
        job.claim(**row)


if __name__ == "__main__":
    run_job(main)
