"""Scale presets and config resolution.

Every per-paper parameter in ``config/<paper>.yaml`` is either a plain value (the same at every
scale) or a *scale map* ``{full: ..., quick: ..., smoke: ...}``.  ``resolve`` picks the value of
one scale.  Because Snakemake merges ``--config`` overrides recursively into the config, a user
can override one scale (``--config lyapunov='{fig01: {n_chains: {smoke: 50}}}'``) or all scales
at once with a plain value (``--config lyapunov='{fig01: {n_chains: 50}}'``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

SCALES = ("full", "quick", "smoke")
PAPERS = ("decay", "ldlt", "fractional", "lyapunov")


class ConfigError(ValueError):
    """A config value is invalid; the message names the key and what is allowed."""


def is_scale_map(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= set(SCALES)


def resolve(section: Any, scale: str, where: str = "") -> Any:
    """Return ``section`` with every scale map replaced by its value at ``scale``."""
    if scale not in SCALES:
        raise ConfigError(f"config key 'scale' is {scale!r}; allowed: {', '.join(SCALES)}")
    if is_scale_map(section):
        if scale not in section:
            raise ConfigError(
                f"config key '{where}' is a scale map without a '{scale}' entry "
                f"(has {sorted(section)}); give all of {', '.join(SCALES)} or a plain value"
            )
        return resolve(section[scale], scale, where)
    if isinstance(section, dict):
        return {k: resolve(v, scale, f"{where}.{k}" if where else str(k)) for k, v in section.items()}
    if isinstance(section, list):
        return [resolve(v, scale, where) for v in section]
    return copy.deepcopy(section)


def check_data_mirror(mirror: str | None) -> Path | None:
    """The mirror must be an existing directory when set (empty or null means: download)."""
    if not mirror:
        return None
    path = Path(mirror).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"config key 'data_mirror' is {mirror!r}, which is not an existing directory; "
            "point it at a folder laid out like shared/datasets (e.g. "
            "--config data_mirror=../shared/datasets) or leave it empty to download"
        )
    return path.resolve()
