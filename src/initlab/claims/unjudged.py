"""Claims of the inventory (spec/inventory.md, spec/sweeps.md) that no rule judges, each with the reason.

They enter the ledger as ``not-run`` rows (``initlab.ledger.merge_claims``), so the ledger lists every
claim of the papers, judged or not.  A claim leaves this table when a rule starts judging it: the merge
refuses an id that is both here and in a job's fragment."""

from __future__ import annotations

from typing import Any

from initlab.claims import row

COST_RECORD = ("a statement of the authors' compute, not a result about networks: recorded, not judged; "
               "this pipeline's own costs are in its benchmark files (benchmarks/<scale>/)")
LOST = "the number the claim depends on is lost from the paper's text (spec/sweeps.md marks it [lost])"

# (paper, claim_id, target, quote, paper_value, reason)
UNJUDGED: tuple[tuple[str, str, str, str, Any, str], ...] = (
    ("ldlt", "higgs_compute_gpu_hours", "fig06",
     "'Using 4 A6000 RTX NVIDIA ... for a cumulative of 328.637 GPU compute hours' (Sec. V-B), 300 runs",
     328.637, COST_RECORD),
    ("lyapunov", "mnist_compute_minutes_per_run", "table_mnist",
     "'The training time for a single seed and hyperparameter on an A100 GPU was around 10 minutes' "
     "(Appendix G; 4,200 runs, about 700 A100-h)", 10, COST_RECORD),
    ("lyapunov", "polynomial_compute_minutes_per_run", "table_poly",
     "'around 1 minute' per seed and hyperparameter on an A100 (Appendix H; 16,800 runs, about 280 A100-h)",
     1, COST_RECORD),
    ("lyapunov", "score_compute_minutes_per_run", "table_score",
     "'around 10 minutes' per seed and hyperparameter on an A100 (Appendix I; 3,200 runs, about 533 A100-h)",
     10, COST_RECORD),
    ("lyapunov", "mnist_train_or_above_threshold", "fig06",
     "'either the model does not train at all or scores above [lost]% on average' (Sec. 5, Figure 6)", "",
     LOST + "; fig06 shows the per-seed histograms, so the split can be read there"),
    ("lyapunov", "mnist_accuracy_ceiling", "table_mnist",
     "'it appears to be difficult to reach more than [lost]% accuracy' (Sec. 5)", "",
     LOST + "; table_mnist has the replicated accuracies"),
    ("lyapunov", "he_exponent_example", "table1",
     "'For example, when [d = lost] and [a = lost], He initialization ... has a Lyapunov exponent of [lost]' "
     "(Sec. 1)", "",
     "the width, slope and exponent are all lost from the text; table1 and table_d3 give lambda_he for "
     "every width and slope the paper tabulates"),
)


def unjudged_rows() -> list[dict[str, Any]]:
    """The ledger rows (with ``paper``) of the claims no rule judges."""
    return [{"paper": paper, **row(claim_id, f"{quote}. Not judged: {reason}", paper_value, "", None, "not-run",
                                   target=target)}
            for paper, claim_id, target, quote, paper_value, reason in UNJUDGED]
