"""Dataset registry and fetching: verification against the real mirror, rejection (and removal) of
corrupt or truncated files, atomic writes, and the offline / no-mirror error message.

The network is never contacted: downloads go through a fake opener or a refused local port.
The mirror is $INITLAB_DATA_MIRROR (default <repo>/../shared/datasets); these tests FAIL when it is
missing, on purpose.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import urllib.error
from dataclasses import replace
from pathlib import Path

import pytest

from initlab.data import DataError, check, fetch, get, registry, sha256_of, verify_existing
from initlab.data.paths import CIFAR10_EXTRACTED, DataPaths

# needs the real datasets: the mirror at $INITLAB_DATA_MIRROR (opt in with -m mirror; .ci/run does)
pytestmark = pytest.mark.mirror

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("INITLAB_DATA_MIRROR", REPO.parent / "shared" / "datasets"))
MIRROR_FILES = ["covtype/covtype.data.gz", "higgs/higgs_sample_10984.csv.gz", "mnist/t10k-images-idx3-ubyte.gz",
                "mnist/t10k-labels-idx1-ubyte.gz", "mnist/train-images-idx3-ubyte.gz",
                "mnist/train-labels-idx1-ubyte.gz"]
SMALL = "mnist/t10k-labels-idx1-ubyte.gz"  # 4,542 bytes, verify = file
SAMPLE = "higgs/higgs_sample_10984.csv.gz"  # verify = content


@pytest.fixture(scope="module")
def mirror() -> Path:
    assert MIRROR.is_dir(), (f"data mirror {MIRROR} not found: set INITLAB_DATA_MIRROR to a directory laid out "
                             "like shared/datasets")
    return MIRROR


def _sha256sums(mirror: Path) -> dict[str, str]:
    sums = {}
    for line in (mirror / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*").removeprefix("./")] = digest
    return sums


# ---- registry against the real mirror ------------------------------------------------------------
@pytest.mark.parametrize("relpath", MIRROR_FILES)
def test_mirror_file_verifies(mirror, relpath):
    entry = verify_existing(mirror / relpath, relpath)
    assert entry.relpath == relpath


def test_registry_agrees_with_mirror_sha256sums(mirror):
    """The mirror's own SHA256SUMS is an independent record of the stored files' hashes."""
    sums = _sha256sums(mirror)
    for relpath in MIRROR_FILES:
        entry = get(relpath)
        assert sums[relpath] == entry.sha256, relpath
        assert (mirror / relpath).stat().st_size == entry.size, relpath


def test_content_hash_is_of_decompressed_bytes(mirror):
    digest, size = sha256_of(mirror / SAMPLE, decompress=True)
    import hashlib

    raw = gzip.decompress((mirror / SAMPLE).read_bytes())
    assert (digest, size) == (hashlib.sha256(raw).hexdigest(), len(raw))
    assert (digest, size) == get(SAMPLE).expected


def test_registry_entries_are_complete():
    for relpath, entry in registry().items():
        sha, size = entry.expected
        assert len(sha) == 64 and int(sha, 16) >= 0 and size > 0, relpath
        assert entry.checksum_source, f"{relpath}: say where the checksum comes from"
    # files only the network can give must have a URL
    for relpath in ("higgs/HIGGS.csv.gz", "cifar10/cifar-10-binary.tar.gz"):
        assert get(relpath).urls and get(relpath).verify == "file"


# ---- fetch from a mirror -----------------------------------------------------------------------------
def test_fetch_from_mirror(mirror, tmp_path):
    final = tmp_path / "data" / SMALL
    assert fetch(SMALL, final, mirror=mirror, log=lambda m: None) == final
    assert final.read_bytes() == (mirror / SMALL).read_bytes()
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name]  # no temporary left


def test_recompressed_content_file_accepted(mirror, tmp_path):
    """verify = content: a mirror may re-compress; the decompressed bytes are what count."""
    alt = tmp_path / "mirror"
    (alt / "higgs").mkdir(parents=True)
    raw = gzip.decompress((mirror / SAMPLE).read_bytes())
    (alt / SAMPLE).write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    assert sha256_of(alt / SAMPLE) != sha256_of(mirror / SAMPLE)
    final = fetch(SAMPLE, tmp_path / "data" / SAMPLE, mirror=alt, log=lambda m: None)
    assert gzip.decompress(final.read_bytes()) == raw


def _bad_mirror(mirror: Path, tmp_path: Path, relpath: str, how: str) -> Path:
    alt = tmp_path / "badmirror"
    (alt / relpath).parent.mkdir(parents=True)
    good = (mirror / relpath).read_bytes()
    if how == "truncated":
        bad = good[: len(good) // 2]
    elif how == "flipped":  # same size, one byte changed
        bad = bytearray(good)
        bad[len(bad) // 2] ^= 0xFF
        bad = bytes(bad)
    elif how == "truncated_content":  # a valid gzip stream of only part of the content
        bad = gzip.compress(gzip.decompress(good)[:1000], mtime=0)
    else:
        raise ValueError(how)
    (alt / relpath).write_bytes(bad)
    return alt


@pytest.mark.parametrize("relpath,how", [(SMALL, "truncated"), (SMALL, "flipped"), (SAMPLE, "truncated"),
                                         (SAMPLE, "flipped"), (SAMPLE, "truncated_content")])
def test_corrupt_mirror_file_rejected_and_removed(mirror, tmp_path, relpath, how):
    alt = _bad_mirror(mirror, tmp_path, relpath, how)
    final = tmp_path / "data" / relpath
    with pytest.raises(DataError) as err:
        fetch(relpath, final, mirror=alt, log=lambda m: None)
    message = str(err.value)
    assert "rejected" in message and str(alt / relpath) in message and relpath in message
    assert not final.exists()
    assert list(final.parent.iterdir()) == []  # the partial copy is gone too


def test_stale_partial_of_killed_run_removed(mirror, tmp_path):
    final = tmp_path / "data" / SMALL
    final.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = final.with_name(f".{final.name}.part-{int(dead.stdout)}")
    stale.write_bytes(b"half a file")
    fetch(SMALL, final, mirror=mirror, log=lambda m: None)
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name]


def test_corrupt_file_in_data_dir_removed_by_verify(mirror, tmp_path):
    alt = _bad_mirror(mirror, tmp_path, SMALL, "flipped")
    with pytest.raises(DataError, match="sha256"):
        verify_existing(alt / SMALL, SMALL, remove_bad=True)
    assert not (alt / SMALL).exists()


# ---- downloads (fake network) ------------------------------------------------------------------------
class FakeResponse(io.BytesIO):
    def __init__(self, payload: bytes, fail_after: int | None = None):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}
        self.fail_after = fail_after

    def read(self, n=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer (simulated)")
        return super().read(n)


def _opener(payload: bytes, fail_after: int | None = None, calls: list | None = None):
    def open_url(url, timeout):
        if calls is not None:
            calls.append((url, timeout))
        return FakeResponse(payload, fail_after)

    return open_url


def test_download_verified_and_placed(mirror, tmp_path):
    calls = []
    final = fetch(SMALL, tmp_path / SMALL, opener=_opener((mirror / SMALL).read_bytes(), calls=calls),
                  timeout=3, log=lambda m: None)
    assert final.read_bytes() == (mirror / SMALL).read_bytes()
    assert calls == [(get(SMALL).urls[0], 3)]  # first URL worked, no other tried


def test_download_of_wrong_bytes_rejected_then_next_url(mirror, tmp_path):
    payloads = iter([b"<html>not found</html>", (mirror / SMALL).read_bytes()])

    def open_url(url, timeout):
        return FakeResponse(next(payloads))

    final = fetch(SMALL, tmp_path / SMALL, opener=open_url, log=lambda m: None)
    check(final, get(SMALL))


def test_killed_download_leaves_nothing(mirror, tmp_path):
    final = tmp_path / "data" / SMALL
    with pytest.raises(DataError, match="reset"):
        fetch(SMALL, final, opener=_opener((mirror / SMALL).read_bytes(), fail_after=1000), log=lambda m: None)
    assert not final.exists() and list(final.parent.iterdir()) == []


def _offline(url, timeout):
    raise urllib.error.URLError(OSError(101, "Network is unreachable"))


def test_offline_no_mirror_message(tmp_path):
    relpath = "higgs/HIGGS.csv.gz"
    final = tmp_path / "data" / relpath
    with pytest.raises(DataError) as err:
        fetch(relpath, final, opener=_offline, log=lambda m: None)
    message = str(err.value)
    entry = get(relpath)
    for needed in (relpath, entry.urls[0], "Network is unreachable", "data_mirror=DIR", str(final),
                   entry.sha256, f"{entry.size:,}", "never substituted"):
        assert needed in message, f"{needed!r} missing from:\n{message}"
    assert not final.exists()


def test_mirror_without_file_message(mirror, tmp_path):
    relpath = "cifar10/cifar-10-binary.tar.gz"
    with pytest.raises(DataError) as err:
        fetch(relpath, tmp_path / relpath, mirror=mirror, opener=_offline, log=lambda m: None)
    message = str(err.value)
    assert f"data mirror {mirror} has no {relpath}" in message
    assert "laid out like shared/datasets" in message and get(relpath).urls[0] in message


def test_mirror_only_file_without_mirror(tmp_path):
    with pytest.raises(DataError, match="no download URL") as err:
        fetch(SAMPLE, tmp_path / SAMPLE, opener=_offline, log=lambda m: None)
    assert "cannot be downloaded" in str(err.value)


def test_refused_connection_real_urllib(tmp_path):
    """The real urllib path, without internet: a refused local port (nothing listens on port 9)."""
    entry = replace(get(SMALL), urls=("http://127.0.0.1:9/t10k-labels-idx1-ubyte.gz",))
    with pytest.raises(DataError, match="127.0.0.1:9"):
        fetch(SMALL, tmp_path / SMALL, entry=entry, timeout=2, log=lambda m: None)
    assert not (tmp_path / SMALL).exists()


def test_unknown_file_named():
    with pytest.raises(DataError, match="unknown dataset file 'mnist/nope.gz'"):
        get("mnist/nope.gz")


# ---- workflow paths and CLI ----------------------------------------------------------------------------
def test_data_paths():
    paths = DataPaths("somewhere/data/")
    assert paths("covtype/covtype.data.gz") == "somewhere/data/covtype/covtype.data.gz"
    assert paths("higgs/split_{scale}.npz") == "somewhere/data/higgs/split_{scale}.npz"
    assert paths("higgs/split_quick.npz").endswith("split_quick.npz")
    assert len(paths.cifar10_files()) == len(CIFAR10_EXTRACTED) == 7
    for bad in ("higgs/split_huge.npz", "covtype/covtype.data", "../etc/passwd"):
        with pytest.raises(DataError, match="not a dataset file"):
            paths(bad)
    import re

    pattern = re.compile(paths.fetch_pattern())
    assert all(pattern.fullmatch(rel) for rel in registry())
    assert not pattern.fullmatch("higgs/split_full.npz")  # derived files are not fetched


def test_cli_verify(mirror, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "initlab.data", "verify", str(mirror / SMALL)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "ok" in ok.stdout
    alt = _bad_mirror(mirror, tmp_path, SMALL, "truncated")
    bad = subprocess.run([sys.executable, "-m", "initlab.data", "verify", str(alt / SMALL)],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "truncated" in bad.stderr
