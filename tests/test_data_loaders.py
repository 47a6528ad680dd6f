"""Loaders on the real mirror data (shapes, dtypes, label ranges, cross-checked by independent
parsing) and the deterministic HIGGS split (the full scale refuses the sample)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from initlab.data import DataError, load_covtype, load_higgs_split, load_mnist, make_split, read_idx
from initlab.data.higgs import SAMPLE_FILE, draw_rows, read_rows
from initlab.data.registry import higgs_split_spec

# needs the real datasets: the mirror at $INITLAB_DATA_MIRROR (opt in with -m mirror; .ci/run does)
pytestmark = pytest.mark.mirror

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("INITLAB_DATA_MIRROR", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="module")
def mirror() -> Path:
    assert MIRROR.is_dir(), f"data mirror {MIRROR} not found: set INITLAB_DATA_MIRROR"
    return MIRROR


@pytest.fixture(scope="module")
def sample_table(mirror) -> np.ndarray:
    """The HIGGS sample parsed independently of initlab (numpy.loadtxt instead of pandas)."""
    return np.loadtxt(mirror / SAMPLE_FILE, delimiter=",", dtype=np.float64)


# ---- Covertype ------------------------------------------------------------------------------------
def test_covtype(mirror):
    features, labels = load_covtype(mirror / "covtype/covtype.data.gz")
    assert features.shape == (581_012, 54) and features.dtype == np.float32
    assert labels.shape == (581_012,) and labels.dtype == np.int64
    assert set(np.unique(labels)) == set(range(7))
    # UCI layout: columns 10-13 one-hot wilderness area, 14-53 one-hot soil type
    assert (features[:, 10:14].sum(axis=1) == 1).all() and (features[:, 14:54].sum(axis=1) == 1).all()
    # first row, from an independent read of the raw text
    with gzip.open(mirror / "covtype/covtype.data.gz", "rt") as fh:
        first = [int(v) for v in fh.readline().split(",")]
    np.testing.assert_array_equal(features[0], np.array(first[:54], dtype=np.float32))
    assert labels[0] == first[54] - 1


def test_covtype_rejects_bad_files(tmp_path):
    wrong_cols = tmp_path / "cols.data"
    wrong_cols.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="3 columns, expected 55"):
        load_covtype(wrong_cols, expected_rows=None)
    short = tmp_path / "short.data"
    row = ",".join(["0"] * 10 + ["1", "0", "0", "0"] + ["1"] + ["0"] * 39 + ["2"])
    short.write_text(row + "\n" + row + "\n")
    with pytest.raises(DataError, match="2 rows, expected 581012"):
        load_covtype(short)
    features, labels = load_covtype(short, expected_rows=None)
    assert features.shape == (2, 54) and labels.tolist() == [1, 1]
    bad_label = tmp_path / "label.data"
    bad_label.write_text(row[:-1] + "9\n")
    with pytest.raises(DataError, match="Cover_Type outside 1..7"):
        load_covtype(bad_label, expected_rows=None)
    truncated = tmp_path / "t.data.gz"
    truncated.write_bytes(gzip.compress((row + "\n").encode() * 500)[:-30])
    with pytest.raises(DataError):
        load_covtype(truncated, expected_rows=None)


# ---- MNIST --------------------------------------------------------------------------------------------
def test_mnist(mirror):
    data = load_mnist(mirror / "mnist")
    for split, n in (("train", 60_000), ("test", 10_000)):
        assert data[f"{split}_images"].shape == (n, 28, 28) and data[f"{split}_images"].dtype == np.uint8
        assert data[f"{split}_labels"].shape == (n,) and data[f"{split}_labels"].dtype == np.int64
        assert set(np.unique(data[f"{split}_labels"])) == set(range(10))
    # independent parse of the IDX bytes: 16-byte header for images, 8 for labels
    raw = gzip.decompress((mirror / "mnist/t10k-images-idx3-ubyte.gz").read_bytes())
    np.testing.assert_array_equal(data["test_images"][-1].ravel(), np.frombuffer(raw[-784:], dtype=np.uint8))
    labels = gzip.decompress((mirror / "mnist/t10k-labels-idx1-ubyte.gz").read_bytes())
    assert data["test_labels"][:20].tolist() == list(labels[8:28])
    same = load_mnist({k: mirror / "mnist" / f for k, f in
                       {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
                        "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}.items()})
    np.testing.assert_array_equal(same["train_labels"], data["train_labels"])


def test_idx_rejects_corrupt(tmp_path):
    good = np.arange(12, dtype=np.uint8)
    header = bytes([0, 0, 8, 3]) + np.array([2, 2, 3], dtype=">u4").tobytes()
    (tmp_path / "ok.idx").write_bytes(header + good.tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "ok.idx"), good.reshape(2, 2, 3))
    (tmp_path / "short.idx").write_bytes(header + good.tobytes()[:-1])
    with pytest.raises(DataError, match="header says shape"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "magic.idx").write_bytes(b"\x1f\x8b" + header[2:] + good.tobytes())
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "magic.idx")
    (tmp_path / "cut.idx.gz").write_bytes(gzip.compress(header + good.tobytes())[:-6])
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_idx(tmp_path / "cut.idx.gz")


# ---- HIGGS split -----------------------------------------------------------------------------------------
def test_higgs_split_matches_source_rows(mirror, tmp_path, sample_table):
    meta = make_split(mirror / SAMPLE_FILE, "smoke", tmp_path / "split.npz")
    split = load_higgs_split(tmp_path / "split.npz")
    spec = higgs_split_spec("smoke")
    assert split["x_train"].shape == (spec["n_train"], 28) and split["x_test"].shape == (spec["n_test"], 28)
    assert split["x_train"].dtype == np.float32 and split["y_train"].dtype == np.int64
    assert set(np.unique(split["y_train"])) == {0, 1}
    assert not set(split["train_rows"]) & set(split["test_rows"])
    for part in ("train", "test"):
        rows = split[f"{part}_rows"]
        np.testing.assert_array_equal(split[f"x_{part}"], sample_table[rows, 1:].astype(np.float32))
        np.testing.assert_array_equal(split[f"y_{part}"], sample_table[rows, 0].astype(np.int64))
    assert split["meta"] == meta and meta["source"] == SAMPLE_FILE and meta["seed"] == spec["seed"]


def test_higgs_split_deterministic(mirror, tmp_path):
    make_split(mirror / SAMPLE_FILE, "quick", tmp_path / "a.npz")
    make_split(mirror / SAMPLE_FILE, "quick", tmp_path / "b.npz")
    a, b = load_higgs_split(tmp_path / "a.npz"), load_higgs_split(tmp_path / "b.npz")
    for key in ("x_train", "y_train", "x_test", "y_test", "train_rows", "test_rows"):
        np.testing.assert_array_equal(a[key], b[key])
    # quick uses every row of the sample exactly once
    assert sorted(np.concatenate([a["train_rows"], a["test_rows"]]).tolist()) == list(range(10_984))
    other = dict(higgs_split_spec("quick"), seed=higgs_split_spec("quick")["seed"] + 1)
    make_split(mirror / SAMPLE_FILE, "quick", tmp_path / "c.npz", spec=other)
    assert not np.array_equal(load_higgs_split(tmp_path / "c.npz")["test_rows"], a["test_rows"])


def test_split_refuses_unverified_source(mirror, tmp_path):
    """A source placed by hand is verified before use: a one-byte change in the content is refused."""
    raw = bytearray(gzip.decompress((mirror / SAMPLE_FILE).read_bytes()))
    raw[100] = ord("7") if raw[100] != ord("7") else ord("8")
    bad = tmp_path / "higgs_sample_10984.csv.gz"
    bad.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="sha256 of the decompressed content"):
        make_split(bad, "smoke", tmp_path / "split.npz")
    assert not (tmp_path / "split.npz").exists()


def test_full_scale_refuses_sample(mirror, tmp_path):
    with pytest.raises(DataError) as err:
        make_split(mirror / SAMPLE_FILE, "full", tmp_path / "full.npz", source_relpath=SAMPLE_FILE)
    message = str(err.value)
    assert "full scale needs the complete UCI HIGGS file" in message and "never substituted" in message
    assert not (tmp_path / "full.npz").exists()
    # the script exits with the same message and writes nothing
    run = subprocess.run([sys.executable, str(REPO / "workflow/scripts/data_higgs_split.py"), "--source",
                          str(mirror / SAMPLE_FILE), "--scale", "full", "--output", str(tmp_path / "s.npz")],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "never substituted" in run.stderr and not (tmp_path / "s.npz").exists()


def test_streaming_row_reader(tmp_path):
    """The full-scale path (stream a gzip file, keep drawn rows) on a synthetic 50-row file."""
    rng = np.random.default_rng(3)
    table = np.column_stack([rng.integers(0, 2, 50), rng.normal(size=(50, 28))])
    path = tmp_path / "mini.csv.gz"
    with gzip.open(path, "wt") as fh:
        np.savetxt(fh, table, delimiter=",", fmt="%.9g")
    train, test = draw_rows(50, 12, 5, seed=7)
    rows = np.concatenate([train, test])
    x, y = read_rows(path, rows, n_rows=50)
    np.testing.assert_allclose(x, table[rows, 1:].astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(y, table[rows, 0])
    with pytest.raises(DataError, match="50 rows, expected 60"):
        read_rows(path, rows, n_rows=60)
    with pytest.raises(DataError, match="needs n_train \\+ n_test = 51"):
        draw_rows(50, 46, 5, seed=0)
