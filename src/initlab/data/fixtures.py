"""Small real dataset fixtures for the smoke scale, cut deterministically from the data mirror.

What: ``make_fixtures(mirror, out_dir)`` reads the verified dataset files of a data mirror laid
out like ``shared/datasets`` and writes, under ``out_dir`` (same layout, distinct file names):

* ``covtype/covtype_fixture_3000.data.gz`` - 3000 of the 581,012 rows of ``covtype/covtype.data.gz``;
* ``higgs/higgs_fixture_3000.csv.gz`` - 3000 of the 10,984 rows of ``higgs/higgs_sample_10984.csv.gz``;
* ``mnist_fixture/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` - 2000 of the 60,000 training
  and 1000 of the 10,000 test images with their labels, as valid IDX files (header counts updated).

Why: the pipeline's smoke scale has to run on a fresh clone with no network and no dataset
mirror. The repository therefore ships these small cuts of the REAL data (``fixtures/datasets``);
they are for the smoke scale only and never give a replication result.

How: every source file is first verified against the registry (``verify_existing``). The rows
(or images) kept are ``numpy.random.default_rng(seed).choice(n, k, replace=False)``, sorted, so
they stay in their original file order; text rows are copied byte for byte from the source, IDX
records likewise (images and labels of a split use the same draw). The gzip files are written
deterministically (mtime 0, no file name in the header, compresslevel 9), so regenerating gives
the same bytes with the same zlib; the checksums that matter are those of the DECOMPRESSED
content (``content_sha256``/``content_size``), since another zlib may compress differently.

    python -m initlab.data.fixtures MIRROR OUT_DIR   # prints the checksums dict as JSON

No torch here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

from .fetch import verify_existing
from .loaders import COVTYPE_ROWS, MNIST_COUNTS, MNIST_FILES
from .registry import DataError, get

COMPRESSLEVEL = 9

COVTYPE_SOURCE = "covtype/covtype.data.gz"
HIGGS_SOURCE = "higgs/higgs_sample_10984.csv.gz"
MNIST_DIR = "mnist"
FIXTURE_MNIST_DIR = "mnist_fixture"

# The draws: seeds are the UCI dataset ids (Covertype 31, HIGGS 280) and 784 = 28 * 28 for MNIST
# (training split; the test split uses 785).
COVTYPE_SEED, COVTYPE_N = 31, 3000
HIGGS_SEED, HIGGS_N = 280, 3000
MNIST_SEEDS = {"train": 784, "test": 785}
MNIST_N = {"train": 2000, "test": 1000}

COVTYPE_FIXTURE = f"covtype/covtype_fixture_{COVTYPE_N}.data.gz"
HIGGS_FIXTURE = f"higgs/higgs_fixture_{HIGGS_N}.csv.gz"


def draw(n_total: int, k: int, seed: int) -> np.ndarray:
    """``k`` distinct indices of ``range(n_total)`` drawn by ``default_rng(seed)``, sorted ascending."""
    if not 0 < k <= n_total:
        raise DataError(f"cannot draw {k} of {n_total} rows")
    return np.sort(np.random.default_rng(seed).choice(n_total, size=k, replace=False)).astype(np.int64)


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzipped deterministically: mtime 0, no file name, fixed compresslevel."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=COMPRESSLEVEL, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def _read_gz(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: corrupt or truncated gzip stream ({err})") from None


def _write(out_dir: Path, relpath: str, content: bytes, rows: int, source_relpath: str, seed: int) -> tuple[str, dict]:
    packed = gzip_bytes(content)
    target = out_dir / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp-fixture")
    tmp.write_bytes(packed)
    os.replace(tmp, target)
    return relpath, {
        "content_sha256": hashlib.sha256(content).hexdigest(), "content_size": len(content),
        "sha256": hashlib.sha256(packed).hexdigest(), "size": len(packed),
        "rows": rows, "source_relpath": source_relpath, "seed": seed,
    }


def _source(mirror: Path, relpath: str) -> Path:
    path = mirror / relpath
    verify_existing(path, relpath)
    return path


def _cut_lines(path: Path, n_total: int, k: int, seed: int) -> bytes:
    """The drawn lines of a text .gz file, byte for byte, in file order (checks the line count)."""
    lines = _read_gz(path).splitlines(keepends=True)
    if len(lines) != n_total:
        raise DataError(f"{path}: {len(lines)} rows, expected {n_total}")
    return b"".join(lines[i] for i in draw(n_total, k, seed))


def _cut_idx(raw: bytes, path: Path, keep: np.ndarray, n_total: int) -> bytes:
    """An IDX file (uint8) reduced to the records ``keep`` (first dimension), header count updated."""
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08":
        raise DataError(f"{path}: not a uint8 IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    record = int(np.prod(dims[1:], dtype=np.int64)) if ndim > 1 else 1
    if dims[0] != n_total or len(raw) != header + dims[0] * record:
        raise DataError(f"{path}: IDX dims {dims}, {len(raw)} bytes; expected {n_total} records")
    data = np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims[0], record)
    return raw[:4] + struct.pack(f">{ndim}I", len(keep), *dims[1:]) + data[keep].tobytes()


def make_fixtures(mirror: Path, out_dir: Path) -> dict[str, dict]:
    """Write the fixture files under ``out_dir`` from the verified files of ``mirror``; returns per
    relative path ``{content_sha256, content_size, sha256, size, rows, source_relpath, seed}``."""
    mirror, out_dir = Path(mirror), Path(out_dir)
    result: dict[str, dict] = {}

    path = _source(mirror, COVTYPE_SOURCE)
    content = _cut_lines(path, COVTYPE_ROWS, COVTYPE_N, COVTYPE_SEED)
    key, value = _write(out_dir, COVTYPE_FIXTURE, content, COVTYPE_N, COVTYPE_SOURCE, COVTYPE_SEED)
    result[key] = value

    path = _source(mirror, HIGGS_SOURCE)
    n_higgs = get(HIGGS_SOURCE).n_rows
    if n_higgs is None:
        raise DataError(f"registry entry {HIGGS_SOURCE} has no n_rows")
    content = _cut_lines(path, n_higgs, HIGGS_N, HIGGS_SEED)
    key, value = _write(out_dir, HIGGS_FIXTURE, content, HIGGS_N, HIGGS_SOURCE, HIGGS_SEED)
    result[key] = value

    for split, n_total in MNIST_COUNTS.items():
        keep = draw(n_total, MNIST_N[split], MNIST_SEEDS[split])
        for kind in ("images", "labels"):
            name = MNIST_FILES[f"{split}_{kind}"]
            source_rel = f"{MNIST_DIR}/{name}"
            path = _source(mirror, source_rel)
            content = _cut_idx(_read_gz(path), path, keep, n_total)
            key, value = _write(out_dir, f"{FIXTURE_MNIST_DIR}/{name}", content, len(keep), source_rel,
                                MNIST_SEEDS[split])
            result[key] = value
    return dict(sorted(result.items()))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m initlab.data.fixtures MIRROR OUT_DIR")
    print(json.dumps(make_fixtures(Path(sys.argv[1]), Path(sys.argv[2])), sort_keys=True, indent=1))
