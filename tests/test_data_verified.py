"""Verified datasets (initlab.data.verified): a forced fetch restores the kept copy offline, a changed
file is refused on use, derived files are checked against the stamp their rule wrote, and copies or
downloads past the size a good copy can have are refused. No mirror or network needed: the registry
holds a made-up file for these tests."""

from __future__ import annotations

import gzip
import importlib
import hashlib
import io
import json
import os

import pandas as pd
import pytest

from initlab.data import DataError, DatasetFile
from initlab.data import verified
from initlab.data.fetch import fetch, max_stored_size
from initlab.jobs import run_job

# the module (initlab.data re-exports its function `fetch` under the same name)
fetch_module = importlib.import_module("initlab.data.fetch")

REL = "toy/toy.csv.gz"
CONTENT = b"".join(b"%d,%d\n" % (i, i * i) for i in range(2000))


@pytest.fixture
def entry(monkeypatch):
    """A registered file verified by its gunzipped content, only in a mirror (no URL)."""
    toy = DatasetFile(relpath=REL, description="toy", urls=(), verify="content",
                      content_sha256=hashlib.sha256(CONTENT).hexdigest(), content_size=len(CONTENT))
    monkeypatch.setattr(verified, "registry", lambda: {REL: toy})
    monkeypatch.setattr(fetch_module, "get", lambda rel: toy)
    return toy


@pytest.fixture
def mirror(tmp_path):
    path = tmp_path / "mirror" / REL
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(CONTENT, mtime=0))
    return tmp_path / "mirror"


def _quiet(message):
    pass


def test_forced_fetch_restores_the_kept_copy_without_mirror(entry, mirror, tmp_path):
    final = tmp_path / "data" / REL
    verified.fetch_verified(REL, final, mirror=mirror, log=_quiet)
    good = final.read_bytes()
    final.unlink()                                   # what --forcerun / -F does before the fetch reruns
    messages = []
    verified.fetch_verified(REL, final, mirror=None, log=messages.append)  # offline, no mirror
    assert final.read_bytes() == good
    assert any("restored from the verified copy" in m for m in messages)
    assert verified.verify_on_use(final, REL) == hashlib.sha256(good).hexdigest()


def test_a_bad_kept_copy_is_fetched_again(entry, mirror, tmp_path):
    final = tmp_path / "data" / REL
    verified.fetch_verified(REL, final, mirror=mirror, log=_quiet)
    final.unlink()
    kept = verified.cache_path(tmp_path / "data", REL)
    kept.write_bytes(gzip.compress(CONTENT.replace(b"1", b"7"), mtime=0))
    messages = []
    verified.fetch_verified(REL, final, mirror=mirror, log=messages.append)
    assert gzip.decompress(final.read_bytes()) == CONTENT
    assert any("not used" in m for m in messages)


def test_a_changed_file_is_refused_on_use_naming_it(entry, mirror, tmp_path):
    final = tmp_path / "data" / REL
    verified.fetch_verified(REL, final, mirror=mirror, log=_quiet)
    assert verified.verify_on_use(final, REL)
    tampered = tmp_path / "tampered.gz"
    tampered.write_bytes(gzip.compress(CONTENT.replace(b"9", b"8"), mtime=0))
    os.replace(tampered, final)                      # a file put in data/ by hand
    with pytest.raises(DataError, match=rf"{final}.*refused.*no longer matches the registry.*delete it"):
        verified.verify_on_use(final, REL)


def test_a_good_file_placed_by_hand_is_checked_once_then_trusted(entry, mirror, tmp_path, monkeypatch):
    final = tmp_path / "data" / REL
    final.parent.mkdir(parents=True)
    final.write_bytes(gzip.compress(CONTENT, mtime=0, compresslevel=1))  # a different gzip of the same content
    sha = verified.verify_on_use(final, REL)
    assert sha == hashlib.sha256(final.read_bytes()).hexdigest()
    monkeypatch.setattr(verified, "check", lambda *a: pytest.fail("re-hashed an unchanged file"))
    assert verified.verify_on_use(final, REL) == sha


def test_derived_file_must_match_the_stamp_its_rule_wrote(tmp_path):
    data = tmp_path / "data"
    split = data / "higgs" / "split_smoke.npz"
    split.parent.mkdir(parents=True)
    split.write_bytes(b"the split")
    with pytest.raises(DataError, match="no record of making it"):
        verified.verify_on_use(split, "higgs/split_smoke.npz")
    verified.record(split, data, "higgs/split_smoke.npz", origin="rule data_higgs_split")
    assert verified.verify_on_use(split, "higgs/split_smoke.npz") == hashlib.sha256(b"the split").hexdigest()
    os.utime(split, ns=(1, 1))                        # touched, same bytes: accepted
    assert verified.verify_on_use(split, "higgs/split_smoke.npz")
    split.write_bytes(b"the spliT")
    with pytest.raises(DataError, match="changed since rule data_higgs_split made it"):
        verified.verify_on_use(split, "higgs/split_smoke.npz")


def test_mirror_copy_past_the_possible_size_is_not_copied(entry, mirror, tmp_path):
    (mirror / REL).write_bytes(os.urandom(max_stored_size(entry) + 1))
    final = tmp_path / "data" / REL
    with pytest.raises(DataError, match="more than a good copy can have"):
        fetch(REL, final, mirror=mirror, log=_quiet)
    assert not final.exists() and list(final.parent.iterdir()) == []


class _Response(io.BytesIO):
    def __init__(self, payload, announced=None):
        super().__init__(payload)
        self.headers = {} if announced is None else {"Content-Length": str(announced)}


@pytest.mark.parametrize("announce", [True, False])
def test_download_past_the_possible_size_is_stopped(entry, monkeypatch, tmp_path, announce):
    big = 2 * max_stored_size(entry)
    toy = DatasetFile(relpath=REL, description="toy", urls=("http://example.invalid/toy.csv.gz",), verify="content",
                      content_sha256=entry.content_sha256, content_size=entry.content_size)
    reads = []

    class Endless(_Response):
        def read(self, n=-1):
            reads.append(n)
            return super().read(n)

    def opener(url, timeout):
        return Endless(b"x" * big, big if announce else None)

    with pytest.raises(DataError, match="good copy can have"):
        fetch(REL, tmp_path / "data" / REL, entry=toy, opener=opener, log=_quiet)
    assert len(reads) <= (0 if announce else max_stored_size(toy) // fetch_module.CHUNK + 2)


def test_gzip_bomb_is_not_unpacked_to_the_end(entry, tmp_path):
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (50 * entry.content_size)))
    seen = fetch_module.sha256_of(bomb, decompress=True, limit=entry.content_size)[1]
    assert entry.content_size < seen <= entry.content_size + fetch_module.CHUNK
    with pytest.raises(DataError, match="wrong file"):
        fetch_module.check(bomb, entry)


def test_job_verifies_its_datasets_and_records_their_sha256(entry, mirror, tmp_path):
    data = tmp_path / "data"
    final = verified.fetch_verified(REL, data / REL, mirror=mirror, log=_quiet)
    outputs = {"t_csv": str(tmp_path / "t.csv"), "t_meta": str(tmp_path / "t.meta.json")}
    spec = json.dumps({"paper": "decay", "name": "t", "scale": "smoke", "params": {}})
    io_spec = json.dumps({"inputs": {"toy": str(final)}, "outputs": outputs, "data_dir": str(data)})

    def main(job):
        job.write_csv("t", pd.DataFrame({"x": [1]}))

    run_job(main, ["--job", spec, "--io", io_spec])
    meta = json.loads((tmp_path / "t.meta.json").read_text())
    assert meta["input_sha256"] == {REL: hashlib.sha256(final.read_bytes()).hexdigest()}

    replacement = tmp_path / "other.gz"
    replacement.write_bytes(gzip.compress(b"1,1\n", mtime=0))
    os.replace(replacement, final)
    (tmp_path / "t.csv").unlink()
    with pytest.raises(DataError, match="refused"):
        run_job(main, ["--job", spec, "--io", io_spec])
    assert not (tmp_path / "t.csv").exists() and not (tmp_path / "t.meta.json").exists()
