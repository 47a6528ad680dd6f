"""Safe tar extraction (crafted malicious archives) and the CIFAR-10 binary layout."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from initlab.data import DataError, load_cifar10, safe_extract
from initlab.data.loaders import CIFAR10_DIR, CIFAR10_RECORD, CIFAR10_TEST_BATCH, CIFAR10_TRAIN_BATCHES

REPO = Path(__file__).resolve().parents[1]


def _add_file(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def _add_link(tar: tarfile.TarFile, name: str, target: str, kind=tarfile.SYMTYPE) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    tar.addfile(info)


def _tar(path: Path, build) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        _add_file(tar, "good/first.txt", b"harmless")
        build(tar)
    return path


MALICIOUS = {
    "absolute": lambda t: _add_file(t, "/tmp/initlab-evil-absolute.txt", b"x"),
    "dotdot": lambda t: _add_file(t, "good/../../evil.txt", b"x"),
    "dotdot_leading": lambda t: _add_file(t, "../evil.txt", b"x"),
    "symlink_out_absolute": lambda t: _add_link(t, "good/passwd", "/etc/passwd"),
    "symlink_out_relative": lambda t: _add_link(t, "good/up", "../../outside"),
    "hardlink_out": lambda t: _add_link(t, "good/hard", "../outside.txt", tarfile.LNKTYPE),
    "symlink_then_write_through": lambda t: (_add_link(t, "good/dir", "../.."), _add_file(t, "good/dir/evil.txt", b"x")),
    "device": lambda t: t.addfile(_device_info()),
}


def _device_info() -> tarfile.TarInfo:
    info = tarfile.TarInfo("good/dev")
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info


@pytest.mark.parametrize("kind", sorted(MALICIOUS))
def test_malicious_tar_refused(tmp_path, kind):
    archive = _tar(tmp_path / f"{kind}.tar.gz", MALICIOUS[kind])
    target = tmp_path / "sandbox" / "target"
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(DataError, match="refusing to extract"):
        safe_extract(archive, target)
    after = sorted(p for p in tmp_path.rglob("*"))
    # nothing was written anywhere (target itself is created, empty; no staging left behind)
    assert [p for p in after if p not in before] in ([target.parent, target], [target])
    assert list(target.iterdir()) == []
    assert not Path("/tmp/initlab-evil-absolute.txt").exists()


def test_benign_tar_extracts_and_selects(tmp_path):
    def build(tar):
        _add_file(tar, "good/second.bin", bytes(range(256)))
        _add_link(tar, "good/inner_link", "first.txt")  # a link that stays inside is fine

    archive = _tar(tmp_path / "ok.tar.gz", build)
    files = safe_extract(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in files) == ["good/first.txt", "good/second.bin"]
    assert (tmp_path / "out/good/second.bin").read_bytes() == bytes(range(256))
    only = safe_extract(archive, tmp_path / "only", only=["good/second.bin"])
    assert [p.name for p in only] == ["second.bin"] and not (tmp_path / "only/good/first.txt").exists()
    with pytest.raises(DataError, match="not in the archive"):
        safe_extract(archive, tmp_path / "missing", only=["good/none"])


def test_truncated_tar_rejected(tmp_path):
    archive = _tar(tmp_path / "ok.tar.gz", lambda t: _add_file(t, "good/big.bin", np.random.default_rng(0).bytes(100_000)))
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        safe_extract(cut, tmp_path / "out")
    assert not (tmp_path / "out" / "good" / "big.bin").exists()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "..", "."]), min_size=1, max_size=6))
def test_dotdot_names_never_escape(tmp_path_factory, parts):
    """Any member name with a '..' component is refused; any other lands inside the target."""
    tmp = tmp_path_factory.mktemp("h")
    name = "/".join(parts + ["f.txt"])
    with tarfile.open(tmp / "h.tar", "w") as tar:
        _add_file(tar, name, b"x")
    if ".." in parts:
        with pytest.raises(DataError):
            safe_extract(tmp / "h.tar", tmp / "out")
    else:
        [path] = safe_extract(tmp / "h.tar", tmp / "out")
        assert path.resolve().is_relative_to((tmp / "out").resolve())


# ---- CIFAR-10 binary layout -----------------------------------------------------------------------
def _cifar_archive(tmp_path: Path, per_batch: int) -> tuple[Path, dict]:
    rng = np.random.default_rng(1)
    truth = {}
    with tarfile.open(tmp_path / "cifar-10-binary.tar.gz", "w:gz") as tar:
        for name in (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH):
            labels = rng.integers(0, 10, per_batch, dtype=np.uint8)
            pixels = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
            truth[name] = (labels, pixels)
            records = b"".join(bytes([labels[i]]) + pixels[i].tobytes() for i in range(per_batch))
            _add_file(tar, f"{CIFAR10_DIR}/{name}", records)
        _add_file(tar, f"{CIFAR10_DIR}/batches.meta.txt",
                  b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")
    return tmp_path / "cifar-10-binary.tar.gz", truth


def test_cifar10_layout(tmp_path):
    archive, truth = _cifar_archive(tmp_path, per_batch=4)
    safe_extract(archive, tmp_path / "cifar10")
    data = load_cifar10(tmp_path / "cifar10", expected_per_batch=4)
    assert data["train_images"].shape == (20, 3, 32, 32) and data["train_images"].dtype == np.uint8
    assert data["test_images"].shape == (4, 3, 32, 32) and data["test_labels"].dtype == np.int64
    # record i of batch 2 = label byte, then the red, green, blue 32x32 planes
    labels, pixels = truth["data_batch_2.bin"]
    np.testing.assert_array_equal(data["train_images"][4:8], pixels)
    np.testing.assert_array_equal(data["train_labels"][4:8], labels)
    assert list(data["label_names"])[:2] == ["airplane", "automobile"]
    with pytest.raises(DataError, match="records, expected 10000"):
        load_cifar10(tmp_path / "cifar10")


def test_cifar10_corrupt_batch(tmp_path):
    archive, _ = _cifar_archive(tmp_path, per_batch=2)
    safe_extract(archive, tmp_path / "cifar10")
    batch = tmp_path / "cifar10" / CIFAR10_DIR / "data_batch_3.bin"
    batch.write_bytes(batch.read_bytes()[:-7])
    with pytest.raises(DataError, match=f"whole number of {CIFAR10_RECORD}-byte records"):
        load_cifar10(tmp_path / "cifar10", expected_per_batch=2)


def test_cifar10_extract_script(tmp_path):
    """The workflow script extracts only the batches and removes outputs when the check fails."""
    archive, _ = _cifar_archive(tmp_path, per_batch=3)
    outputs = [str(tmp_path / "data/cifar10" / CIFAR10_DIR / n)
               for n in (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH, "batches.meta.txt")]
    run = subprocess.run([sys.executable, str(REPO / "workflow/scripts/data_cifar10_extract.py"), str(archive),
                          *outputs], capture_output=True, text=True)
    # 3 records per batch is not the real 10,000: the layout check fails and nothing is kept
    assert run.returncode == 1 and "expected 10000" in run.stderr
    assert not any(Path(p).exists() for p in outputs)
