"""The data rules under Snakemake, in a temporary copy of the workflow (common.smk + data.smk only):
fetch from the mirror and draw the HIGGS split; a second run has nothing to do, also without the
mirror (the source of a verified file does not trigger rebuilds); a file missing from the mirror
fails with one clear message and leaves no partial output.  No network is contacted: the only file
requested without a mirror copy is mirror-only (it has no URL)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from initlab.data import verify_existing

# needs the real datasets: the mirror at $INITLAB_DATA_MIRROR (opt in with -m mirror; .ci/run does)
pytestmark = pytest.mark.mirror

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("INITLAB_DATA_MIRROR", REPO.parent / "shared" / "datasets"))
TARGETS = ["data/higgs/split_quick.npz", "data/mnist/t10k-labels-idx1-ubyte.gz"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    assert MIRROR.is_dir(), f"data mirror {MIRROR} not found: set INITLAB_DATA_MIRROR"
    work = tmp_path_factory.mktemp("dataflow")
    shutil.copytree(REPO / "config", work / "config")
    shutil.copytree(REPO / "workflow", work / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "fixtures", work / "fixtures")
    env_file = REPO / "environment.yml"
    (work / "environment.yml").write_text(env_file.read_text() if env_file.exists() else "name: initlab\n")
    (work / "Snakefile").write_text('configfile: "config/config.yaml"\n'
                                    'include: "workflow/rules/common.smk"\n'
                                    'include: "workflow/rules/data.smk"\n')
    return work


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *args], cwd=workdir,
                          capture_output=True, text=True, timeout=300)


def test_fetch_split_and_nothing_to_do(workdir):
    run = _snakemake(workdir, "--config", f"data_mirror={MIRROR}", "--", *TARGETS)
    assert run.returncode == 0, run.stdout + run.stderr
    verify_existing(workdir / TARGETS[1], "mnist/t10k-labels-idx1-ubyte.gz")
    verify_existing(workdir / "data/higgs/higgs_sample_10984.csv.gz", "higgs/higgs_sample_10984.csv.gz")
    assert (workdir / "benchmarks/quick/data/higgs_split.tsv").exists()
    for config in ([f"data_mirror={MIRROR}"], ["data_mirror="]):
        again = _snakemake(workdir, "-n", "--config", *config, "--", *TARGETS)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout


def test_missing_from_mirror_fails_cleanly(workdir, tmp_path):
    empty = tmp_path / "empty_mirror"
    empty.mkdir()
    run = _snakemake(workdir, "--config", f"data_mirror={empty}", "data_dir=data_missing", "--",
                     "data_missing/higgs/split_quick.npz")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert f"the data mirror {empty} has no higgs/higgs_sample_10984.csv.gz" in out
    assert "the file has no download URL" in out and "data_mirror=DIR" in out
    leftovers = [p for p in (workdir / "data_missing").rglob("*") if p.is_file()] if (workdir / "data_missing").exists() else []
    assert leftovers == []


def test_forced_rerun_offline_keeps_the_datasets(workdir):
    """-F deletes the fetch rule's outputs before rerunning it; the kept verified copies
    (data/.verified/) restore them with neither mirror nor network."""
    first = _snakemake(workdir, "--config", f"data_mirror={MIRROR}", "--", *TARGETS)
    assert first.returncode == 0, first.stdout + first.stderr
    forced = _snakemake(workdir, "-F", "--config", "data_mirror=", "--", *TARGETS)
    out = forced.stdout + forced.stderr
    assert forced.returncode == 0, out
    assert "restored from the verified copy" in (workdir / "logs/data/fetch/mnist/t10k-labels-idx1-ubyte.gz.log").read_text()
    verify_existing(workdir / TARGETS[1], "mnist/t10k-labels-idx1-ubyte.gz")
    verify_existing(workdir / "data/higgs/higgs_sample_10984.csv.gz", "higgs/higgs_sample_10984.csv.gz")
    assert (workdir / TARGETS[0]).is_file()


def test_a_tampered_dataset_is_refused_by_the_job_reading_it(workdir):
    ok = _snakemake(workdir, "--config", f"data_mirror={MIRROR}", "--", *TARGETS)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    sample = workdir / "data/higgs/higgs_sample_10984.csv.gz"
    good = sample.read_bytes()
    lines = gzip.decompress(good).splitlines(keepends=True)
    tampered = workdir / "tampered.csv.gz"
    tampered.write_bytes(gzip.compress(b"".join(lines[:-1]) + lines[0]))  # one row changed, same size
    os.replace(tampered, sample)  # by hand, as the README's manual option would
    run = _snakemake(workdir, "--config", "data_mirror=", "--", TARGETS[0])
    out = run.stdout + run.stderr + (workdir / "logs/quick/data/higgs_split.log").read_text()
    assert run.returncode != 0
    assert f"{sample.relative_to(workdir)} is refused" in out and "delete it and rerun" in out, out[-3000:]
    assert not (workdir / TARGETS[0]).exists()
    sample.unlink()  # the fix the message names: the kept copy comes back, offline
    fixed = _snakemake(workdir, "--config", "data_mirror=", "--", TARGETS[0])
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert sample.read_bytes() == good


def test_smoke_split_needs_neither_mirror_nor_network(workdir):
    """The smoke scale draws its HIGGS split from the fixture the repository ships."""
    run = _snakemake(workdir, "--config", "data_mirror=", "--", "data/higgs/split_smoke.npz")
    assert run.returncode == 0, run.stdout + run.stderr
    verify_existing(workdir / "data/higgs/higgs_fixture_3000.csv.gz", "higgs/higgs_fixture_3000.csv.gz")
