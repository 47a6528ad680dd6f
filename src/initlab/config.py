"""Scale presets and config resolution.

Every per-paper parameter in ``config/<paper>.yaml`` is either a plain value (the same at every
scale) or a *scale map* ``{full: ..., quick: ..., smoke: ...}``.  ``resolve`` picks the value of
one scale.  Because Snakemake merges ``--config`` overrides recursively into the config, a user
can override one scale (``--config lyapunov='{fig01: {n_chains: {smoke: 50}}}'``) or all scales
at once with a plain value (``--config lyapunov='{fig01: {n_chains: 50}}'``).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema

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


_INT = re.compile(r"[-+]?\d+$")
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def coerce_scalars(value: Any) -> Any:
    """Type the string leaves that Snakemake's ``--config`` parser leaves untyped.

    ``--config lyapunov='{fig01: {n_networks: 50}}'`` arrives as the *string* '50' (Snakemake loads
    nested values with YAML's BaseLoader); numbers, booleans and null written as text become typed."""
    if isinstance(value, dict):
        return {k: coerce_scalars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [coerce_scalars(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if _INT.match(text):
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        if text.lower() in ("null", "~"):
            return None
    return value


def check_against_schema(data: Any, schema_path: str | Path, where: str, scale: str | None = None) -> None:
    """Raise ConfigError with one line naming the offending key and what is allowed."""
    schema = json.loads(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return
    key = ".".join([where, *map(str, error.absolute_path)] if where else map(str, error.absolute_path))
    at_scale = f" at scale '{scale}'" if scale else ""
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        prefix = f"{key}." if key else ""
        raise ConfigError(f"unknown config key(s) {', '.join(prefix + u for u in unknown)}{at_scale}; "
                          f"allowed here: {', '.join(allowed)}")
    allowed = error.schema.get("description", "")
    if error.validator == "enum":
        allowed = "allowed: " + ", ".join(map(str, error.validator_value))
    elif error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "type",
                             "minItems", "required"):
        allowed = f"{error.validator} {error.validator_value}" + (f" ({allowed})" if allowed else "")
    raise ConfigError(f"config key '{key or '<top level>'}'{at_scale}: {error.message}; {allowed}")


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
