"""Fetch a registered dataset file from a mirror or the network, verify it, and move it into place.

The file is always written under a temporary name beside its final path and renamed only after its
sha256 (and size) match the registry, so a killed transfer or a corrupt source never leaves
anything under the final name.  A file that fails verification is removed and never used.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import socket
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Callable

from .registry import DataError, DatasetFile, get

CHUNK = 1 << 20
# Seconds to wait for a connection (and for each read): short, so that an offline machine fails at
# once instead of hanging; a slow but live server still streams.
DEFAULT_TIMEOUT_S = 15.0

Opener = Callable[..., object]  # urllib.request.urlopen's signature: (url, timeout=...) -> response


def _hash_stream(chunks, limit: int | None = None) -> tuple[str, int]:
    """(sha256, size) of a byte stream; stops reading once past ``limit`` bytes (the size then
    returned is over the limit, so the caller's size check refuses it)."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            break
    return digest.hexdigest(), size


def _file_chunks(path: Path, decompress: bool):
    opener = gzip.open if decompress else open
    with opener(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def sha256_of(path: str | os.PathLike, decompress: bool = False, limit: int | None = None) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file, or of its gunzipped content when ``decompress``
    (reading stops past ``limit`` bytes: a gzip bomb is not unpacked to the end)."""
    return _hash_stream(_file_chunks(Path(path), decompress), limit)


def max_stored_size(entry: DatasetFile) -> int:
    """The most bytes a good copy of ``entry`` can have on disk: its size; for a file verified by its
    gunzipped content (any gzip level), the content size plus gzip's worst-case overhead."""
    if entry.verify == "file":
        return entry.size  # type: ignore[return-value]
    return entry.content_size + entry.content_size // 1000 + (1 << 16)  # type: ignore[operator]


def check(path: str | os.PathLike, entry: DatasetFile) -> None:
    """Raise DataError unless ``path`` matches ``entry``'s recorded sha256 and size."""
    path = Path(path)
    expected_sha, expected_size = entry.expected
    what = "decompressed content" if entry.verify == "content" else "file"
    if entry.verify == "file":
        actual_size = path.stat().st_size
        if actual_size != expected_size:
            raise DataError(f"{entry.relpath}: {what} has {actual_size} bytes, expected {expected_size} "
                            f"({'truncated' if actual_size < expected_size else 'wrong file'})")
    try:
        actual_sha, actual_size = sha256_of(path, decompress=entry.verify == "content", limit=expected_size)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{entry.relpath}: not a valid gzip stream ({err}): truncated or corrupt") from None
    if actual_size != expected_size:
        raise DataError(f"{entry.relpath}: {what} has {actual_size} bytes, expected {expected_size} "
                        f"({'truncated' if actual_size < expected_size else 'wrong file'})")
    if actual_sha != expected_sha:
        raise DataError(f"{entry.relpath}: sha256 of the {what} is {actual_sha}, expected {expected_sha} "
                        "(corrupt or a different file)")


def _tmp_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.part-{os.getpid()}")


def _remove_stale_partials(final: Path) -> None:
    """Delete temporaries of ``final`` left by killed runs (their process no longer exists)."""
    for part in final.parent.glob(f".{final.name}.part-*"):
        try:
            os.kill(int(part.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            part.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            pass  # not ours to judge: a foreign name, or a live process of another user


def _copy_from_mirror(source: Path, tmp: Path, entry: DatasetFile) -> None:
    size, limit = source.stat().st_size, max_stored_size(entry)
    if size > limit:
        raise DataError(f"{entry.relpath}: the mirror copy has {size:,} bytes, more than a good copy can have "
                        f"({limit:,}); not copied")
    shutil.copyfile(source, tmp)


def _download(url: str, tmp: Path, timeout: float, opener: Opener, log: Callable[[str], None],
              limit: int) -> None:
    with opener(url, timeout=timeout) as response, open(tmp, "wb") as out:  # type: ignore[attr-defined]
        total = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        if total is not None and int(total) > limit:
            raise DataError(f"the server announces {int(total):,} bytes, more than a good copy can have ({limit:,})")
        done, next_report = 0, 0
        while chunk := response.read(CHUNK):
            out.write(chunk)
            done += len(chunk)
            if done > limit:
                raise DataError(f"more than the {limit:,} bytes a good copy can have; download stopped")
            if done >= next_report:
                log(f"  {done / 1e6:,.0f} MB" + (f" of {int(total) / 1e6:,.0f} MB" if total else ""))
                next_report += 200 * CHUNK


def _how_to_provide(entry: DatasetFile, final: Path, mirror: Path | None) -> str:
    lines = [f"How to provide {entry.relpath}:"]
    if entry.urls:
        lines.append(f"  - download it on a machine with network access from {entry.urls[0]}")
    lines.append(f"  - put it at DIR/{entry.relpath} in a directory DIR laid out like shared/datasets "
                 "(covtype/, higgs/, mnist/, cifar10/) and pass --config data_mirror=DIR"
                 + (f" (the current mirror is {mirror})" if mirror else ""))
    lines.append(f"  - or place it at {final} yourself (then check it with "
                 f"`python -m initlab.data verify {final}`)")
    sha, size = entry.expected
    lines.append(f"Expected: {size:,} bytes {'after gunzip ' if entry.verify == 'content' else ''}with sha256 {sha}.")
    if entry.missing_note:
        lines.append(entry.missing_note)
    return "\n".join(lines)


def fetch(relpath: str, final: str | os.PathLike, mirror: str | os.PathLike | None = None,
          timeout: float = DEFAULT_TIMEOUT_S, opener: Opener = urllib.request.urlopen,
          entry: DatasetFile | None = None, log: Callable[[str], None] = print,
          bundled: str | os.PathLike | None = None) -> Path:
    """Put the verified file ``relpath`` at ``final`` and return ``final``.

    Source: for a file the repository ships (registry ``bundled``: the smoke-scale fixtures), the
    folder ``bundled`` (the repository's fixtures/datasets); else ``mirror/relpath`` when a mirror
    is given and has the file (a corrupt copy is an error, never silently replaced by a download),
    else each registered URL in turn.  Raises DataError naming the file, its URLs and how to
    provide it when no source works."""
    entry = entry or get(relpath)
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(final)
    _remove_stale_partials(final)
    mirror = Path(mirror) if mirror else None
    if entry.extra.get("bundled") and bundled is not None and (Path(bundled) / relpath).is_file():
        mirror = Path(bundled)  # the repository's own copy comes first
    try:
        if mirror is not None and (mirror / relpath).is_file():
            source = mirror / relpath
            log(f"{relpath}: copying from mirror {source}")
            try:
                _copy_from_mirror(source, tmp, entry)
                check(tmp, entry)
            except DataError as err:
                raise DataError(f"the mirror copy {source} is rejected: {err}. It was not used; the partial "
                                f"copy was removed. Replace {source} with a good copy"
                                + (f" (from {entry.urls[0]})" if entry.urls else "") + ".") from None
        else:
            failures = []
            if mirror is not None:
                failures.append(f"the data mirror {mirror} has no {relpath} (expected at {mirror / relpath}; "
                                "a mirror is laid out like shared/datasets: covtype/, higgs/, mnist/, cifar10/)")
            if not entry.urls:
                failures.append("the file has no download URL")
            for url in entry.urls:
                log(f"{relpath}: downloading {url} (timeout {timeout:g} s)")
                try:
                    _download(url, tmp, timeout, opener, log, max_stored_size(entry))
                    check(tmp, entry)
                    break
                except DataError as err:
                    failures.append(f"{url}: downloaded but rejected: {err}")
                except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as err:
                    failures.append(f"{url}: {getattr(err, 'reason', err)}")
                tmp.unlink(missing_ok=True)
            else:
                raise DataError(f"cannot get dataset file {relpath} ({entry.description}).\n"
                                + "\n".join(f"  * {f}" for f in failures) + "\n" + _how_to_provide(entry, final, mirror))
        os.replace(tmp, final)
        log(f"{relpath}: verified ({entry.verify} sha256 {entry.expected[0][:12]}...) -> {final}")
        return final
    finally:
        tmp.unlink(missing_ok=True)


def verify_existing(path: str | os.PathLike, relpath: str | None = None, remove_bad: bool = False) -> DatasetFile:
    """Check a file already on disk against the registry (by ``relpath``, or by matching the end
    of ``path``).  With ``remove_bad`` a file that fails is deleted."""
    path = Path(path)
    if relpath is None:
        from .registry import registry

        matches = [rel for rel in registry() if path.as_posix().endswith(rel)]
        if not matches:
            raise DataError(f"{path} does not end in a registered dataset path; pass its relative path")
        relpath = matches[0]
    entry = get(relpath)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        check(path, entry)
    except DataError:
        if remove_bad:
            path.unlink()
        raise
    return entry
