"""Scale presets and config resolution.

Every per-paper parameter in ``config/<paper>.yaml`` is either a plain value (the same at every
scale) or a *scale map* ``{full: ..., quick: ..., smoke: ...}``.  ``resolve`` picks the value of
one scale.  Because Snakemake merges ``--config`` overrides recursively into the config, a user
can override one scale (``--config lyapunov='{fig01: {n_chains: {smoke: 50}}}'``) or all scales
at once with a plain value (``--config lyapunov='{fig01: {n_chains: 50}}'``).
"""

from __future__ import annotations

import copy
import difflib
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


def _close_scale(key: Any) -> str | None:
    """The scale name ``key`` is a likely misspelling of (difflib, case-insensitive), or None."""
    match = difflib.get_close_matches(str(key).lower(), SCALES, n=1, cutoff=0.75)
    return match[0] if match else None


def unknown_scales(value: Any) -> list[str]:
    """The keys of a would-be scale map that are no scale: a dict is taken for a scale map when one
    of its keys is a scale name or every key is close to one (``{smok: 3}``); [] otherwise.  No
    config section has keys that are, or resemble, scale names (``score``, ``slope`` and ``model``
    are not close enough)."""
    if not isinstance(value, dict) or not value or is_scale_map(value):
        return []
    keys = list(value)
    if set(keys) & set(SCALES) or all(_close_scale(k) for k in keys):
        return [str(k) for k in keys if k not in SCALES]
    return []


def resolve(section: Any, scale: str, where: str = "") -> Any:
    """Return ``section`` with every scale map replaced by its value at ``scale``."""
    if scale not in SCALES:
        raise ConfigError(f"config key 'scale' is {scale!r}; allowed: {', '.join(SCALES)}")
    typos = unknown_scales(section)
    if typos:
        hints = [f"{t!r} (did you mean {_close_scale(t)!r}?)" if _close_scale(t) else repr(t) for t in typos]
        raise ConfigError(
            f"config key '{where}': unknown scale{'s' if len(typos) > 1 else ''} {', '.join(hints)} in a scale "
            f"map; scales are {', '.join(SCALES)}"
        )
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


def _coerce_text(text: str) -> Any:
    """A command-line string typed the way YAML would type it (int, float, bool, null, else the string)."""
    stripped = text.strip()
    if _INT.match(stripped):
        return int(stripped)
    if _FLOAT.match(stripped):
        return float(stripped)
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if stripped.lower() in ("null", "~"):
        return None
    return text


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null",
               list: "array", dict: "object"}


def _json_type(value: Any) -> str | None:
    return _JSON_TYPES.get(type(value))


def _fits(value: Any, types: set[str]) -> bool:
    kind = _json_type(value)
    return kind in types or (kind == "integer" and "number" in types) or (
        kind == "number" and "integer" in types and float(value).is_integer())


def _deref(schema: Any, root: dict) -> Any:
    """``schema`` with a local ``$ref`` (``#/$defs/...``) followed."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        node: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema, seen = node, seen + 1
    return schema if isinstance(schema, dict) else {}


def _branches(schema: dict, root: dict) -> list[dict]:
    """The schema and its anyOf / oneOf / allOf alternatives, dereferenced."""
    schema = _deref(schema, root)
    out = [schema]
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            out.extend(_branches(branch, root))
    return out


def _allowed_types(schema: dict | None, root: dict) -> set[str] | None:
    """JSON types a value may have under ``schema`` (from type, enum and const); None: unconstrained."""
    if schema is None:
        return None
    types: set[str] = set()
    constrained = False
    for branch in _branches(schema, root):
        if "type" in branch:
            constrained = True
            types |= {branch["type"]} if isinstance(branch["type"], str) else set(branch["type"])
        for values in ([branch["const"]] if "const" in branch else [], branch.get("enum", [])):
            for v in values:
                constrained = True
                types.add(_json_type(v) or "string")
    return types if constrained else None


def _child(schema: dict | None, root: dict, key: Any = None, item: bool = False) -> dict | None:
    """The schema of property ``key`` (or of an array item) under ``schema``; None when unknown."""
    if schema is None:
        return None
    for branch in _branches(schema, root):
        if item and isinstance(branch.get("items"), dict):
            return branch["items"]
        if not item:
            if key in branch.get("properties", {}):
                return branch["properties"][key]
            if isinstance(branch.get("additionalProperties"), dict):
                return branch["additionalProperties"]
    return None


def coerce_scalars(value: Any, schema: dict | str | Path | None = None, _root: dict | None = None) -> Any:
    """Type the string leaves that Snakemake's ``--config`` parser leaves untyped, as the schema wants.

    ``--config lyapunov='{fig01: {n_networks: 50}}'`` arrives as the *string* '50' (Snakemake loads
    nested values with YAML's BaseLoader); numbers, booleans and null written as text become typed.
    With a ``schema`` (a JSON schema or its path) the coercion follows it: where the schema wants a
    string, a digit-only string stays a string and a number (``--config data_dir=2024``, which
    Snakemake types at the top level) becomes its string form; elsewhere as without a schema."""
    if isinstance(schema, (str, Path)):
        schema = json.loads(Path(schema).read_text())
    root = _root if _root is not None else (schema or {})
    if isinstance(value, dict):
        return {k: coerce_scalars(v, _child(schema, root, k), root) if schema is not None else coerce_scalars(v)
                for k, v in value.items()}
    if isinstance(value, list):
        item = _child(schema, root, item=True) if schema is not None else None
        return [coerce_scalars(v, item, root) if item is not None else coerce_scalars(v) for v in value]
    allowed = _allowed_types(schema, root) if schema is not None else None
    if isinstance(value, str):
        typed = _coerce_text(value)
        if allowed is None or _fits(typed, allowed) or "string" not in allowed:
            return typed
        return value  # the schema wants a string: '2024' stays '2024'
    if (allowed is not None and "string" in allowed and not _fits(value, allowed)
            and isinstance(value, (bool, int, float))):
        return str(value)  # data_dir=2024 on the command line: YAML made it a number
    return value


def coerce_config(config: dict, schema: dict | str | Path, skip: tuple[str, ...] = PAPERS) -> dict:
    """The top-level keys of ``config`` (without the per-paper sections in ``skip``, which are coerced
    per scale after resolution) coerced with ``coerce_scalars`` against the top-level schema."""
    return coerce_scalars({k: v for k, v in config.items() if k not in skip}, schema)


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
