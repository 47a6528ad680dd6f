"""Merge every job's claims fragment into the claims ledger figures/<scale>/claims.csv, with a
not-run row for every target left out because it needs an excluded dataset and for every claim of the
inventory that no rule judges (initlab.claims.unjudged)."""

from initlab.claims.unjudged import unjudged_rows
from initlab.jobs import run_job
from initlab.ledger import merge_claims


def main(job):
    ledger = merge_claims(job.inputs["fragments"], job.params["excluded_targets"], unjudged_rows())
    job.write_csv("claims", ledger)
    job.log(f"{len(ledger)} claims: {ledger.verdict.value_counts().to_dict()}")


if __name__ == "__main__":
    run_job(main)
