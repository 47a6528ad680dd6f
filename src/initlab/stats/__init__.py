"""Statistics used by the replication: estimators and tests, tested against known distributions."""
