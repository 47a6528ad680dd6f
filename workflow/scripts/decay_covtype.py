"""Decay paper section 6, Figures 9-11: Covertype training curves of AOL/SLL nets (bias zero / set)
and the plain feed-forward baseline, success rates by the paper's 1 % rule and the authors'
absolute rule, and the claims.  Reads the per-group metrics tables of decay_covtype_train.py."""

import json

import pandas as pd

from initlab.plot import decay as plots
from initlab.claims import decay as claims
from initlab.jobs import run_job
from initlab.train.metrics import curve_summary, rate_summary, success_table

KEYS = ["model", "depth", "bias"]


def main(job):
    p = job.params
    metrics = pd.concat([pd.read_csv(path) for path in job.inputs["metrics"]], ignore_index=True)
    times = {}
    for path in job.inputs["metas"]:
        meta = json.loads(open(path).read())
        times[meta["group"]] = {k: meta.get(k) for k in ("train_seconds_this_process", "examples_per_s",
                                                         "resumed_from_epoch", "device", "seeds_diverged")}
    job.extra_meta["groups"] = times
    job.extra_meta["train_seconds_total"] = sum((t["train_seconds_this_process"] or 0) for t in times.values())
    job.log(f"{metrics['group'].nunique()} run groups, total training time "
            f"{job.extra_meta['train_seconds_total']:.0f} s")

    job.write_csv("fig09", metrics)
    job.save_figure("fig09", plots.fig09(metrics, p))
    summary = curve_summary(metrics, KEYS)
    job.write_csv("fig10", summary)
    job.save_figure("fig10", plots.fig10(summary, p))
    success = success_table(metrics, KEYS, p["success_from_epoch"], p["success_rel_drop"],
                            p["success_abs_index"], p["success_abs_change"])
    rates = rate_summary(success, KEYS)
    job.write_csv("fig11", rates)
    job.save_figure("fig11", plots.fig11(rates, p))
    for claim in claims.covtype_claims(success, rates, p):
        job.claim(**claim)


if __name__ == "__main__":
    run_job(main)
