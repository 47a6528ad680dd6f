"""initlab.claims.row: the one builder of ledger rows keeps the ledger's conventions."""

import math

import pytest

from initlab import jobs
from initlab.claims import KINDS, VERDICTS, row


def test_words_agree_with_the_ledger():
    assert VERDICTS == jobs.VERDICTS and KINDS == jobs.KINDS


def test_row_has_every_ledger_column_but_paper():
    out = row("c", "d", 1.5, 1.2, 0.01, "deviates", target="fig05", reference_value=1.25)
    assert set(out) == set(jobs.CLAIM_COLUMNS) - {"paper"}
    assert out["target"] == "fig05" and out["kind"] == "claim"


@pytest.mark.parametrize("value", [None, ""])
def test_missing_uncertainty_is_nan(value):
    assert math.isnan(row("c", "d", "", 1.0, value, "not-run", target="fig01")["uncertainty"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(uncertainty="CI [0, 1]"), "not a number"),
    (dict(verdict="inconclusive"), "allowed"),
    (dict(kind="note"), "allowed"),
    (dict(target=""), "names no target"),
])
def test_bad_rows_are_refused(kwargs, message):
    args = dict(claim_id="c", description="d", paper_value="", replicated_value=1.0, uncertainty=0.1,
                verdict="reproduced", target="fig01") | kwargs
    with pytest.raises(ValueError, match=message):
        row(**args)
