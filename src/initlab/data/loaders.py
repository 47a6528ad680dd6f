"""Numpy loaders for the verified dataset files (no torch here: the nn/train layers convert).

Every loader checks the layout it expects (columns, IDX headers, record sizes, label ranges) and
raises :class:`DataError` naming the file and the problem, so a corrupt or wrong file stops early.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path
from typing import Mapping

import numpy as np

from .registry import DataError, registered_rows

COVTYPE_ROWS = 581_012
COVTYPE_FEATURES = 54
COVTYPE_CLASSES = 7

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
MNIST_COUNTS = {"train": 60_000, "test": 10_000}

CIFAR10_DIR = "cifar-10-batches-bin"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch.bin"
CIFAR10_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes
CIFAR10_PER_BATCH = 10_000

HIGGS_FEATURES = 28


def _read_bytes(path: Path) -> bytes:
    """Whole file, gunzipped when it ends in .gz (a truncated or corrupt stream raises DataError)."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: corrupt or truncated ({err}); delete it and fetch it again") from None


# ---- MNIST: IDX files ---------------------------------------------------------------------------
_IDX_DTYPES = {0x08: np.uint8}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (http://yann.lecun.com/exdb/mnist/): big-endian magic 0x0000TTNN
    (TT = element type, NN = number of dimensions), NN uint32 sizes, then the data."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic {raw[:4].hex()})")
    dtype, ndim = raw[2], raw[3]
    if dtype not in _IDX_DTYPES or ndim == 0:
        raise DataError(f"{path}: unsupported IDX element type 0x{dtype:02x} / {ndim} dimensions")
    header = 4 + 4 * ndim
    shape = tuple(int(v) for v in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(f"{path}: IDX header says shape {shape} ({expected} bytes), file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype=_IDX_DTYPES[dtype], offset=header).reshape(shape).copy()


def load_mnist(source: str | os.PathLike | Mapping[str, str | os.PathLike]) -> dict[str, np.ndarray]:
    """MNIST as ``{"train_images": uint8 (60000, 28, 28), "train_labels": int64 (60000,),
    "test_images": uint8 (10000, 28, 28), "test_labels": int64 (10000,)}`` (for the smoke-scale
    fixture, the counts its registry entry gives: ``n_rows``).

    ``source`` is a directory holding the four standard ``*-ubyte.gz`` files, or a mapping from
    those four keys to file paths (e.g. a rule's named inputs)."""
    if isinstance(source, Mapping):
        missing = set(MNIST_FILES) - set(source)
        if missing:
            raise DataError(f"load_mnist: paths for {sorted(missing)} missing; give all of {sorted(MNIST_FILES)}")
        paths = {k: Path(source[k]) for k in MNIST_FILES}
    else:
        paths = {k: Path(source) / name for k, name in MNIST_FILES.items()}
    out: dict[str, np.ndarray] = {}
    for split, full_count in MNIST_COUNTS.items():
        count = registered_rows(paths[f"{split}_images"]) or full_count
        images = read_idx(paths[f"{split}_images"])
        labels = read_idx(paths[f"{split}_labels"]).astype(np.int64)
        if images.shape != (count, 28, 28):
            raise DataError(f"{paths[f'{split}_images']}: shape {images.shape}, expected ({count}, 28, 28)")
        if labels.shape != (count,) or labels.min() < 0 or labels.max() > 9:
            raise DataError(f"{paths[f'{split}_labels']}: expected {count} labels in 0..9, "
                            f"got shape {labels.shape}, range {labels.min()}..{labels.max()}")
        out[f"{split}_images"], out[f"{split}_labels"] = images, labels
    return out


# ---- Covertype ----------------------------------------------------------------------------------
def load_covtype(path: str | os.PathLike, expected_rows: int | None | str = "registry") -> tuple[np.ndarray, np.ndarray]:
    """UCI Covertype ``covtype.data(.gz)`` as ``(features float32 (N, 54), labels int64 in 0..6)``.

    Labels are ``Cover_Type - 1`` (the file stores 1..7). Features are the raw values (no
    scaling). ``expected_rows`` guards against truncated files: by default the registry's
    ``n_rows`` of the file (the smoke-scale fixture's 3000), else the full 581,012; None for any
    other subset file."""
    import pandas as pd

    path = Path(path)
    if expected_rows == "registry":
        expected_rows = registered_rows(path) or COVTYPE_ROWS
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        table = pd.read_csv(path, header=None, dtype=np.int32, compression="infer", engine="c")
    except (EOFError, OSError, zlib.error, ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{path}: not a readable Covertype file ({err}); delete it and fetch it again") from None
    values = table.to_numpy()
    if values.ndim != 2 or values.shape[1] != COVTYPE_FEATURES + 1:
        raise DataError(f"{path}: {values.shape[1] if values.ndim == 2 else '?'} columns, expected "
                        f"{COVTYPE_FEATURES + 1} (54 features, then Cover_Type)")
    if expected_rows is not None and len(values) != expected_rows:
        raise DataError(f"{path}: {len(values)} rows, expected {expected_rows} (truncated or wrong file?)")
    labels = values[:, -1].astype(np.int64) - 1
    if labels.min() < 0 or labels.max() >= COVTYPE_CLASSES:
        raise DataError(f"{path}: Cover_Type outside 1..7 (found {labels.min() + 1}..{labels.max() + 1})")
    return values[:, :-1].astype(np.float32), labels


# ---- CIFAR-10 (binary version) -----------------------------------------------------------------
def _read_cifar_batch(path: Path, expected_records: int | None) -> tuple[np.ndarray, np.ndarray]:
    raw = _read_bytes(path)
    if len(raw) % CIFAR10_RECORD:
        raise DataError(f"{path}: {len(raw)} bytes is not a whole number of {CIFAR10_RECORD}-byte records")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, CIFAR10_RECORD)
    if expected_records is not None and len(records) != expected_records:
        raise DataError(f"{path}: {len(records)} records, expected {expected_records}")
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"{path}: label {labels.max()} outside 0..9")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def load_cifar10(directory: str | os.PathLike, expected_per_batch: int | None = CIFAR10_PER_BATCH) -> dict[str, np.ndarray]:
    """CIFAR-10 from the extracted binary version (``directory`` holds ``data_batch_1..5.bin`` and
    ``test_batch.bin``, or is their parent with ``cifar-10-batches-bin/``):
    ``{"train_images": uint8 (50000, 3, 32, 32), "train_labels": int64, "test_images": uint8
    (10000, 3, 32, 32), "test_labels": int64, "label_names": array of 10 str}`` (channels first, RGB)."""
    directory = Path(directory)
    if not (directory / CIFAR10_TEST_BATCH).exists() and (directory / CIFAR10_DIR).is_dir():
        directory = directory / CIFAR10_DIR
    train = [_read_cifar_batch(directory / name, expected_per_batch) for name in CIFAR10_TRAIN_BATCHES]
    test_images, test_labels = _read_cifar_batch(directory / CIFAR10_TEST_BATCH, expected_per_batch)
    meta = directory / "batches.meta.txt"
    names = [n for n in meta.read_text().split() if n] if meta.exists() else []
    if names and len(names) != 10:
        raise DataError(f"{meta}: {len(names)} label names, expected 10")
    return {
        "train_images": np.concatenate([b[0] for b in train]),
        "train_labels": np.concatenate([b[1] for b in train]),
        "test_images": test_images,
        "test_labels": test_labels,
        "label_names": np.array(names),
    }


# ---- HIGGS --------------------------------------------------------------------------------------
def parse_higgs_rows(text: str, where: str = "HIGGS") -> tuple[np.ndarray, np.ndarray]:
    """Rows ``label,f1..f28`` -> (features float32 (N, 28), labels int64 in {0, 1})."""
    import io

    import pandas as pd

    try:
        table = pd.read_csv(io.StringIO(text), header=None, dtype=np.float64, engine="c").to_numpy()
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{where}: unreadable rows ({err})") from None
    if table.ndim != 2 or table.shape[1] != HIGGS_FEATURES + 1:
        raise DataError(f"{where}: {table.shape[1] if table.ndim == 2 else '?'} columns, expected 29 (label, 28 features)")
    if not np.isfinite(table).all():
        raise DataError(f"{where}: missing or non-finite values")
    labels = table[:, 0]
    if not np.isin(labels, (0.0, 1.0)).all():
        raise DataError(f"{where}: labels must be 0 or 1")
    return table[:, 1:].astype(np.float32), labels.astype(np.int64)


def load_higgs_split(path: str | os.PathLike) -> dict:
    """A HIGGS split written by :func:`initlab.data.higgs.make_split`: ``{"x_train": float32
    (n_train, 28), "y_train": int64 in {0, 1}, "x_test", "y_test", "train_rows", "test_rows"
    (row numbers in the source file), "meta": dict (source, sha256, seed, scale, sizes)}``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            out = {k: npz[k] for k in ("x_train", "y_train", "x_test", "y_test", "train_rows", "test_rows")}
            out["meta"] = json.loads(str(npz["meta"]))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (KeyError, ValueError, OSError, zlib.error) as err:
        raise DataError(f"{path}: not a HIGGS split file ({err}); delete it and rebuild it") from None
    for split in ("train", "test"):
        x, y = out[f"x_{split}"], out[f"y_{split}"]
        if x.ndim != 2 or x.shape[1] != HIGGS_FEATURES or y.shape != (len(x),):
            raise DataError(f"{path}: {split} arrays have shapes {x.shape}, {y.shape}")
    return out
