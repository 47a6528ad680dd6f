"""ldlt paper, Sec. V and Appendices B-D: fig06-fig17 of the HIGGS sweep and its claims, from every
training group's metrics (initlab.sweeps.ldlt; figures: initlab.plot.ldlt_sweeps; claim rules:
initlab.claims.ldlt_higgs)."""

import pandas as pd

from initlab.claims.ldlt_higgs import higgs_claims
from initlab.data import load_higgs_split
from initlab.jobs import run_job
from initlab.plot import ldlt_sweeps


def main(job):
    metrics = pd.concat([pd.read_csv(f) for f in job.inputs["metrics"]], ignore_index=True)
    features = pd.concat([pd.read_csv(f) for f in job.inputs["features"]], ignore_index=True)
    job.log(f"{metrics.member.nunique()} runs per group, {len(metrics):,} metric rows, {len(features):,} feature rows")
    split = load_higgs_split(job.inputs["higgs"])["meta"]
    job.extra_meta["data"] = {"source": split["source"], "source_sha256": split["source_sha256"],
                              "n_train": split["n_train"], "n_test": split["n_test"]}
    job.extra_meta["sweep"] = {k: job.params[k] for k in ("width", "depths", "scales", "folds", "epochs", "ldlt_form")}
    for number in range(6, 18):
        name = f"fig{number:02d}"
        if name == "fig15":
            fig, table = ldlt_sweeps.fig15(features)
        elif name == "fig13":
            fig, table = ldlt_sweeps.fig13(metrics, seed=job.params["seed"])
        else:
            fig, table = getattr(ldlt_sweeps, name)(metrics)
        job.write_csv(name, table)
        job.save_figure(name, fig)
    for row in higgs_claims(metrics, features, job.params["claims"]):
        job.claim(**row)


if __name__ == "__main__":
    run_job(main)
