"""Config resolution and validation: bad values stop before any job runs, naming the key."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from initlab import config_checks
from initlab.config import (PAPERS, SCALES, ConfigError, check_against_schema, check_data_mirror, coerce_config,
                            coerce_scalars, resolve, unknown_scales)
from initlab.config_checks import CHECKS, check_paper, constraint_errors, polynomial_degree

ROOT = Path(__file__).resolve().parents[1]
GIB = 1 << 30


def _schema(paper):
    return json.loads((ROOT / f"config/schemas/{paper}.schema.json").read_text())


def _params(paper, scale, **overrides):
    """config/<paper>.yaml resolved, coerced and schema-checked at ``scale``, with defaults filled as
    Snakemake's validate() does; ``overrides`` replace whole sections' keys: section={key: value}."""
    from snakemake.utils import validate

    section = yaml.safe_load((ROOT / f"config/{paper}.yaml").read_text())[paper]
    for name, keys in overrides.items():
        section[name] = {**section[name], **keys}
    params = coerce_scalars(resolve(section, scale, paper), _schema(paper))
    check_against_schema(params, ROOT / f"config/schemas/{paper}.schema.json", paper, scale)
    validate(params, str(ROOT / f"config/schemas/{paper}.schema.json"))
    return params


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


# ---- cross-key constraints (initlab.config_checks.CHECKS) ------------------------------------------

@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("paper", PAPERS)
def test_shipped_configs_pass_every_check_on_a_24_gib_machine(paper, scale):
    # the CI machine: 2 cores, 24 GiB; every scale is checked as the one being run
    check_paper(paper, _params(paper, scale), scale, running_scale=scale, ram_bytes=24 * GIB)


def test_covertype_epochs_must_exceed_the_success_rules_epochs():
    params = _params("decay", "smoke", covtype={"epochs": 4})
    with pytest.raises(ConfigError, match=r"'decay\.covtype\.epochs' and 'decay\.covtype\.success_abs_index' at "
                                          r"scale 'smoke'.*epochs = 4 must exceed success_abs_index = 5.*>= 6"):
        check_paper("decay", params, "smoke")
    params = _params("decay", "smoke", covtype={"epochs": 4, "success_abs_index": 3, "success_from_epoch": 4})
    with pytest.raises(ConfigError, match=r"success_from_epoch = 4"):
        check_paper("decay", params, "smoke")


@pytest.mark.parametrize("paper,overrides,expected", [
    ("ldlt", {"fig01": {"sigma2_min": 1.0, "sigma2_max": 0.1}}, r"ldlt\.fig01\.sigma2_max' and .*sigma2_min"),
    ("ldlt", {"fig01": {"orders": [1, 12]}}, r"orders go up to 12 but table_wick\.k_max = 10"),
    ("ldlt", {"fig04": {"samples": [10, 10]}}, r"samples has 2 entries .* sizes has 3"),
    ("ldlt", {"fig05": {"c_min": 5.0, "c_max": 1.0}}, r"c_max = 1 must exceed c_min = 5"),
    ("ldlt", {"fig04": {"series_order": 12}}, r"series_order = 12 but table_wick\.k_max = 10"),
    ("ldlt", {"higgs": {"folds": [0, 5]}}, r"fold\(s\) \[5\].*0\.\.4"),
    ("ldlt", {"table_wick": {"paper_eq11": "(n + m)**40 * n**40"}}, r"total degree up to 80"),
    ("ldlt", {"table_wick": {"paper_eq10": "n / m"}}, r"paper_eq10 = 'n / m': unsupported term"),
    ("fractional", {"mnist_fc": {"improvement": ["s=0.9", "kaiming"]}}, r"\['s=0\.9'\] that mnist_fc\.inits"),
    ("fractional", {"tail_index": {"claim_init": "s=2"}}, r"tail_index\.claim_init' and"),
    ("fractional", {"mnist_fc": {"width": 2}}, r"width = 2 but init\(s\) \['random_walk'\]"),
    ("fractional", {"tail_index": {"batch_size": 1024}}, r"gives 1 minibatch"),
    ("fractional", {"fig01": {"left_width_min": 100, "left_width_max": 10}}, r"left_width_min = 100"),
    ("lyapunov", {"polynomial": {"steps": 250}}, r"steps = 250 must be a multiple of eval_every = 100"),
    ("lyapunov", {"score": {"box": [4.0, -4.0]}}, r"box = \[4\.0, -4\.0\]"),
    ("lyapunov", {"score": {"in_features": 3}}, r"in_features = 3.*input_dim = 2"),
    ("lyapunov", {"score": {"weights": [0.5, 0.5]}}, r"means = .* must be 2 rows"),
    ("lyapunov", {"lln_fail": {"positive_low": 2.0}}, r"positive_high = 1 must exceed positive_low = 2 .*U\(positive_low, positive_high\)"),
])
def test_cross_key_constraints_name_both_keys_values_and_fix(paper, overrides, expected):
    with pytest.raises(ConfigError, match=expected):
        check_paper(paper, _params(paper, "smoke", **overrides), "smoke", ram_bytes=24 * GIB)


def test_higgs_source_is_checked_at_the_running_scale_only():
    params = _params("ldlt", "full", higgs={"data_source": "sample"})
    check_paper("ldlt", params, "full", running_scale="smoke")  # a plain override, run at smoke: fine
    with pytest.raises(ConfigError, match=r"data_source = 'sample': the full scale draws"):
        check_paper("ldlt", params, "full", running_scale="full")


def test_every_check_names_its_keys_once():
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names))
    assert all(c.paper in PAPERS and c.keys and c.rule for c in CHECKS)


# The rules restated in initlab.config_checks (their library modules are too slow to import while
# Snakemake parses the workflow) must agree with the library code that enforces them at run time.

def test_covtype_rules_agree_with_initlab_train_metrics():
    import numpy as np

    from initlab.train.metrics import success_absolute_change, success_relative_drop

    base = _params("decay", "smoke")
    for epochs in range(3, 9):
        for cut in range(1, 8):
            params = {**base, "covtype": {**base["covtype"], "epochs": epochs, "success_from_epoch": cut,
                                          "success_abs_index": cut}}
            library_ok = True
            try:
                success_relative_drop(np.ones(epochs), cut)
                success_absolute_change(np.ones(epochs), cut)
            except ValueError:
                library_ok = False
            assert (not constraint_errors("decay", params, "smoke")) == library_ok, (epochs, cut)


def test_task_rules_agree_with_initlab_theory_lyapunov_tasks():
    from initlab.theory import lyapunov_tasks

    base = _params("lyapunov", "smoke")
    for box in ([-1.0, 1.0], [1.0, 1.0], [2.0, -2.0]):
        params = {**base, "score": {**base["score"], "box": box}}
        try:
            lyapunov_tasks._interval(box)
            library_ok = True
        except ValueError:
            library_ok = False
        assert (not constraint_errors("lyapunov", params, "smoke")) == library_ok, box
    for weights in ([0.5, 0.5], [0.2, 0.3, 0.5], [0.5, 0.5, 0.5]):
        params = {**base, "score": {**base["score"], "weights": weights}}
        try:
            lyapunov_tasks._mixture(weights, base["score"]["means"], base["score"]["covariances"])
            library_ok = True
        except ValueError:
            library_ok = False
        assert (not constraint_errors("lyapunov", params, "smoke")) == library_ok, weights


def test_random_walk_rule_agrees_with_initlab_nn_inits():
    from initlab.nn.inits import random_walk_std

    base = _params("fractional", "smoke")
    for width in (1, 2, 3, 4):
        params = {**base, "mnist_fc": {**base["mnist_fc"], "width": width}}
        try:
            random_walk_std(width)
            library_ok = True
        except ValueError:
            library_ok = False
        assert (not constraint_errors("fractional", params, "smoke")) == library_ok, width


def test_polynomial_degree_bounds_the_wick_parser_without_expanding():
    from initlab.theory.wick import polynomial_from_expression

    for text in ("n*m", "n*m*(m + 1 + n)", "(n + m)**3 - 2*n", "-(n**2)*m**2"):
        expanded = polynomial_from_expression(text)
        assert max(a + b for a, b in expanded) <= polynomial_degree(text)
    assert polynomial_degree("n**64") == 64
    with pytest.raises(ValueError, match="exponent 100000 exceeds 64"):
        polynomial_degree("n**100000")
    with pytest.raises(ValueError, match="exponent 1000000 exceeds 64"):
        polynomial_degree("2**1000000")  # a constant is expanded term by term too


# ---- resource bounds (initlab.config_checks.ESTIMATES) ---------------------------------------------

def test_a_width_beyond_the_machine_is_refused_with_the_estimate():
    params = _params("decay", "smoke", forward={"width": 100_000})
    with pytest.raises(ConfigError, match=r"decay\.forward\.width .* at scale 'smoke': width = 100000, "
                                          r"n_inputs = 400 need about 112\.\d GiB of memory .*more than this "
                                          r"machine's RAM \(24\.0 GiB\)"):
        check_paper("decay", params, "smoke", running_scale="smoke", ram_bytes=24 * GIB)
    # a scale not being run is held only to the absolute bound (the full scale is for bigger machines)
    check_paper("decay", params, "smoke", running_scale="quick", ram_bytes=24 * GIB)
    huge = _params("decay", "smoke", forward={"width": 10_000_000})
    with pytest.raises(ConfigError, match=r"109\d\.\d TiB .*the 1\.0 TiB bound of a scale not being run"):
        check_paper("decay", huge, "smoke", running_scale="quick", ram_bytes=24 * GIB)


@pytest.mark.parametrize("paper,overrides,key", [
    ("decay", {"covtype": {"seeds": 100_000, "depths": [300], "width": 1024}}, "decay.covtype.seeds"),
    ("lyapunov", {"mnist": {"width": 5000}}, "lyapunov.mnist.runs"),
    ("lyapunov", {"score": {"runs": 100_000}}, "lyapunov.score.runs"),
    ("fractional", {"mnist_fc": {"width": 20_000}}, "fractional.mnist_fc.runs"),
    ("fractional", {"fig02": {"n_networks": 10**9}}, "fractional.fig02.n_networks"),
    ("ldlt", {"higgs": {"width": 4096, "depths": [200]}}, "ldlt.higgs.folds"),
    ("ldlt", {"fig03": {"samples": 10**9}}, "ldlt.fig03.sizes"),
])
def test_training_sweeps_are_bounded_by_members_layers_and_width(paper, overrides, key):
    with pytest.raises(ConfigError, match=rf"{key.replace('.', chr(92) + '.')}.*[GT]iB of memory"):
        check_paper(paper, _params(paper, "smoke", **overrides), "smoke", running_scale="smoke",
                    ram_bytes=24 * GIB)


def test_machine_ram_is_read_from_sysconf():
    ram = config_checks.machine_ram_bytes()
    assert ram is None or ram > 1 << 28


@pytest.mark.parametrize("paper,path,value", [
    ("decay", ("covtype", "rows"), 600_000),
    ("lyapunov", ("mnist", "validation_rows"), 10_000),
    ("lyapunov", ("polynomial", "coefficients"), [1.0] * 40),
    ("ldlt", ("table_wick", "paper_eq10"), "n" + " + n" * 400),
])
def test_schema_maximums_refuse_absurd_values(paper, path, value):
    params = _params(paper, "smoke")
    params[path[0]][path[1]] = value
    with pytest.raises(ConfigError, match=rf"{paper}\.{path[0]}\.{path[1]}"):
        check_against_schema(params, ROOT / f"config/schemas/{paper}.schema.json", paper, "smoke")


# ---- misspelt scale names in a scale map -----------------------------------------------------------

def test_a_misspelt_scale_is_named():
    section = {"fig01": {"n_max": {"full": 300, "quick": 100, "smoke": 12, "smok": 3}}}
    with pytest.raises(ConfigError, match=r"config key 'decay\.fig01\.n_max': unknown scale 'smok' \(did you mean "
                                          r"'smoke'\?\) in a scale map; scales are full, quick, smoke"):
        resolve(section, "smoke", "decay")
    # over a plain value the override is the whole map: {smok: 3} alone
    with pytest.raises(ConfigError, match=r"decay\.fig01\.d_over_n': unknown scale 'smok'"):
        resolve({"fig01": {"d_over_n": {"smok": 3}}}, "full", "decay")
    with pytest.raises(ConfigError, match=r"unknown scales 'Quik' \(did you mean 'quick'\?\), 'ful'"):
        resolve({"n": {"Quik": 1, "ful": 2}}, "full", "x")


def test_sections_are_not_mistaken_for_scale_maps():
    assert unknown_scales({"score": 1, "slope": 2, "model": 3}) == []
    assert unknown_scales({"full": 1, "quick": 2, "smoke": 3}) == []
    for paper in PAPERS:
        section = yaml.safe_load((ROOT / f"config/{paper}.yaml").read_text())[paper]
        for scale in SCALES:
            resolve(section, scale, paper)


# ---- coercion follows the schema -------------------------------------------------------------------

def test_coercion_keeps_strings_where_the_schema_wants_them():
    schema = _schema("fractional")
    typed = coerce_scalars({"mnist_fc": {"not_training": "123", "epochs": "5", "train_rows": "null",
                                         "improvement": ["1", "kaiming"], "lr": "1e-3"}}, schema)
    assert typed == {"mnist_fc": {"not_training": "123", "epochs": 5, "train_rows": None,
                                  "improvement": ["1", "kaiming"], "lr": 1e-3}}
    # a number in a string key (YAML typed it) becomes its string form; 'inf' and numbers of anyOf stay
    assert coerce_scalars({"table_gnd": {"alphas": ["0.5", "inf", 2]}}, _schema("decay")) == {
        "table_gnd": {"alphas": [0.5, "inf", 2]}}
    assert coerce_scalars({"table_wick": {"paper_eq10": 7}}, _schema("ldlt")) == {"table_wick": {"paper_eq10": "7"}}


def test_top_level_numbers_become_strings_where_the_schema_wants_them():
    schema = ROOT / "config/schemas/config.schema.json"
    config = {"data_dir": 2024, "data_mirror": 12, "scale": "smoke", "exclude_datasets": ["cifar10"],
              "decay": {"fig01": {"n_max": "3"}}}
    assert coerce_config(config, schema) == {"data_dir": "2024", "data_mirror": "12", "scale": "smoke",
                                             "exclude_datasets": ["cifar10"]}


@pytest.mark.parametrize("override,expected", [
    ("decay={covtype: {epochs: 4}}", r"'decay\.covtype\.epochs' and 'decay\.covtype\.success_abs_index'"),
    ("decay={fig01: {n_max: {smok: 3}}}", r"'decay\.fig01\.n_max': unknown scale 'smok'"),
    ("decay={forward: {width: 10000000}}", r"decay\.forward\.width .*TiB of memory"),
])
def test_late_config_errors_stop_snakemake_before_any_job(repo_root, override, expected):
    test_invalid_config_stops_snakemake_before_any_job(repo_root, None, override, expected)


def test_digit_only_string_keys_are_accepted(repo_root):
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "-n", "--directory", str(repo_root),
         "figures/smoke/lyapunov/fig01.png", "--config", "data_dir=2024",
         "fractional={mnist_fc: {not_training: xavier}}"],
        capture_output=True, text=True, timeout=120, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
