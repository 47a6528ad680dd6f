"""The claim rules of each paper (``initlab.claims.<paper>``): pure functions from measured tables to
ledger rows (``initlab.jobs.Job.claim`` arguments), each unit-tested where it must say
``reproduced`` and where it must say ``deviates``.  Statistics they use live in ``initlab.stats``.

Every rule builds its row with ``row``, which holds the ledger's conventions in one place."""

from __future__ import annotations

import math
from typing import Any

# The ledger's words (initlab.jobs.VERDICTS / KINDS; restated so this package stays import-light;
# tests/test_claims_row.py checks they agree).
VERDICTS = ("reproduced", "deviates", "not-run")
KINDS = ("claim", "consistency")


def row(claim_id: str, description: str, paper_value: Any, replicated_value: Any, uncertainty: Any,
        verdict: str, *, target: str, reference_value: Any = "", kind: str = "claim") -> dict[str, Any]:
    """One claims-ledger row (keyword arguments of ``initlab.jobs.Job.claim``).

    ``paper_value`` holds only what the paper prints (a number, or "" when it prints none);
    ``reference_value`` a value computed from the paper's formulas; ``uncertainty`` is one number
    (NaN when there is none; what it measures belongs in ``description``); ``target`` is the
    inventory id the claim belongs to (fig14, table_poly, ...; comma-separated when several)."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} for claim {claim_id!r}; allowed: {VERDICTS}")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} for claim {claim_id!r}; allowed: {KINDS}")
    if not target:
        raise ValueError(f"claim {claim_id!r} names no target (the inventory id it belongs to)")
    try:
        uncertainty = math.nan if uncertainty is None or uncertainty == "" else float(uncertainty)
    except (TypeError, ValueError):
        raise ValueError(f"uncertainty {uncertainty!r} of claim {claim_id!r} is not a number; put the text in "
                         "the description and a number (or NaN) here") from None
    return {"claim_id": claim_id, "description": description, "paper_value": paper_value,
            "replicated_value": replicated_value, "uncertainty": uncertainty, "verdict": verdict,
            "target": target, "reference_value": reference_value, "kind": kind}
