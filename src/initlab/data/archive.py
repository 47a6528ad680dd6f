"""Safe tar extraction: no member may land outside the target directory.

Every member is checked before anything is written (absolute names, ``..`` components, links
whose target resolves outside the target, device files and FIFOs are refused), and extraction then
runs with tarfile's ``"data"`` filter (PEP 706) as a second line of defence.  Files go to a
temporary directory beside the target and are moved into place only when everything succeeded.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import Iterable

from .registry import DataError


def _inside(root: Path, candidate: Path) -> bool:
    try:
        candidate.relative_to(root)
        return True
    except ValueError:
        return False


def check_members(tar: tarfile.TarFile, root: Path) -> list[tarfile.TarInfo]:
    """Return the members if every one stays inside ``root``; raise DataError naming the first that does not."""
    root = root.resolve()
    members = tar.getmembers()
    for m in members:
        name = PurePosixPath(m.name)
        if name.is_absolute() or m.name.startswith(("/", "\\")) or (len(m.name) > 1 and m.name[1] == ":"):
            raise DataError(f"tar member {m.name!r} has an absolute path; refusing to extract")
        if ".." in name.parts:
            raise DataError(f"tar member {m.name!r} contains '..'; refusing to extract")
        target = (root / name).resolve()
        if not _inside(root, target):
            raise DataError(f"tar member {m.name!r} would land outside {root}; refusing to extract")
        if m.issym() or m.islnk():
            link = PurePosixPath(m.linkname)
            base = root if m.islnk() else (root / name).parent
            link_target = (base / link).resolve() if not link.is_absolute() else Path(link)
            if link.is_absolute() or not _inside(root, link_target):
                raise DataError(f"tar member {m.name!r} links to {m.linkname!r}, outside {root}; refusing to extract")
        elif not (m.isfile() or m.isdir()):
            raise DataError(f"tar member {m.name!r} is a device, FIFO or other special file; refusing to extract")
    return members


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike,
                 only: Iterable[str] | None = None) -> list[Path]:
    """Extract ``archive`` (any tarfile compression) into ``target`` and return the extracted
    regular files.  With ``only``, extract just those member names (each must exist)."""
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f".extract-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = check_members(tar, staging)
                if only is not None:
                    wanted = set(only)
                    by_name = {m.name: m for m in members}
                    missing = sorted(wanted - set(by_name))
                    if missing:
                        raise DataError(f"{archive}: members {missing} not in the archive")
                    members = [by_name[n] for n in sorted(wanted)]
                tar.extractall(staging, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError) as err:
            raise DataError(f"{archive}: cannot extract ({err}): truncated or corrupt archive") from None
        extracted = []
        for m in members:
            if not m.isfile():
                continue
            dest = target / m.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / m.name, dest)
            extracted.append(dest)
        return extracted
    finally:
        shutil.rmtree(staging, ignore_errors=True)
