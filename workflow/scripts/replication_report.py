"""The replication report: assumptions (config values a paper forced on us), what a reduced scale
changed against the full scale, and the claims."""

from pathlib import Path

import pandas as pd

from initlab.jobs import atomic_path, run_job
from initlab.ledger import replication_report


def main(job):
    schemas = {Path(path).name.split(".")[0]: path for path in job.inputs["schemas"]}
    ledger = pd.read_csv(job.inputs["claims"], dtype=str, keep_default_na=False)
    text = replication_report(job.scale, job.params["scale"], schemas, ledger, full_params=job.params["full"])
    with atomic_path(job.output("replication_report_md")) as tmp:
        tmp.write_text(text)


if __name__ == "__main__":
    run_job(main)
