"""Fault injection on a real smoke training job, run by Snakemake in a clean copy of the repository
(no network, no mirror): SIGKILL at random points resumes to byte-identical outputs, a corrupt
checkpoint restarts cleanly, a forced rerun keeps the dataset, a tampered dataset is refused.
(Config errors refused before any job: tests/test_config.py.)"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import clean_checkout

pytestmark = pytest.mark.workflow

TARGET = "results/smoke/decay/covtype/aol_d2_zero.csv"
CHECKPOINT = "checkpoints/smoke/decay/covtype/aol_d2_zero.pt"
LOG = "logs/smoke/decay/covtype/aol_d2_zero.log"
DATASET = "data/covtype/covtype_fixture_3000.data.gz"
# more epochs than the smoke default, so that a kill lands in the middle of training
CONFIG = ["--config", "scale=smoke", "data_mirror=", "decay={covtype: {epochs: {smoke: 40}}}"]


def _snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *args], cwd=workdir,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def workdir(repo_root, tmp_path_factory) -> Path:
    return clean_checkout(repo_root, tmp_path_factory.mktemp("faults"))


@pytest.fixture(scope="module")
def reference(workdir) -> bytes:
    """The target's bytes from one uninterrupted run."""
    run = _snakemake(workdir, *CONFIG, "--", TARGET)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return (workdir / TARGET).read_bytes()


def _kill_mid_training(workdir: Path, checkpoints: int) -> None:
    """Start the target's job and SIGKILL Snakemake and the job (their whole process group) once the
    job has written ``checkpoints`` more epoch checkpoints: a kill in the middle of training, however
    fast or slow the machine is."""
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1", "--rerun-incomplete", *CONFIG,
                             "--", TARGET], cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    checkpoint, seen, last = workdir / CHECKPOINT, 0, None
    deadline = time.monotonic() + 300
    while seen < checkpoints and proc.poll() is None and time.monotonic() < deadline:
        stamp = checkpoint.stat().st_mtime_ns if checkpoint.exists() else None
        if stamp is not None and stamp != last:
            seen, last = seen + 1, stamp
        time.sleep(0.01)
    assert proc.poll() is None, "the job finished before the kill: raise the epochs of CONFIG"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def test_sigkill_at_random_points_resumes_to_identical_outputs(workdir, reference):
    (workdir / TARGET).unlink()
    for checkpoints in np.random.default_rng(20261201).integers(1, 8, size=3):
        _kill_mid_training(workdir, int(checkpoints))
        assert not (workdir / TARGET).exists()  # nothing half-written under the final name
        assert (workdir / CHECKPOINT).exists()  # the next run resumes from here
        unlock = _snakemake(workdir, "--unlock", *CONFIG)  # the README's advice after a killed run
        assert unlock.returncode == 0, unlock.stderr[-2000:]
    final = _snakemake(workdir, "--rerun-incomplete", *CONFIG, "--", TARGET)
    assert final.returncode == 0, final.stdout[-2000:] + final.stderr[-4000:]
    assert "resum" in (workdir / LOG).read_text().lower()
    assert (workdir / TARGET).read_bytes() == reference
    assert not (workdir / CHECKPOINT).exists()  # removed once the results exist


def test_corrupt_checkpoint_is_set_aside_and_training_restarts(workdir, reference):
    (workdir / TARGET).unlink(missing_ok=True)
    _kill_mid_training(workdir, 2)
    assert (workdir / CHECKPOINT).exists()
    (workdir / CHECKPOINT).write_bytes(b"not a checkpoint" * 100)
    assert _snakemake(workdir, "--unlock", *CONFIG).returncode == 0
    run = _snakemake(workdir, "--rerun-incomplete", *CONFIG, "--", TARGET)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    log = (workdir / LOG).read_text()
    assert "is unreadable" in log and "training restarts from scratch" in log, log[-3000:]
    assert list((workdir / CHECKPOINT).parent.glob("*.unreadable-*"))  # set aside, never deleted
    assert (workdir / TARGET).read_bytes() == reference


def test_forced_rerun_offline_keeps_the_dataset(workdir, reference):
    run = _snakemake(workdir, "-F", *CONFIG, "--", TARGET)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    fetch_log = (workdir / "logs/data/fetch/covtype/covtype_fixture_3000.data.gz.log").read_text()
    assert "restored from the verified copy" in fetch_log
    assert (workdir / TARGET).read_bytes() == reference


def test_tampered_dataset_is_refused_and_the_fix_works(workdir, reference):
    dataset = workdir / DATASET
    good = dataset.read_bytes()
    tampered = workdir / "tampered.gz"
    lines = gzip.decompress(good).splitlines(keepends=True)
    tampered.write_bytes(gzip.compress(b"".join([lines[1], lines[0], *lines[2:]])))  # two rows swapped
    os.replace(tampered, dataset)
    run = _snakemake(workdir, *CONFIG, "--", TARGET)  # the newer dataset makes Snakemake rerun the job
    assert run.returncode != 0
    log = (workdir / LOG).read_text()
    assert f"dataset file {DATASET} is refused" in log and "delete it and rerun" in log, log[-3000:]
    assert not (workdir / TARGET).exists()
    dataset.unlink()  # the fix the message names
    fixed = _snakemake(workdir, *CONFIG, "--", TARGET)
    assert fixed.returncode == 0, fixed.stdout[-2000:] + fixed.stderr[-4000:]
    assert dataset.read_bytes() == good and (workdir / TARGET).read_bytes() == reference
