"""The shipped SLURM profile on a real one-node SLURM (Debian's slurm-wlm and munge on localhost,
no slurmdbd): smoke targets run through `--workflow-profile workflow/profiles/slurm` with
snakemake-executor-plugin-slurm, their outputs appear, and a second run has nothing to do.

Opt-in (pytest -m slurm; .ci/run runs it): it needs root, and installs the packages with apt-get
where they are missing.  Every step runs under a hard timeout, since a broken cluster hangs
silently; the daemons this test starts are stopped at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TARGETS = ["figures/smoke/ldlt/fig04.png", "figures/smoke/lyapunov/table1.csv", "results/smoke/ldlt/higgs/d2_sgd.csv"]

pytestmark = pytest.mark.slurm


def _run(args: list[str], timeout: float, env=None, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    run = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)
    if check and run.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return run


def _install_slurm() -> None:
    if shutil.which("slurmctld") and shutil.which("munged"):
        return
    assert os.geteuid() == 0, "the SLURM test installs slurm-wlm and munge with apt-get and needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-q"], timeout=180, env=env)
    _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "slurm-wlm", "munge"], timeout=300, env=env)


SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARK = "# written by initlab tests/test_slurm_cluster.py"


def _slurm_conf(directory: Path) -> Path:
    """The test cluster's slurm.conf at the system path: the executor's job steps drop SLURM_CONF
    from the environment of their nested srun (snakemake-executor-plugin-slurm-jobstep keeps only a
    few SLURM_* variables), so srun must find the file where it looks by default.  A slurm.conf
    that this test did not write is never touched."""
    if SYSTEM_CONF.exists() and MARK not in SYSTEM_CONF.read_text():
        raise AssertionError(f"{SYSTEM_CONF} exists: this machine has its own SLURM; the test brings up a "
                             "one-node cluster only where there is none")
    host = socket.gethostname().split(".")[0]
    memory_mb = max(2000, min(16000, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 - 2000))
    text = f"""{MARK}
ClusterName=initlab-test
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
StateSaveLocation={directory}/state
SlurmdSpoolDir={directory}/spool
SlurmctldPidFile={directory}/slurmctld.pid
SlurmdPidFile={directory}/slurmd.pid
SlurmctldLogFile={directory}/slurmctld.log
SlurmdLogFile={directory}/slurmd.log
NodeName={host} CPUs={os.cpu_count()} RealMemory={memory_mb} State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
    for sub in ("state", "spool"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SYSTEM_CONF.write_text(text)
    return SYSTEM_CONF


def _munge_works() -> bool:
    try:
        encoded = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
        return encoded.returncode == 0 and subprocess.run(["unmunge"], input=encoded.stdout, capture_output=True,
                                                          timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _stop(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running one-node cluster: the environment (SLURM_CONF) to reach it."""
    _install_slurm()
    directory = tmp_path_factory.mktemp("slurm")
    conf = _slurm_conf(directory)
    env = dict(os.environ)
    munged = None
    if not _munge_works():
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        munged = Path("/run/munge/munged.pid")  # munged's default, in a directory it owns
        _run(["runuser", "-u", "munge", "--", "munged"], timeout=20)
        assert _munge_works(), "munged started but munge -n | unmunge fails"
    try:
        _run(["slurmctld", "-f", str(conf)], timeout=30, env=env)
        _run(["slurmd", "-f", str(conf)], timeout=30, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            state = _run(["sinfo", "-h", "-o", "%T"], timeout=10, env=env, check=False).stdout.strip()
            if state == "idle":
                break
            time.sleep(0.5)
        else:
            logs = "\n".join((directory / f).read_text()[-2000:] for f in ("slurmctld.log", "slurmd.log")
                             if (directory / f).exists())
            raise AssertionError(f"the SLURM node never became idle (sinfo: {state!r}):\n{logs}")
        yield env
    finally:
        subprocess.run(["scancel", "--user", os.environ.get("USER", "root")], env=env, capture_output=True,
                       timeout=10)
        _stop(directory / "slurmd.pid")
        _stop(directory / "slurmctld.pid")
        if munged is not None:
            _stop(munged)
        SYSTEM_CONF.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("slurm_workflow")
    for name in ("config", "workflow", "fixtures"):
        shutil.copytree(REPO / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Snakefile", "environment.yml"):
        shutil.copy(REPO / name, work / name)
    return work


def _snakemake(workdir: Path, env, *args: str, timeout: float = 240) -> str:
    run = _run([sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/slurm",
                # no slurmdbd here: job states come from squeue (README of the profile)
                "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
                "--config", "scale=smoke", *args], timeout=timeout, env=env, cwd=workdir)
    return run.stdout + run.stderr


def test_profile_runs_smoke_targets_on_slurm_and_a_second_run_has_nothing_to_do(cluster, workdir):
    out = _snakemake(workdir, cluster, "--", *TARGETS)
    for target in TARGETS:
        assert (workdir / target).exists(), f"{target} missing after the SLURM run:\n{out[-3000:]}"
    assert "Submitted batch job" in out or "SLURM run ID" in out or "sbatch" in out, out[-3000:]
    meta = json.loads((workdir / "results/smoke/ldlt/higgs/d2_sgd.meta.json").read_text())
    assert meta["threads"] == 1  # the rule's threads at smoke scale, not a blanket CPU count
    assert str(workdir / "logs" / "slurm") in out, "sbatch logs go to logs/slurm (kept for failed jobs only)"
    again = _snakemake(workdir, cluster, "-n", "--", *TARGETS, timeout=120)
    assert "Nothing to be done" in again, again[-3000:]
