"""A fingerprint of the code that runs: the source files of the imported ``initlab`` package.

Not the working directory's git state: a job imports ``initlab`` from wherever it was installed,
and a checkpoint or result must name the code that produced it.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def code_fingerprint(root: Path = PACKAGE_DIR) -> str:
    """sha256 (first 16 hex digits) over the relative paths and contents of every ``.py`` and
    ``.json`` file of the package, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".json") and p.is_file()
                       and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
