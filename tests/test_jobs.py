"""The rule/script contract: atomic outputs, provenance sidecars, claims, cleanup on failure."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from initlab.jobs import CLAIM_COLUMNS, Job, atomic_path, remove_stale_temporaries, run_job
from initlab.ledger import assumptions, merge_claims, reduced, replication_report


def _spec(tmp_path, **extra):
    outputs = {"t_csv": str(tmp_path / "t.csv"), "t_meta": str(tmp_path / "t.meta.json"),
               "claims": str(tmp_path / "claims.csv")}
    return json.dumps({"paper": "lyapunov", "name": "t", "scale": "smoke",
                       "params": {"seed": 3, "inner": {"data_seed": 4}, "n": 2}, "outputs": outputs, **extra})


def test_job_writes_outputs_claims_and_provenance(tmp_path):
    def main(job):
        job.write_csv("t", pd.DataFrame({"x": [1, 2]}))
        job.claim("c1", "desc", "0.41", "0.40", "0.01", "reproduced")

    run_job(main, ["--job", _spec(tmp_path)])
    meta = json.loads((tmp_path / "t.meta.json").read_text())
    assert meta["scale"] == "smoke" and meta["params"]["n"] == 2
    assert meta["seeds"] == {"seed": 3, "inner.data_seed": 4}
    for key in ("git_commit", "git_dirty", "python", "versions", "device", "wall_time_s", "created_utc"):
        assert key in meta
    assert {"torch", "numpy", "scipy", "snakemake"} <= set(meta["versions"])
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert list(claims.claim_id) == ["c1"] and claims.paper[0] == "lyapunov"


def test_provenance_is_the_code_at_the_start_of_the_job(tmp_path, monkeypatch):
    # two calls per provenance(): the working tree's, the imported package's
    commits = iter(["commit-at-start", "package-at-start", "commit-made-while-running", "package-later"])
    monkeypatch.setattr("initlab.jobs._git_state",
                        lambda cwd, only_here=False: {"git_commit": next(commits), "git_dirty": False})

    def main(job):
        from initlab.jobs import provenance
        provenance()  # someone commits while the job runs
        job.write_csv("t", pd.DataFrame({"x": [1]}))

    run_job(main, ["--job", _spec(tmp_path)])
    assert json.loads((tmp_path / "t.meta.json").read_text())["git_commit"] == "commit-at-start"


def test_meta_names_rule_target_and_the_imported_package(tmp_path):
    def main(job):
        job.write_csv("t", pd.DataFrame({"x": [1]}))

    run_job(main, ["--job", _spec(tmp_path), "--rule", "lyapunov_t"])
    meta = json.loads((tmp_path / "t.meta.json").read_text())
    assert meta["rule"] == "lyapunov_t"
    import initlab
    from initlab.fingerprint import code_fingerprint
    assert meta["package"]["path"] == str(Path(initlab.__file__).resolve().parent)
    assert meta["package"]["source_fingerprint"] == code_fingerprint()
    assert meta["package"]["matches_working_tree"] is True and "code_warning" not in meta  # tests run in the repo
    assert len(meta["workflow_scripts_fingerprint"]) == 16


def test_meta_says_when_the_imported_package_is_not_the_working_tree(tmp_path, monkeypatch):
    from initlab.jobs import provenance
    other = tmp_path / "clone"
    (other / "src" / "initlab").mkdir(parents=True)
    (other / "src" / "initlab" / "__init__.py").write_text("# another clone's code\n")
    monkeypatch.chdir(other)
    facts = provenance()
    assert facts["package"]["matches_working_tree"] is False
    assert "differs from this working tree" in facts["code_warning"]
    (other / "src" / "initlab").rename(other / "src" / "moved")  # a tree without the package: nothing to compare
    assert provenance()["package"]["matches_working_tree"] is None


@pytest.mark.parametrize("meta, target", [
    ("figures/smoke/decay/fig01.meta.json", "decay/fig01"),
    ("results/full/decay/covtype/aol_d5_zero.meta.json", "decay/covtype/aol_d5_zero"),
    ("/abs/clone/results/quick/ldlt/higgs/d5_sgd.meta.json", "ldlt/higgs/d5_sgd"),
])
def test_output_target_is_the_path_below_the_scale(meta, target):
    from initlab.jobs import output_target
    assert output_target(meta) == target


def test_failed_job_leaves_nothing_behind(tmp_path):
    def main(job):
        job.write_csv("t", pd.DataFrame({"x": [1]}))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_job(main, ["--job", _spec(tmp_path)])
    assert not list(tmp_path.iterdir())


def test_job_that_forgets_an_output_fails(tmp_path):
    with pytest.raises(RuntimeError, match="did not write outputs"):
        run_job(lambda job: None, ["--job", _spec(tmp_path)])
    assert not (tmp_path / "t.meta.json").exists()


def test_bad_verdict_is_rejected(tmp_path):
    job = Job(**json.loads(_spec(tmp_path)))
    with pytest.raises(ValueError, match="verdict"):
        job.claim("c", "d", 1, 1, 0, "probably")


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("good")
    with pytest.raises(ZeroDivisionError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            1 / 0
    assert target.read_text() == "good"
    assert list(tmp_path.iterdir()) == [target]


def test_merge_claims_checks_duplicates_and_verdicts(tmp_path):
    header = "paper,claim_id,description,paper_value,replicated_value,uncertainty,verdict\n"
    (tmp_path / "a.csv").write_text(header + "p,c1,d,1,1,0,reproduced\n")
    (tmp_path / "b.csv").write_text(header + "p,c2,d,1,2,0,deviates\n")
    assert list(merge_claims([tmp_path / "a.csv", tmp_path / "b.csv"]).claim_id) == ["c1", "c2"]
    with pytest.raises(ValueError, match="duplicate"):
        merge_claims([tmp_path / "a.csv", tmp_path / "a.csv"])
    (tmp_path / "c.csv").write_text(header + "p,c3,d,1,2,0,maybe\n")
    with pytest.raises(ValueError, match="verdicts"):
        merge_claims([tmp_path / "c.csv"])


def test_assumptions_are_collected_from_schema():
    schema = {"properties": {"job": {"type": "object", "properties": {
        "depth": {"type": "integer", "x-assumption": "lost in extraction"}, "n": {"type": "integer"}}}}}
    found = assumptions(schema, {"job": {"depth": 7, "n": 1}})
    assert found == [{"key": "job.depth", "value": 7, "why": "lost in extraction", "description": ""}]


def test_excluded_targets_become_not_run_rows(tmp_path):
    # a fragment written before the ledger had target, reference_value and kind still merges
    (tmp_path / "a.csv").write_text(",".join(CLAIM_COLUMNS[:7]) + "\nfractional,c1,d,1,1,0,reproduced\n")
    ledger = merge_claims([tmp_path / "a.csv"], [{"paper": "fractional", "target": "fig07", "datasets": ["cifar10"]}])
    row = ledger[ledger.claim_id == "fig07_not_built"].iloc[0]
    assert row.verdict == "not-run" and "cifar10" in row.description and "exclude_datasets" in row.description
    assert row.target == "fig07" and row.kind == "claim"
    assert len(ledger) == 2 and list(ledger.columns) == list(CLAIM_COLUMNS)


def test_claim_target_kind_and_reference_value(tmp_path):
    def main(job):
        job.write_csv("t", pd.DataFrame({"x": [1]}))
        job.claim("c1", "holds", "0.5", "0.49", "0.01", "reproduced", reference_value="0.5")
        job.claim("c2", "exact on both sides", "", "1", "0", "reproduced", kind="consistency", target="table1")
        with pytest.raises(ValueError, match="kind 'check'"):
            job.claim("c3", "d", "", "", "", "reproduced", kind="check")

    run_job(main, ["--job", _spec(tmp_path)])
    claims = pd.read_csv(tmp_path / "claims.csv", dtype=str, keep_default_na=False)
    assert list(claims.columns) == list(CLAIM_COLUMNS)
    assert list(claims.target) == ["t", "table1"] and list(claims.kind) == ["claim", "consistency"]
    assert claims.reference_value[0] == "0.5"
    ledger = merge_claims([tmp_path / "claims.csv"])
    schema = tmp_path / "s.json"
    schema.write_text('{"properties": {}}')
    report = replication_report("smoke", {"lyapunov": {}}, {"lyapunov": schema}, ledger)
    assert "not counted: 1 of them" in report
    assert "| lyapunov | 1 |" in report  # one reproduced claim counted; the consistency check is not


def test_the_report_lists_what_a_reduced_scale_changed(tmp_path):
    full = {"higgs": {"width": 512, "depths": [5, 10], "lr": 1e-3, "claims": {"alpha": 0.05}}}
    quick = {"higgs": {"width": 64, "depths": [5, 10], "lr": 1e-3, "claims": {"alpha": 0.1}}}
    assert reduced(quick, full) == [{"key": "higgs.width", "value": 64, "full": 512},
                                    {"key": "higgs.claims.alpha", "value": 0.1, "full": 0.05}]
    assert reduced(full, full) == []
    schema = tmp_path / "ldlt.schema.json"
    schema.write_text('{"properties": {}}')
    ledger = pd.DataFrame(columns=["paper", "claim_id", "verdict", "paper_value", "replicated_value", "uncertainty"])
    text = replication_report("quick", {"ldlt": quick}, {"ldlt": schema}, ledger, full_params={"ldlt": full})
    assert "## Reduced at the quick scale" in text and "| ldlt | `ldlt.higgs.width` | `64` | `512` |" in text
    assert "Reduced" not in replication_report("full", {"ldlt": full}, {"ldlt": schema}, ledger, full_params={"ldlt": full})


@pytest.mark.parametrize("signum, exception", [(signal.SIGTERM, "SystemExit: 143"), (signal.SIGINT, "KeyboardInterrupt")])
def test_an_interrupted_job_keeps_its_traceback_in_its_log(tmp_path, signum, exception):
    script = tmp_path / "slow_job.py"
    script.write_text("import time\nfrom initlab.jobs import run_job\n\n"
                      "def main(job):\n    print('working', flush=True)\n    time.sleep(60)\n\n"
                      "if __name__ == '__main__':\n    run_job(main)\n")
    log = tmp_path / "logs" / "job.log"
    process = subprocess.Popen([sys.executable, str(script), "--job", _spec(tmp_path), "--log", str(log)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while "working" not in (log.read_text() if log.exists() else "") and time.time() < deadline:
        time.sleep(0.1)
    process.send_signal(signum)
    process.communicate(timeout=60)
    assert process.returncode != 0
    text = log.read_text()
    assert "working" in text and "Traceback" in text and exception in text, text


def test_stale_temporaries_of_killed_processes_are_removed(tmp_path):
    output = tmp_path / "t.csv"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale, live = tmp_path / f".t.csv.tmp-{dead}", tmp_path / f".t.csv.tmp-{os.getpid()}"
    stale.write_text("half")
    live.write_text("being written")
    assert remove_stale_temporaries([output]) == [stale]
    assert live.exists() and not stale.exists()


def test_meta_names_the_script_that_made_it(tmp_path):
    script = tmp_path / "quick_job.py"
    script.write_text("import pandas as pd\nfrom initlab.jobs import run_job\n\n"
                      "def main(job):\n    job.write_csv('t', pd.DataFrame({'x': [1]}))\n\n"
                      "if __name__ == '__main__':\n    run_job(main)\n")
    subprocess.run([sys.executable, str(script), "--job", _spec(tmp_path), "--log", str(tmp_path / "job.log")],
                   check=True, capture_output=True, timeout=120)
    meta = json.loads((tmp_path / "t.meta.json").read_text())
    assert meta["script"]["sha256"] == hashlib.sha256(script.read_bytes()).hexdigest()
    assert "done" in (tmp_path / "job.log").read_text()


def test_logged_keeps_the_traceback_of_an_interrupt(tmp_path):
    """The data scripts and run_job write their log in Python: Ctrl-C's traceback reaches it."""
    from initlab.jobs import logged

    log = tmp_path / "logs" / "x.log"
    with pytest.raises(KeyboardInterrupt):
        with logged(str(log)):
            print("working")
            raise KeyboardInterrupt
    text = log.read_text()
    assert "working" in text and "Traceback" in text and "KeyboardInterrupt" in text


def test_unjudged_claims_are_not_run_rows_and_leave_when_judged(tmp_path):
    from initlab.claims.unjudged import UNJUDGED, unjudged_rows

    header = ",".join(CLAIM_COLUMNS[:7]) + "\n"
    (tmp_path / "a.csv").write_text(header + "lyapunov,c1,d,1,1,0,reproduced\n")
    ledger = merge_claims([tmp_path / "a.csv"], unjudged=unjudged_rows())
    unjudged = ledger[ledger.claim_id != "c1"]
    assert len(unjudged) == len(UNJUDGED) and set(unjudged.verdict) == {"not-run"}
    assert all(unjudged.target.str.fullmatch(r"(fig|table)\w+")) and set(unjudged.uncertainty) == {""}
    assert all("Not judged:" in d for d in unjudged.description)
    # a rule that starts judging one of them collides with its unjudged row: the table must lose it
    paper, claim_id = UNJUDGED[0][:2]
    (tmp_path / "b.csv").write_text(header + f"{paper},{claim_id},d,1,1,0,reproduced\n")
    with pytest.raises(ValueError, match=f"duplicate claim ids.*{claim_id}"):
        merge_claims([tmp_path / "b.csv"], unjudged=unjudged_rows())


def test_nan_values_are_empty_fields_in_the_fragment(tmp_path):
    def main(job):
        job.write_csv("t", pd.DataFrame({"x": [1]}))
        job.claim("c1", "nothing measured", float("nan"), float("nan"), float("nan"), "not-run",
                  reference_value=float("nan"))

    run_job(main, ["--job", _spec(tmp_path)])
    claims = pd.read_csv(tmp_path / "claims.csv", dtype=str, keep_default_na=False)
    assert claims.loc[0, ["paper_value", "replicated_value", "uncertainty", "reference_value"]].tolist() == [""] * 4
