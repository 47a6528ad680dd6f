"""Merge every job's claims fragment into the claims ledger figures/<scale>/claims.csv."""

from initlab.jobs import run_job
from initlab.ledger import merge_claims


def main(job):
    ledger = merge_claims(job.inputs["fragments"])
    job.write_csv("claims", ledger)
    job.log(f"{len(ledger)} claims: {ledger.verdict.value_counts().to_dict()}")


if __name__ == "__main__":
    run_job(main)
