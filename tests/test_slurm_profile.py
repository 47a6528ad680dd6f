"""The SLURM profile without a cluster: every rule it names exists, it sets no blanket CPU count,
and a full-scale dry run gives each training rule its intended resources (runtime per rule,
memory, one GPU with device=cuda).  The profile on a real SLURM: tests/test_slurm_cluster.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
TRAINING_RULES = ("decay_covtype_train", "fractional_mnist_fc_train", "fractional_tail_index_train",
                  "fractional_cnn_train", "lyapunov_mnist_train", "lyapunov_task_train", "ldlt_higgs_train")

pytestmark = pytest.mark.workflow


def _copy_workflow(tmp_path: Path) -> Path:
    for name in ("config", "workflow"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Snakefile", "environment.yml"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def _snakemake(workdir: Path, *args: str) -> str:
    run = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout + run.stderr


def _resources(dry_run: str) -> dict[str, list[dict[str, str]]]:
    """rule -> the resources line of each of its jobs in a dry run."""
    found: dict[str, list[dict[str, str]]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        line = re.search(r"^\s+resources: (.*)$", block, re.M)
        if rule and line:
            pairs = dict(item.split("=", 1) for item in line.group(1).split(", "))
            found.setdefault(rule.group(1), []).append(pairs)
    return found


def test_every_rule_the_profile_names_exists_and_no_blanket_cpu_count():
    profile = yaml.safe_load(PROFILE.read_text())
    rules = set(subprocess.run([sys.executable, "-m", "snakemake", "--list-rules"], cwd=REPO, capture_output=True,
                               text=True, timeout=120).stdout.split())
    named = set(profile.get("groups", {})) | set(profile.get("set-resources", {}) or {})
    assert named and named <= rules, sorted(named - rules)
    assert set(profile["group-components"]) == set(profile["groups"].values())
    assert "cpus_per_task" not in str(profile), "threads follow each rule; no blanket cpus_per_task"
    assert not set(TRAINING_RULES) & set(profile["groups"]), "training jobs run one per SLURM job"


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_full_scale_dry_run_gives_training_rules_their_resources(tmp_path, device):
    workdir = _copy_workflow(tmp_path)
    out = _snakemake(workdir, "-n", "--workflow-profile", "workflow/profiles/slurm", "--config", "scale=full",
                     f"device={device}", "exclude_datasets=[]")
    resources = _resources(out)
    assert set(TRAINING_RULES) <= set(resources), sorted(set(TRAINING_RULES) - set(resources))
    for rule in TRAINING_RULES:
        for job in resources[rule]:
            assert job["gpu"] == ("1" if device == "cuda" else "0"), (rule, job)
            assert int(job["runtime"]) >= 45, (rule, job)  # the rule's own limit, not the profile's
            assert int(job["mem_mb"]) >= 2000 and "cpus_per_task" not in job
    ldlt = {int(job["runtime"]) for job in resources["ldlt_higgs_train"]}
    assert ldlt == ({480} if device == "cuda" else {14400})
    # a rule without its own resources gets the profile's defaults
    assert all(job["runtime"] == "120" and job["mem_mb"] == "2000" for job in resources["data_higgs_split"])
