"""Shared test fixtures: repository root and the offline data mirror."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not pass or fail by chance).
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.load_profile("deterministic")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def data_mirror() -> Path:
    """The offline dataset mirror (INITLAB_DATA_MIRROR, default ../shared/datasets). Tests that need
    data fail, never skip, when it is missing: CI must not pass without having seen the data."""
    mirror = Path(os.environ.get("INITLAB_DATA_MIRROR", REPO.parent / "shared" / "datasets"))
    if not mirror.is_dir():
        pytest.fail(f"data mirror {mirror} not found: set INITLAB_DATA_MIRROR to a folder laid out like "
                    "shared/datasets")
    return mirror.resolve()


def clean_checkout(repo: Path, dest: Path) -> Path:
    """The files git tracks (or would track) copied to ``dest``: a clean checkout of the working tree."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=repo, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        source = repo / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        else:
            shutil.copy2(source, target)
    return dest
