"""The claims ledger and the replication report (across papers)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from initlab.jobs import CLAIM_COLUMNS, KINDS, VERDICTS

# columns added to the ledger after its first seven; a fragment written before them gets these
ADDED_COLUMNS = {"target": "", "reference_value": "", "kind": "claim"}


def excluded_rows(excluded_targets: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One not-run row per target that was not built because it needs a dataset this run leaves out
    (``{"paper", "target", "datasets"}`` each, from the workflow, with the ``reason`` when known)."""
    rows = [{"paper": t["paper"], "claim_id": f"{t['target']}_not_built",
             "description": f"{t['target']} not built: it needs {', '.join(t['datasets'])}, which "
                            + (f"this run leaves out ({t['reason']})" if t.get("reason") else
                               "config exclude_datasets leaves out") + "; its claims are not checked",
             "paper_value": "", "replicated_value": "", "uncertainty": "", "verdict": "not-run",
             "target": t["target"], "reference_value": "", "kind": "claim"}
            for t in excluded_targets]
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def _csv_text(value: Any) -> str:
    """A value as a fragment read back from CSV holds it (NaN is the empty field)."""
    return "" if isinstance(value, float) and math.isnan(value) else str(value)


def merge_claims(paths: Iterable[str | Path], excluded_targets: Iterable[dict[str, Any]] = (),
                 unjudged: Iterable[dict[str, Any]] = ()) -> pd.DataFrame:
    """Concatenate the per-job claims fragments, checking columns, verdicts and unique ids, and add
    the not-run rows of ``excluded_targets`` (``excluded_rows``) and of ``unjudged``, the claims no
    rule judges (``initlab.claims.unjudged.unjudged_rows``: with them the ledger lists every claim of
    the inventory).  A claim both unjudged and in a fragment is a duplicate id, refused."""
    frames = [excluded_rows(excluded_targets),
              pd.DataFrame(list(unjudged), columns=CLAIM_COLUMNS).map(_csv_text)]
    for path in paths:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = frame.assign(**{k: v for k, v in ADDED_COLUMNS.items() if k not in frame.columns})
        if tuple(frame.columns) != CLAIM_COLUMNS:
            raise ValueError(f"{path}: claims columns {list(frame.columns)}, expected {list(CLAIM_COLUMNS)}")
        bad = sorted(set(frame.verdict) - set(VERDICTS))
        if bad:
            raise ValueError(f"{path}: verdicts {bad} not in {VERDICTS}")
        bad = sorted(set(frame.kind) - set(KINDS))
        if bad:
            raise ValueError(f"{path}: kinds {bad} not in {KINDS}")
        frames.append(frame)
    ledger = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CLAIM_COLUMNS)
    duplicated = ledger[ledger.duplicated(["paper", "claim_id"], keep=False)]
    if not duplicated.empty:
        raise ValueError(f"duplicate claim ids: {sorted(set(zip(duplicated.paper, duplicated.claim_id)))}")
    return ledger.sort_values(["paper", "claim_id"], kind="stable").reset_index(drop=True)


def assumptions(schema: dict[str, Any], params: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Every schema property marked ``x-assumption``, with its resolved value."""
    found = []
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        value = params.get(name) if isinstance(params, dict) else None
        if "x-assumption" in prop:
            found.append({"key": path, "value": value, "why": prop["x-assumption"],
                          "description": prop.get("description", "")})
        if prop.get("type") == "object" or "properties" in prop:
            found += assumptions(prop, value if isinstance(value, dict) else {}, path)
    return found


def reduced(params: Any, full: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Every config value (a leaf, or a whole list) that differs from the full scale's: what a
    reduced scale changed."""
    if isinstance(params, dict) and isinstance(full, dict):
        return [row for key in params for row in reduced(params[key], full.get(key), f"{prefix}.{key}" if prefix else key)]
    return [] if params == full else [{"key": prefix, "value": params, "full": full}]


def smoke_datasets_markdown() -> str:
    """What the smoke scale reads in place of each dataset (the fixtures shipped in fixtures/datasets)
    and which datasets it leaves out, from the registry."""
    from initlab.data.registry import _raw, smoke_unavailable

    fixtures = _raw()["smoke_fixtures"]["files"]
    rows = ["The smoke scale reads small real cuts of the datasets shipped in the repository "
            "(`fixtures/datasets`, see its README for how they were drawn); they test the pipeline and "
            "are never a replication result.", "", "| dataset file | read at the smoke scale |", "|---|---|"]
    rows += [f"| `{real}` | `{fixture}` |" for real, fixture in sorted(fixtures.items())]
    rows += [f"| {name} | left out: {why} |" for name, why in sorted(smoke_unavailable().items())]
    return "\n".join(rows)


def replication_report(scale: str, params: dict[str, dict[str, Any]], schema_paths: dict[str, Path],
                       ledger: pd.DataFrame, full_params: dict[str, dict[str, Any]] | None = None) -> str:
    """Markdown: the assumptions each paper forced on us, what this scale reduced against the full
    scale (``full_params``: the full scale's parameters), and the claims ledger with verdict counts."""
    lines = [f"# Replication report ({scale} scale)", "",
             "Generated by the pipeline; every value below comes from `config/` and the claims ledger "
             f"`figures/{scale}/claims.csv`.", "", "## Assumptions", "",
             "Values a paper did not state (or that were lost from its text), as configured for this run.", "",
             "| paper | config key | value | why |", "|---|---|---|---|"]
    for paper in sorted(params):
        schema = json.loads(Path(schema_paths[paper]).read_text())
        for item in assumptions(schema, params[paper]):
            value = json.dumps(item["value"])
            lines.append(f"| {paper} | `{paper}.{item['key']}` | `{value}` | {item['why']} |")
    if full_params is not None and scale != "full":
        lines += ["", f"## Reduced at the {scale} scale", "",
                  "Every setting that differs from the full scale (the papers' settings where they are stated).", "",
                  "| paper | config key | this scale | full scale |", "|---|---|---|---|"]
        for paper in sorted(params):
            for item in reduced(params[paper], full_params.get(paper, {})):
                lines.append(f"| {paper} | `{paper}.{item['key']}` | `{json.dumps(item['value'])}` | "
                             f"`{json.dumps(item['full'])}` |")
    if scale == "smoke":
        lines += ["", "## Datasets at the smoke scale", "", smoke_datasets_markdown()]
    lines += ["", "## Claims", ""]
    claims = ledger[ledger.kind == "claim"] if len(ledger) else ledger
    counts = claims.groupby(["paper", "verdict"]).size().unstack(fill_value=0) if len(claims) else None
    if counts is not None:
        checks = int((ledger.kind == "consistency").sum())
        lines += ["Verdicts of the claims (consistency checks, whose two sides are exact or which cannot "
                  f"fail, are listed below but not counted: {checks} of them).", "",
                  "| paper | " + " | ".join(counts.columns) + " |",
                  "|---|" + "---|" * len(counts.columns)]
        lines += [f"| {paper} | " + " | ".join(str(v) for v in row) + " |" for paper, row in counts.iterrows()]
        lines += ["", "| paper | target | claim | kind | verdict | paper's value | reference | replicated | uncertainty |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in ledger.itertuples():
            cells = [row.paper, row.target, row.claim_id, row.kind, row.verdict, row.paper_value, row.reference_value,
                     row.replicated_value, row.uncertainty]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
