"""The shipped dataset fixtures (fixtures/datasets): checksums, readable by the real loaders
(no mirror needed), and reproducible from the mirror by initlab.data.fixtures.make_fixtures."""

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from initlab.data import load_covtype, load_mnist, loaders
from initlab.data.fixtures import make_fixtures
from initlab.data.loaders import parse_higgs_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasets"
CHECKSUMS = json.loads((FIXTURES / "checksums.json").read_text())
EXPECTED_FILES = {
    "covtype/covtype_fixture_3000.data.gz",
    "higgs/higgs_fixture_3000.csv.gz",
    *(f"mnist_fixture/{name}" for name in loaders.MNIST_FILES.values()),
}
MAX_TOTAL_BYTES = 1_500_000


def test_checksums_cover_exactly_the_fixture_files():
    on_disk = {p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.gz")}
    assert set(CHECKSUMS) == EXPECTED_FILES == on_disk
    assert sum((FIXTURES / rel).stat().st_size for rel in on_disk) < MAX_TOTAL_BYTES


@pytest.mark.parametrize("relpath", sorted(EXPECTED_FILES))
def test_fixture_content_matches_checksums(relpath):
    """The decompressed content is what matters (another zlib may compress differently)."""
    entry = CHECKSUMS[relpath]
    with gzip.open(FIXTURES / relpath, "rb") as fh:
        content = fh.read()
    assert len(content) == entry["content_size"]
    assert hashlib.sha256(content).hexdigest() == entry["content_sha256"]
    assert {"sha256", "size", "rows", "source_relpath", "seed"} <= set(entry)


def test_covtype_fixture_loads():
    x, y = load_covtype(FIXTURES / "covtype/covtype_fixture_3000.data.gz", expected_rows=None)
    assert x.shape == (3000, 54) and x.dtype == np.float32
    assert y.shape == (3000,) and y.min() == 0 and y.max() == 6
    assert set(np.unique(y)) == set(range(7))


def test_higgs_fixture_parses():
    with gzip.open(FIXTURES / "higgs/higgs_fixture_3000.csv.gz", "rt", encoding="ascii") as fh:
        text = fh.read()
    assert all(len(line.split(",")) == 29 for line in text.splitlines())
    x, y = parse_higgs_rows(text, where="higgs fixture")
    assert x.shape == (3000, 28) and y.shape == (3000,)
    assert set(np.unique(y)) == {0, 1}


def test_mnist_fixture_loads():
    # load_mnist takes the counts of a registered file from the registry (the fixture's n_rows)
    data = load_mnist(FIXTURES / "mnist_fixture")
    for split, n in (("train", 2000), ("test", 1000)):
        images, labels = data[f"{split}_images"], data[f"{split}_labels"]
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and set(np.unique(labels)) == set(range(10))
        assert images.max() == 255


@pytest.mark.mirror
def test_make_fixtures_reproduces_checksums(data_mirror, tmp_path):
    result = make_fixtures(data_mirror, tmp_path)
    # The content (what the registry verifies) exactly; the .gz bytes depend on the zlib version.
    shipped = json.loads((FIXTURES / "checksums.json").read_text())
    content = ("content_sha256", "content_size", "rows", "seed", "source_relpath")
    assert {rel: {k: v[k] for k in content} for rel, v in result.items()} == \
           {rel: {k: v[k] for k in content} for rel, v in shipped.items()}
    for relpath in EXPECTED_FILES:
        assert (tmp_path / relpath).read_bytes() == (FIXTURES / relpath).read_bytes()
