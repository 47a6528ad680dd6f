"""The papers' training experiments on the sweep engine (initlab.train): which runs form a group,
their data, the summaries and the claim rules of each experiment."""

from typing import Any


def claim(claim_id: str, description: str, paper_value: Any, replicated: Any, uncertainty: Any,
          verdict: str) -> dict[str, Any]:
    """One claims-ledger row (``initlab.jobs.Job.claim``'s arguments)."""
    return {"claim_id": claim_id, "description": description, "paper_value": paper_value,
            "replicated_value": replicated, "uncertainty": uncertainty, "verdict": verdict}
