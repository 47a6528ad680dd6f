"""Config resolution and validation: bad values stop before any job runs, naming the key."""

import subprocess
import sys

import pytest

from initlab.config import ConfigError, check_data_mirror, coerce_scalars, resolve


def test_scale_maps_resolve_per_scale_and_plain_values_everywhere():
    section = {"job": {"n": {"full": 100, "quick": 10, "smoke": 2}, "slope": 0.1,
                       "widths": {"full": [1, 2], "quick": [1], "smoke": [1]}}}
    assert resolve(section, "quick", "paper") == {"job": {"n": 10, "slope": 0.1, "widths": [1]}}
    assert resolve(section, "full", "paper")["job"]["widths"] == [1, 2]


def test_partial_scale_map_names_the_key():
    with pytest.raises(ConfigError, match=r"paper\.job\.n.*'smoke'"):
        resolve({"job": {"n": {"full": 1, "quick": 2}}}, "smoke", "paper")


def test_unknown_scale_is_rejected():
    with pytest.raises(ConfigError, match="allowed: full, quick, smoke"):
        resolve({}, "huge")


def test_command_line_strings_are_typed():
    assert coerce_scalars({"a": "50", "b": "-1e-3", "c": ["1", "x"], "d": "True", "e": "auto"}) == {
        "a": 50, "b": -1e-3, "c": [1, "x"], "d": True, "e": "auto"}


def test_data_mirror_must_exist(tmp_path):
    assert check_data_mirror("") is None
    assert check_data_mirror(str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(ConfigError, match="data_mirror.*not an existing directory"):
        check_data_mirror(str(tmp_path / "missing"))


@pytest.mark.parametrize("override,expected", [
    ("scale=huge", r"config key 'scale'.*allowed: full, quick, smoke"),
    ("lyapunov={fig01: {n_networks: -5}}", r"lyapunov\.fig01\.n_networks.*minimum"),
    ("lyapunov={fig01: {n_networks: {smoke: -3}}}", r"lyapunov\.fig01\.n_networks' at scale 'smoke'"),
    ("lyapunov={fig01: {n_netwrks: 5}}", r"unknown config key\(s\) lyapunov\.fig01\.n_netwrks"),
    ("colour=blue", r"unknown config key\(s\) colour; allowed here:"),
    ("data_mirror=/nonexistent/initlab-mirror", r"data_mirror.*not an existing directory"),
])
def test_invalid_config_stops_snakemake_before_any_job(repo_root, tmp_path, override, expected):
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--snakefile", str(repo_root / "Snakefile"),
         "--directory", str(repo_root), "-n", "--config", override],
        capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "invalid config" in result.stderr + result.stdout
    import re

    assert re.search(expected, result.stderr + result.stdout), result.stderr[-2000:]


def test_valid_override_is_accepted(repo_root):
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "-n", "--directory", str(repo_root),
         "figures/smoke/lyapunov/fig01.png", "--config", "lyapunov={fig01: {n_networks: 50}}"],
        capture_output=True, text=True, timeout=120, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
