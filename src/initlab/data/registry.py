"""The registry of dataset files (``registry.json``): URLs, sizes and sha256 checksums.

A file is named by its path relative to the data directory, e.g. ``covtype/covtype.data.gz``;
a data mirror holds it at the same relative path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

VERIFY_MODES = ("file", "content")


class DataError(RuntimeError):
    """A dataset file is missing, corrupt, or unusable; the message says what to do."""


@dataclass(frozen=True)
class DatasetFile:
    relpath: str
    description: str
    urls: tuple[str, ...]
    verify: str  # "file": sha256 of the stored bytes; "content": sha256 of the gunzipped bytes
    sha256: str | None = None
    size: int | None = None
    content_sha256: str | None = None
    content_size: int | None = None
    md5: str | None = None
    n_rows: int | None = None
    checksum_source: str = ""
    missing_note: str = ""
    citation: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verify not in VERIFY_MODES:
            raise ValueError(f"registry entry {self.relpath}: verify={self.verify!r}, allowed {VERIFY_MODES}")
        if self.verify == "file" and not (self.sha256 and self.size):
            raise ValueError(f"registry entry {self.relpath}: verify=file needs sha256 and size")
        if self.verify == "content" and not (self.content_sha256 and self.content_size):
            raise ValueError(f"registry entry {self.relpath}: verify=content needs content_sha256 and content_size")

    @property
    def expected(self) -> tuple[str, int]:
        """(sha256, size) that verification compares against."""
        if self.verify == "file":
            return self.sha256, self.size  # type: ignore[return-value]
        return self.content_sha256, self.content_size  # type: ignore[return-value]


_FIELDS = set(DatasetFile.__dataclass_fields__) - {"relpath", "extra"}


@lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    return json.loads(resources.files("initlab.data").joinpath("registry.json").read_text())


def entry_from_dict(relpath: str, spec: dict[str, Any]) -> DatasetFile:
    known = {k: v for k, v in spec.items() if k in _FIELDS}
    known["urls"] = tuple(known.get("urls", ()))
    return DatasetFile(relpath=relpath, extra={k: v for k, v in spec.items() if k not in _FIELDS}, **known)


@lru_cache(maxsize=1)
def registry() -> dict[str, DatasetFile]:
    """Every registered file by relative path."""
    return {rel: entry_from_dict(rel, spec) for rel, spec in _raw()["files"].items()}


def get(relpath: str) -> DatasetFile:
    files = registry()
    if relpath not in files:
        raise DataError(f"unknown dataset file {relpath!r}; registered files: {', '.join(sorted(files))} "
                        "(src/initlab/data/registry.json)")
    return files[relpath]


def scale_file(relpath: str, scale: str) -> str:
    """The file a job at ``scale`` reads for the registered ``relpath``: at the smoke scale the small
    real cut shipped in fixtures/datasets (registry ``smoke_fixtures``), else ``relpath`` itself."""
    if scale == "smoke":
        return _raw()["smoke_fixtures"]["files"].get(relpath, relpath)
    return relpath


def smoke_unavailable() -> dict[str, str]:
    """Datasets with no smoke-scale fixture (so the smoke scale leaves them out), with the reason."""
    return dict(_raw()["smoke_fixtures"].get("unavailable", {}))


def registered_rows(path: str | os.PathLike) -> int | None:
    """``n_rows`` of the registered file that ``path`` is (matched by its trailing relative path)."""
    posix = Path(path).as_posix()
    for relpath, entry in registry().items():
        if posix.endswith(relpath):
            return entry.n_rows
    return None


HIGGS_SOURCES = {"full_file": "higgs/HIGGS.csv.gz", "sample": "higgs/higgs_sample_10984.csv.gz"}


def higgs_split_spec(scale: str, source: str | None = None) -> dict[str, Any]:
    """Source file, sizes and seed of the HIGGS train/test draw at ``scale``.  ``source`` (None: the
    registry's choice) names the file the draw comes from: 'full_file' (the complete UCI download)
    or 'sample' (the 10,984-row sample that only data mirrors hold); the full scale accepts only
    'full_file'."""
    spec = _raw()["higgs_split"]
    if scale not in spec["scales"]:
        raise DataError(f"no HIGGS split for scale {scale!r}; have {sorted(spec['scales'])}")
    out = {"scale": scale, "seed": spec["seed"], **spec["scales"][scale]}
    if source is not None:
        if source not in HIGGS_SOURCES:
            raise DataError(f"HIGGS source {source!r}; allowed: {', '.join(HIGGS_SOURCES)}")
        if scale == "full" and source != "full_file":
            raise DataError("the full scale draws the paper's 100k/20k rows from the complete UCI file only; "
                            f"HIGGS source {source!r} is for the quick and smoke scales")
        out["source"] = HIGGS_SOURCES[source]
    return out
