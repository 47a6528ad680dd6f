"""Deterministic HIGGS train/test draws.

full scale: the ldlt paper's 100k train / 20k test rows drawn from the complete 11,000,000-row UCI
file, streamed (the 2.8 GB file is never held in memory).  quick and smoke: drawn from the
10,984-row sample of the data mirror.  The full scale refuses the sample: no silent substitution.

Row numbers are drawn without replacement by ``numpy.random.default_rng(seed)``; the first
``n_train`` drawn rows form the training set, the rest the test set (in draw order).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from pathlib import Path

import numpy as np

from .loaders import parse_higgs_rows
from .fetch import check
from .registry import DataError, get, higgs_split_spec

FULL_FILE = "higgs/HIGGS.csv.gz"
SAMPLE_FILE = "higgs/higgs_sample_10984.csv.gz"


def draw_rows(n_rows: int, n_train: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train row numbers, test row numbers), disjoint, drawn from range(n_rows)."""
    if n_train < 1 or n_test < 1:
        raise DataError(f"HIGGS split sizes must be positive (n_train={n_train}, n_test={n_test})")
    if n_train + n_test > n_rows:
        raise DataError(f"HIGGS split needs n_train + n_test = {n_train + n_test} rows, the source has {n_rows}")
    rows = np.random.default_rng(seed).choice(n_rows, size=n_train + n_test, replace=False)
    return rows[:n_train].astype(np.int64), rows[n_train:].astype(np.int64)


def read_rows(path: str | os.PathLike, rows: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of the given row numbers, in the given order, streaming the gzip file
    once; checks that the file has exactly ``n_rows`` rows."""
    path = Path(path)
    wanted = np.zeros(n_rows, dtype=bool)
    wanted[rows] = True
    kept: dict[int, bytes] = {}
    count = 0
    try:
        with gzip.open(path, "rb") as fh:
            for count, line in enumerate(fh, start=1):
                i = count - 1
                if i < n_rows and wanted[i]:
                    kept[i] = line
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: corrupt or truncated gzip stream ({err})") from None
    if count != n_rows:
        raise DataError(f"{path}: {count} rows, expected {n_rows} (truncated or wrong file)")
    text = b"".join(kept[int(i)] for i in rows).decode("ascii")
    return parse_higgs_rows(text, where=str(path))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def make_split(source: str | os.PathLike, scale: str, output: str | os.PathLike,
               spec: dict | None = None, source_relpath: str | None = None) -> dict:
    """Draw the HIGGS split of ``scale`` from ``source`` and write it (atomically) to ``output``
    (.npz; read it with :func:`initlab.data.load_higgs_split`).  Returns the metadata.

    ``spec`` (default: the registry's ``higgs_split`` for ``scale``) gives source, n_train,
    n_test, seed.  ``source_relpath`` says which registered file ``source`` is (default: the
    spec's source); the full scale accepts only the complete UCI file."""
    from initlab.jobs import atomic_path

    spec = dict(spec or higgs_split_spec(scale))
    relpath = source_relpath or spec["source"]
    if scale == "full" and relpath != FULL_FILE:
        raise DataError(
            f"the full scale needs the complete UCI HIGGS file ({FULL_FILE}, 11,000,000 rows) for the "
            f"paper's {spec['n_train']:,} train / {spec['n_test']:,} test rows; got {relpath}. The "
            f"{SAMPLE_FILE} sample is only for the quick and smoke scales and is never substituted. "
            "Provide HIGGS.csv.gz (see src/initlab/data/registry.json) or run with --config scale=quick.")
    entry = get(relpath)
    # Verify the source here too: a file placed by hand under data/ never went through the fetch rule.
    check(source, entry)
    n_rows = entry.n_rows
    if n_rows is None:
        raise DataError(f"registry entry {relpath} has no n_rows")
    train_rows, test_rows = draw_rows(n_rows, spec["n_train"], spec["n_test"], spec["seed"])
    x, y = read_rows(source, np.concatenate([train_rows, test_rows]), n_rows)
    n_train = len(train_rows)
    meta = {
        "scale": scale, "source": relpath, "source_sha256": entry.sha256 if entry.verify == "file" else _sha256(Path(source)), "seed": spec["seed"],
        "n_train": n_train, "n_test": len(test_rows), "source_rows": n_rows,
        "train_positive_fraction": float(y[:n_train].mean()), "test_positive_fraction": float(y[n_train:].mean()),
        "method": "numpy default_rng(seed).choice(source_rows, n_train + n_test, replace=False); first n_train = train",
    }
    with atomic_path(output) as tmp:
        with open(tmp, "wb") as fh:  # np.savez would append .npz to a temporary name
            np.savez_compressed(fh, x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:],
                                y_test=y[n_train:], train_rows=train_rows, test_rows=test_rows,
                                meta=np.array(json.dumps(meta, sort_keys=True)))
    return meta
