"""Verified dataset files: a cache that forced reruns cannot delete, and cheap checks on every use.

Layout under the data directory ``D``:

- ``D/<relpath>``: the file the rules declare (the fetch rule's output; Snakemake deletes it on
  ``--forcerun``/``-F`` before rerunning the fetch);
- ``D/.verified/<relpath>``: the kept copy of every registered file once verified (no rule declares
  it, so Snakemake never deletes it); ``D/<relpath>`` is a hard link to it (a copy across devices).
  A forced fetch restores the file from here, offline, without network or mirror;
- ``D/.verified/<relpath>.json``: the stamp: size, mtime and sha256 of the file when it was last
  verified (for a derived file, such as a HIGGS split: when the pipeline made it).

Every job that reads a dataset calls :func:`verify_on_use`: unchanged size and mtime mean the
stamp's hash holds (no re-hash); otherwise the file is hashed again and refused unless it matches
the registry (a registered file) or the stamp (a derived file).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

from .fetch import check, fetch, sha256_of
from .registry import DataError, registry

CACHE_DIR = ".verified"


def cache_path(data_dir: str | os.PathLike, relpath: str) -> Path:
    return Path(data_dir) / CACHE_DIR / relpath


def stamp_path(data_dir: str | os.PathLike, relpath: str) -> Path:
    return Path(data_dir) / CACHE_DIR / f"{relpath}.json"


def data_dir_of(path: str | os.PathLike, relpath: str) -> Path:
    """The data directory of ``path`` = ``<data_dir>/<relpath>``."""
    posix = Path(path).as_posix()
    if not posix.endswith(relpath):
        raise ValueError(f"{path} does not end in {relpath}")
    return Path(posix[: -len(relpath)] or ".")


def _read_stamp(data_dir: Path, relpath: str) -> dict[str, Any] | None:
    try:
        return json.loads(stamp_path(data_dir, relpath).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def record(path: str | os.PathLike, data_dir: str | os.PathLike, relpath: str, origin: str,
           sha256: str | None = None) -> dict[str, Any]:
    """Write the stamp of ``path`` (hashing it unless ``sha256`` is given); returns the stamp."""
    stat = Path(path).stat()
    stamp = {"relpath": relpath, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
             "sha256": sha256 or sha256_of(path)[0], "origin": origin,
             "recorded_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    target = stamp_path(data_dir, relpath)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(stamp, indent=1) + "\n")
    os.replace(tmp, target)
    return stamp


def _refuse(path: Path, reason: str, registered: bool) -> DataError:
    fix = ("delete it and rerun: the fetch rule restores the verified copy (from "
           f"{CACHE_DIR}/, the data mirror or the download)" if registered else
           "delete it and rerun: the rule that made it makes it again")
    return DataError(f"dataset file {path} is refused: {reason}; {fix}")


def verify_on_use(path: str | os.PathLike, relpath: str, data_dir: str | os.PathLike | None = None) -> str:
    """The sha256 of ``path`` (the stored bytes), after checking that it is the verified file.

    Cheap when nothing changed (one ``stat``). A registered file that changed (or was placed by
    hand) is re-hashed against the registry and stamped if it matches; a derived file must match
    the stamp its rule wrote. Raises DataError naming the file and the fix otherwise."""
    path = Path(path)
    data_dir = data_dir_of(path, relpath) if data_dir is None else Path(data_dir)
    entry = registry().get(relpath)
    if not path.is_file():
        raise DataError(f"dataset file {path} is missing; rerun the workflow to fetch or make it")
    stat = path.stat()
    stamp = _read_stamp(data_dir, relpath)
    if stamp and stamp["size"] == stat.st_size and stamp["mtime_ns"] == stat.st_mtime_ns:
        return stamp["sha256"]
    if entry is not None:
        try:
            check(path, entry)
        except DataError as err:
            raise _refuse(path, f"it no longer matches the registry ({err})", registered=True) from None
        return record(path, data_dir, relpath, origin="verified on use")["sha256"]
    if stamp is None:
        raise _refuse(path, "the pipeline has no record of making it", registered=False)
    sha = sha256_of(path)[0]
    if sha != stamp["sha256"]:
        raise _refuse(path, f"it changed since {stamp['origin']} made it (sha256 {sha[:12]}..., "
                            f"recorded {stamp['sha256'][:12]}...)", registered=False)
    return record(path, data_dir, relpath, origin=stamp["origin"], sha256=sha)["sha256"]


def _link_or_copy(source: Path, final: Path) -> None:
    tmp = final.with_name(f".{final.name}.link-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:  # another device, or no hard links: a copy (copy2 keeps the mtime, so the stamp holds)
        shutil.copy2(source, tmp)
    os.replace(tmp, final)


def fetch_verified(relpath: str, final: str | os.PathLike, mirror: str | os.PathLike | None = None,
                   log: Callable[[str], None] = print, **fetch_options) -> Path:
    """Put the verified registered file ``relpath`` at ``final`` (= ``<data_dir>/<relpath>``): from
    the kept copy in ``<data_dir>/.verified/`` when it is still good (no network, no mirror), else
    fetched (mirror, then URLs) into that cache first. Returns ``final``."""
    final = Path(final)
    data_dir = data_dir_of(final, relpath)
    cached = cache_path(data_dir, relpath)
    if cached.is_file():
        try:
            verify_on_use(cached, relpath, data_dir)
            log(f"{relpath}: restored from the verified copy {cached}")
        except DataError as err:
            log(f"{relpath}: the kept copy is not used ({err}); fetching again")
            cached.unlink()
    if not cached.is_file():
        fetch(relpath, cached, mirror=mirror, log=log, **fetch_options)
        entry = registry()[relpath]
        record(cached, data_dir, relpath, origin="fetch",
               sha256=entry.sha256 if entry.verify == "file" else None)
    final.parent.mkdir(parents=True, exist_ok=True)
    _link_or_copy(cached, final)
    return final
