"""Cross-key constraints and resource bounds of the per-paper configs, checked before any job runs.

A JSON schema checks one key at a time; what ties two keys together (``decay.covtype.epochs`` must
exceed ``success_abs_index``) or what a whole job needs (memory for ``members x layers x width^2``
weights) is stated here, once, as a table of named checks:

* ``CHECKS``: cross-key constraints.  Each names its keys; its test returns None or the problem with
  the values and the fix.  Where the rule lives in the library and importing it is cheap, the test
  calls it (``higgs_split_spec``, ``wick.polynomial_from_expression``); where the library module is
  costly to import at parse time (pandas/scipy/torch), the rule is restated with a pointer to the
  library function, and tests/test_config.py checks that both agree.
* ``ESTIMATES``: lower-bound-ish memory estimates of the largest tensors of each job (weights,
  optimiser state, stored activations, data), compared with this machine's RAM at the scale being
  run and with a generous absolute bound at the other scales (every scale is validated at parse
  time; the full scale is meant for bigger machines than the one that may run smoke).

``check_paper`` runs both for one (paper, scale) resolved config and raises ``ConfigError``.
"""

from __future__ import annotations

import ast
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from initlab.config import ConfigError

#: Memory bound for the scales that are not being run (a config can still be absurd there).
ABSOLUTE_MAX_BYTES = 1 << 40  # 1 TiB
#: Largest exponent and total degree of the ldlt paper_eq polynomial strings (E tr(S^k) has degree
#: k + 1 and k_max <= 60); expanding n**10**6 term by term would run for hours.
MAX_POLYNOMIAL_DEGREE = 64

F32, F64 = 4, 8
COVTYPE_ROWS, COVTYPE_FEATURES, COVTYPE_CLASSES = 581_012, 54, 7   # initlab.data.loaders, train.covtype
MNIST_IMAGES, MNIST_PIXELS, MNIST_CLASSES = 70_000, 784, 10
CIFAR10_IMAGES, CIFAR10_VALUES = 60_000, 3 * 32 * 32
HIGGS_ROWS, HIGGS_FEATURES = 120_000, 28


def machine_ram_bytes() -> int | None:
    """Physical memory of this machine (None where sysconf cannot tell)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _size(nbytes: float) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes / 1024:.1f} KiB"


def _get(section: Mapping[str, Any], dotted: str) -> Any:
    node: Any = section
    for part in dotted.split("."):
        node = node[part]
    return node


# ---- cross-key constraints ----------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """One constraint: ``test(paper_params, scale)`` returns None when it holds, else the problem
    (values and fix).  ``keys`` are dotted paths inside the paper's section, named in the message.
    ``running_scale_only``: checked only at the scale being run (a per-scale requirement that a
    plain override for every scale may legitimately break at the scales not run)."""
    name: str
    paper: str
    keys: tuple[str, ...]
    rule: str
    test: Callable[[Mapping[str, Any], str], str | None]
    running_scale_only: bool = False


CHECKS: list[Check] = []


def _check(name: str, paper: str, *keys: str, running_scale_only: bool = False):
    def register(test):
        CHECKS.append(Check(name, paper, keys, (test.__doc__ or name).strip().splitlines()[0], test,
                            running_scale_only))
        return test
    return register


# decay --------------------------------------------------------------------------------------------

@_check("covtype_epochs_vs_success_from_epoch", "decay", "covtype.epochs", "covtype.success_from_epoch")
def _covtype_from_epoch(p, scale):
    """epochs > success_from_epoch (initlab.train.metrics.success_relative_drop needs later epochs)."""
    c = p["covtype"]
    if c["epochs"] <= c["success_from_epoch"]:
        return (f"epochs = {c['epochs']} must exceed success_from_epoch = {c['success_from_epoch']} (the paper's "
                f"success rule compares later epochs with that one; the Covertype figure job would fail after "
                f"all training jobs); set decay.covtype.epochs >= {c['success_from_epoch'] + 1} or lower "
                "decay.covtype.success_from_epoch")
    return None


@_check("covtype_epochs_vs_success_abs_index", "decay", "covtype.epochs", "covtype.success_abs_index")
def _covtype_abs_index(p, scale):
    """epochs > success_abs_index (initlab.train.metrics.success_absolute_change compares that epoch with the last)."""
    c = p["covtype"]
    if c["epochs"] <= c["success_abs_index"]:
        return (f"epochs = {c['epochs']} must exceed success_abs_index = {c['success_abs_index']} (the authors' "
                f"success rule compares 0-based epoch index {c['success_abs_index']} with the last: it needs more "
                f"than {c['success_abs_index']} epochs; the Covertype figure job would fail after all training "
                f"jobs); set decay.covtype.epochs >= {c['success_abs_index'] + 1} or lower "
                f"decay.covtype.success_abs_index to at most {c['epochs'] - 1}")
    return None


def _ordered(name: str, paper: str, section: str, low: str, high: str, why: str) -> None:
    """Register the check ``<paper>.<section>.<low> < <high>`` (``why``: what the two bound)."""
    def test(p, scale):
        c = p[section]
        if not c[low] < c[high]:
            return (f"{high} = {c[high]:g} must exceed {low} = {c[low]:g} ({why}); swap them or change "
                    f"{paper}.{section}.{high}")
        return None
    test.__doc__ = f"{paper}.{section}: {low} < {high} ({why})."
    _check(name, paper, f"{section}.{high}", f"{section}.{low}")(test)


# ldlt -----------------------------------------------------------------------------------------------

def _series_orders(job):
    def test(p, scale):
        k_max, top = p["table_wick"]["k_max"], max(p[job]["orders"])
        if top > k_max:
            return (f"orders go up to {top} but table_wick.k_max = {k_max}: the series needs E tr(S^k) for "
                    f"k <= {top} (initlab.theory.ldlt.trace_moments); raise ldlt.table_wick.k_max to {top} or "
                    f"drop orders above {k_max}")
        return None
    test.__doc__ = f"ldlt.{job}: max(orders) <= table_wick.k_max (initlab.theory.ldlt.trace_moments)."
    return test


def _scaling_lists(job):
    def test(p, scale):
        c = p[job]
        if len(c["samples"]) != len(c["sizes"]):
            return (f"samples has {len(c['samples'])} entries ({c['samples']}) but sizes has {len(c['sizes'])} "
                    f"({c['sizes']}); give one sample count per size (workflow/scripts/ldlt_variance_scaling.py)")
        return None
    test.__doc__ = f"ldlt.{job}: len(samples) == len(sizes) (workflow/scripts/ldlt_variance_scaling.py)."
    return test


def _scaling_order(job):
    def test(p, scale):
        k_max, order = p["table_wick"]["k_max"], p[job]["series_order"]
        if order > k_max:
            return (f"series_order = {order} but table_wick.k_max = {k_max}: the series needs E tr(S^k) for "
                    f"k <= {order} (initlab.theory.ldlt.trace_moments); raise ldlt.table_wick.k_max to {order} or "
                    f"lower ldlt.{job}.series_order")
        return None
    test.__doc__ = f"ldlt.{job}: series_order <= table_wick.k_max (initlab.theory.ldlt.trace_moments)."
    return test


for _job in ("fig01", "fig02", "fig03"):
    _ordered(f"{_job}_sigma2_range", "ldlt", _job, "sigma2_min", "sigma2_max", "the sweep is log-spaced between them")
    _check(f"{_job}_orders_vs_k_max", "ldlt", f"{_job}.orders", "table_wick.k_max")(_series_orders(_job))
for _job in ("fig04", "fig05"):
    _check(f"{_job}_samples_per_size", "ldlt", f"{_job}.samples", f"{_job}.sizes")(_scaling_lists(_job))
    _ordered(f"{_job}_c_range", "ldlt", _job, "c_min", "c_max", "the sweep is log-spaced between them")
    _check(f"{_job}_series_order_vs_k_max", "ldlt", f"{_job}.series_order", "table_wick.k_max")(_scaling_order(_job))


@_check("higgs_folds_vs_folds_total", "ldlt", "higgs.folds", "higgs.folds_total")
def _higgs_folds(p, scale):
    """every fold < folds_total (initlab.sweeps.ldlt picks the folds of a folds_total-fold split)."""
    h = p["higgs"]
    bad = [f for f in h["folds"] if f >= h["folds_total"]]
    if bad:
        return (f"folds {h['folds']} name fold(s) {bad}, but a {h['folds_total']}-fold split has folds "
                f"0..{h['folds_total'] - 1}; drop them or raise ldlt.higgs.folds_total")
    return None


@_check("higgs_data_source_vs_scale", "ldlt", "higgs.data_source", running_scale_only=True)
def _higgs_source(p, scale):
    """the full scale draws from the complete UCI file (initlab.data.registry.higgs_split_spec)."""
    from initlab.data.registry import DataError, higgs_split_spec

    try:
        higgs_split_spec(scale, p["higgs"]["data_source"])
    except DataError as err:
        return f"data_source = {p['higgs']['data_source']!r}: {err}"
    return None


def polynomial_degree(expression: str) -> int:
    """An upper bound of the total degree of a polynomial string in n and m, without expanding it;
    ValueError for an exponent above MAX_POLYNOMIAL_DEGREE or a term ``polynomial_from_expression``
    refuses (its rule: n, m, integers, + - * and non-negative integer literal powers)."""
    def degree(node) -> int:
        if isinstance(node, ast.Expression):
            return degree(node.body)
        if isinstance(node, ast.Name):
            return 1
        if isinstance(node, ast.Constant):
            return 0
        if isinstance(node, ast.UnaryOp):
            return degree(node.operand)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                power = node.right.value if isinstance(node.right, ast.Constant) else None
                if isinstance(power, int) and power > MAX_POLYNOMIAL_DEGREE:
                    raise ValueError(f"exponent {power} exceeds {MAX_POLYNOMIAL_DEGREE} (it is expanded term by "
                                     f"term: ~{power} polynomial products)")
                return degree(node.left) * (power if isinstance(power, int) and power >= 0 else 1)
            if isinstance(node.op, ast.Mult):
                return degree(node.left) + degree(node.right)
            return max(degree(node.left), degree(node.right))
        return 0  # anything else: polynomial_from_expression names it
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as err:
        raise ValueError(f"not valid Python syntax: {err}") from err
    return degree(tree)


def _paper_eq(key):
    def test(p, scale):
        from initlab.theory.wick import polynomial_from_expression

        text = p["table_wick"][key]
        try:
            total = polynomial_degree(text)
            if total > MAX_POLYNOMIAL_DEGREE:
                return (f"{key} = {text!r} has total degree up to {total}, more than {MAX_POLYNOMIAL_DEGREE} "
                        f"(E tr(S^k) has degree k + 1; expanding it would take very long); write the paper's "
                        f"polynomial, e.g. 'n*m' for eq. (10)")
            polynomial_from_expression(text)  # the job's own parser: syntax and allowed terms
        except ValueError as err:
            return (f"{key} = {text!r}: {err}; use n, m, integers, +, -, * and ** with exponents <= "
                    f"{MAX_POLYNOMIAL_DEGREE}")
        return None
    test.__doc__ = (f"ldlt.table_wick.{key}: a polynomial in n, m of degree <= {MAX_POLYNOMIAL_DEGREE} "
                    "(initlab.theory.wick.polynomial_from_expression).")
    return test


for _key in ("paper_eq10", "paper_eq11"):
    _check(f"table_wick_{_key}_polynomial", "ldlt", f"table_wick.{_key}")(_paper_eq(_key))


# fractional -----------------------------------------------------------------------------------------

def _labels_in_inits(job, key):
    def test(p, scale):
        c = p[job]
        named = c[key] if isinstance(c[key], list) else [c[key]]
        missing = [label for label in named if label not in c["inits"]]
        if missing:
            return (f"{key} = {c[key]!r} names init label(s) {missing} that {job}.inits does not define "
                    f"({', '.join(c['inits'])}); the claims job would fail after training; name labels of "
                    f"fractional.{job}.inits")
        return None
    test.__doc__ = f"fractional.{job}.{key}: init labels of {job}.inits (initlab.claims.fractional_training claims)."
    return test


for _job, _key in (("mnist_fc", "improvement"), ("mnist_fc", "not_training"), ("tail_index", "claim_init"),
                   ("cnn", "improvement")):
    _check(f"{_job}_{_key}_in_inits", "fractional", f"{_job}.{_key}", f"{_job}.inits")(_labels_in_inits(_job, _key))


def _random_walk_width(job):
    def test(p, scale):
        c = p[job]
        users = sorted(label for label, spec in c["inits"].items() if isinstance(spec, dict)
                       and "random_walk" in (spec.get("method"), (spec.get("first") or {}).get("method"),
                                             (spec.get("last") or {}).get("method")))
        if users and c["width"] <= 2.4:
            return (f"width = {c['width']} but init(s) {users} use random_walk, whose ReLU form "
                    f"exp(1.2 / (fan_in - 2.4)) needs fan_in > 2.4 (initlab.nn.inits); set fractional.{job}.width "
                    ">= 3 or drop random_walk")
        return None
    test.__doc__ = f"fractional.{job}: width >= 3 when an init is random_walk (initlab.nn.inits.random_walk)."
    return test


for _job in ("mnist_fc", "tail_index", "cnn"):
    _check(f"{_job}_random_walk_width", "fractional", f"{_job}.width", f"{_job}.inits")(_random_walk_width(_job))


@_check("tail_index_minibatches", "fractional", "tail_index.batch_size", "tail_index.train_rows",
        "tail_index.test_rows", "tail_index.estimate_on")
def _tail_index_batches(p, scale):
    """the gradient-noise pass has >= 2 minibatches (initlab.train.gradient_noise.tail_indices)."""
    c = p["tail_index"]
    on_train = c["estimate_on"] == "train"
    key = "train_rows" if on_train else "test_rows"
    rows = c[key] if c[key] is not None else (60_000 if on_train else 10_000)
    batches = math.ceil(rows / c["batch_size"])
    if batches < 2:
        return (f"estimate_on = {c['estimate_on']!r} with {key} = {rows} and batch_size = {c['batch_size']} gives "
                f"{batches} minibatch; the gradient noise needs at least 2: lower fractional.tail_index.batch_size "
                f"below {rows} or raise fractional.tail_index.{key}")
    return None


@_check("tail_index_claim_band", "fractional", "tail_index.claim_band")
def _claim_band(p, scale):
    """claim_band is [low, high] with low < high."""
    low, high = p["tail_index"]["claim_band"]
    if not low < high:
        return f"claim_band = [{low}, {high}] must be [low, high] with low < high; swap them"
    return None


_ordered("fig01_left_widths", "fractional", "fig01", "left_width_min", "left_width_max",
         "a geometric grid of widths between them")


# lyapunov -------------------------------------------------------------------------------------------

def _steps_eval_every(task):
    def test(p, scale):
        c = p[task]
        if c["steps"] % c["eval_every"]:
            return (f"steps = {c['steps']} must be a multiple of eval_every = {c['eval_every']} (an epoch of the "
                    f"engine is eval_every steps; initlab.sweeps.lyapunov.train_task_group); set "
                    f"lyapunov.{task}.steps to {c['steps'] - c['steps'] % c['eval_every'] or c['eval_every']} or "
                    f"change eval_every")
        return None
    test.__doc__ = f"lyapunov.{task}: steps % eval_every == 0 (initlab.sweeps.lyapunov.train_task_group)."
    return test


def _box(task):
    def test(p, scale):
        low, high = p[task]["box"]
        if not low < high:
            return (f"box = [{low}, {high}] must be [low, high] with low < high "
                    "(initlab.theory.lyapunov_tasks._interval); swap them")
        return None
    test.__doc__ = f"lyapunov.{task}: box is [low, high] with low < high (initlab.theory.lyapunov_tasks)."
    return test


def _task_dims(task):
    def test(p, scale):
        c = p[task]
        if c["kind"] != task:
            return f"kind = {c['kind']!r} but this is the {task} task; set lyapunov.{task}.kind: {task}"
        out = 1 if task == "polynomial" else c["input_dim"]
        if task == "polynomial" and c["input_dim"] != 1:
            return f"input_dim = {c['input_dim']}: the polynomial task is one-dimensional; set input_dim: 1"
        if c["in_features"] != c["input_dim"] or c["out_features"] != out:
            return (f"in_features = {c['in_features']}, out_features = {c['out_features']} but input_dim = "
                    f"{c['input_dim']}: the net maps the {c['input_dim']}-dimensional input to a {out}-dimensional "
                    f"target; set in_features: {c['input_dim']} and out_features: {out}")
        return None
    test.__doc__ = f"lyapunov.{task}: in_features == input_dim, out_features == the target's dimension."
    return test


for _task in ("polynomial", "score"):
    _check(f"{_task}_steps_vs_eval_every", "lyapunov", f"{_task}.steps",
           f"{_task}.eval_every")(_steps_eval_every(_task))
    _check(f"{_task}_box", "lyapunov", f"{_task}.box")(_box(_task))
    _check(f"{_task}_dimensions", "lyapunov", f"{_task}.in_features", f"{_task}.out_features",
           f"{_task}.input_dim")(_task_dims(_task))


@_check("score_mixture_shapes", "lyapunov", "score.weights", "score.means", "score.covariances", "score.input_dim")
def _mixture(p, scale):
    """weights (M,) sum to 1, means (M, input_dim), symmetric covariances (M, input_dim, input_dim).

    The shape and sum rules of initlab.theory.lyapunov_tasks._mixture (positive definiteness is left to it)."""
    c = p["score"]
    w, mu, cov, d = c["weights"], c["means"], c["covariances"], c["input_dim"]
    m = len(w)
    if not m or abs(sum(w) - 1.0) > 1e-10:
        return f"weights = {w} must be M >= 1 non-negative numbers summing to 1 (sum {sum(w)!r})"
    if len(mu) != m or any(not isinstance(r, list) or len(r) != d for r in mu):
        return f"means = {mu} must be {m} rows (one per weight) of input_dim = {d} numbers"
    if (len(cov) != m or any(not isinstance(s, list) or len(s) != d for s in cov)
            or any(not isinstance(r, list) or len(r) != d for s in cov for r in s)):
        return f"covariances must be {m} matrices (one per weight) of {d} x {d} (input_dim); got {cov}"
    if any(s[i][j] != s[j][i] for s in cov for i in range(d) for j in range(d)):
        return f"covariances = {cov} must be symmetric"
    return None


_ordered("lln_fail_positive_range", "lyapunov", "lln_fail", "positive_low", "positive_high",
         "the weights are U(positive_low, positive_high)")


# ---- memory estimates -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Estimate:
    """Bytes of the largest tensors of one job, from its section's keys (named in the message)."""
    paper: str
    section: str
    keys: tuple[str, ...]
    formula: str
    bytes: Callable[[Mapping[str, Any]], float]


def _mlp_training(members, fan_in, width, hidden, fan_out, batch, data_bytes, extra_state=4, eval_rows=0):
    """Weights, gradients and optimiser state (``extra_state`` copies), the activations stored for the
    backward pass of one batch, one evaluation chunk's activations (no graph), data."""
    params = members * (fan_in * width + hidden * width * width + width * fan_out + (hidden + 2) * width)
    return (extra_state * F32 * params + 2 * F32 * members * batch * width * (hidden + 2)
            + 2 * F32 * members * eval_rows * width + data_bytes)


def _simulation(networks, depth, width):
    """A Monte Carlo over independent networks: float64 log-norm paths and a few states per network."""
    return F64 * networks * (2 * (depth + 1) + 4 * width)


def _grid_combos(c, skip=()):
    grid = c.get("grid", {})
    n = 1
    for key, value in grid.items():
        if key not in skip:
            n *= len(value) if isinstance(value, list) else 1
    return n


def _max_list(value):
    return max(value) if isinstance(value, list) else value


ESTIMATES: list[Estimate] = [
    Estimate("decay", "fig01", ("n_max", "d_over_n", "chunk_elements"),
             "3 x max(n_max^2 x d_over_n, chunk_elements) float32",
             lambda c: 3 * F32 * max(c["n_max"] ** 2 * c["d_over_n"], c.get("chunk_elements", 1 << 23))),
    Estimate("decay", "table_gnd", ("n_values", "d_values", "chunk_elements"),
             "3 x max(n x d, chunk_elements) float64",
             lambda c: 3 * F64 * max(max(c["n_values"] + [s["n"] for s in c.get("spot_checks", [])])
                                     * max(c["d_values"] + [s["d"] for s in c.get("spot_checks", [])]),
                                     c.get("chunk_elements", 1 << 22))),
    Estimate("decay", "forward", ("width", "n_inputs"), "(3 x width^2 + 4 x n_inputs x width) float32",
             lambda c: F32 * (3 * c["width"] ** 2 + 4 * c["n_inputs"] * c["width"])),
    Estimate("decay", "backward", ("width", "depth", "n_inputs"),
             "((depth + 3) x width^2 + 4 x n_inputs x width) float32 + 2 x depth x n_inputs x width masks",
             lambda c: F32 * ((c["depth"] + 3) * c["width"] ** 2 + 4 * c["n_inputs"] * c["width"])
             + 2 * c["depth"] * c["n_inputs"] * c["width"]),
    Estimate("decay", "covtype", ("seeds", "depths", "width", "batch_size", "rows"),
             "4 x seeds x max(depths) x width^2 float32 (weights, gradients, Adam) + activations + data",
             lambda c: _mlp_training(c["seeds"], COVTYPE_FEATURES, c.get("width", 64), max(c["depths"]),
                                     COVTYPE_CLASSES, c.get("batch_size", 64),
                                     F32 * (COVTYPE_FEATURES + 1) * (c["rows"] or COVTYPE_ROWS))),
    Estimate("lyapunov", "fig01", ("n_networks", "depth", "widths"),
             "n_networks x (2 x (depth + 1) + 4 x max(widths)) float64 (log-norm paths, states)",
             lambda c: _simulation(c["n_networks"], c["depth"], max(c["widths"]))),
    Estimate("lyapunov", "tanh_clt", ("n_networks", "depth", "width"),
             "n_networks x (2 x (depth + 1) + 4 x width) float64 (log-norm paths, states)",
             lambda c: _simulation(c["n_networks"], c["depth"], c["width"])),
    Estimate("lyapunov", "mnist", ("runs", "grid", "width", "hidden_layers", "batch_size"),
             "4 x runs x grid combinations x hidden_layers x width^2 float32 + activations + data",
             lambda c: _mlp_training(c["runs"] * _grid_combos(c), c.get("in_features", MNIST_PIXELS), c["width"],
                                     c["hidden_layers"], c.get("out_features", MNIST_CLASSES), c["batch_size"],
                                     F32 * MNIST_IMAGES * (MNIST_PIXELS + 1))),
    *[Estimate("lyapunov", task, ("runs", "grid", "width", "hidden_layers", "eval_points"),
               "4 x runs x combinations x hidden_layers x width^2 float32 + activations at max(grid.batch_size)",
               lambda c: _mlp_training(c["runs"] * _grid_combos(c, skip=("batch_size",)), c["in_features"],
                                       c["width"], c["hidden_layers"], c["out_features"],
                                       _max_list(c["grid"].get("batch_size", 1)), 0,
                                       eval_rows=min(c["eval_points"], c.get("eval_batch_size", 10_000))))
      for task in ("polynomial", "score")],
    Estimate("fractional", "table_critical", ("mc_networks", "mc_depth", "dropout_networks", "dropout_layers"),
             "n_networks x (layers + 1) float64 per Monte Carlo",
             lambda c: F64 * max(c["mc_networks"] * (c["mc_depth"] + 1),
                                 c["dropout_networks"] * (c["dropout_burn_in"] + c["dropout_layers"] + 1))),
    *[Estimate("fractional", job, ("n_networks", "depth", "width"),
               "n_networks x (2 x (depth + 1) + 4 x width) float64 (log-norm paths, states)",
               lambda c: _simulation(c["n_networks"], c["depth"], c["width"])) for job in ("fig02", "fig04")],
    *[Estimate("fractional", job, ("runs", "inits", "width", "layers", "batch_size"),
               "4 x runs x inits x layers x width^2 float32 (weights, gradients, state) + activations + data",
               lambda c: _mlp_training(c["runs"] * len(c["inits"]), MNIST_PIXELS, c["width"], c["layers"] - 2,
                                       MNIST_CLASSES, c["batch_size"], F32 * MNIST_IMAGES * (MNIST_PIXELS + 1),
                                       extra_state=8)) for job in ("mnist_fc", "tail_index")],
    Estimate("fractional", "cnn", ("runs", "inits", "width", "batch_size"),
             "runs x inits x (conv maps x batch + FC weights) float32 + CIFAR-10 data",
             lambda c: _mlp_training(c["runs"] * len(c["inits"]), 6 * 14 * 14, c["width"], 3, MNIST_CLASSES,
                                     c["batch_size"], F32 * CIFAR10_IMAGES * (CIFAR10_VALUES + 1))
             + 2 * F32 * c["runs"] * len(c["inits"]) * c["batch_size"] * 6 * 32 * 32),
    *[Estimate("ldlt", job, ("sizes", "samples", "sigma2_points"), "samples x max(sizes) x 3 float64 spectra + values",
               lambda c: F64 * c["samples"] * (3 * max(c["sizes"]) + c["sigma2_points"]))
      for job in ("fig01", "fig02", "fig03")],
    *[Estimate("ldlt", job, ("sizes", "samples", "c_points"),
               "max over sizes of samples x (3 x size + c_points) float64",
               lambda c: F64 * max(s * (3 * n + c["c_points"] + 8) for n, s in zip(c["sizes"], c["samples"])))
      for job in ("fig04", "fig05")],
    Estimate("ldlt", "higgs", ("folds", "scales", "depths", "width", "batch_size", "eval_batch_size"),
             "8 x folds x scales x max(depths) x width^2 float32 (weights, LDLT factors, gradients, state) + "
             "activations + data",
             lambda c: _mlp_training(len(c["folds"]) * len(c["scales"]), HIGGS_FEATURES, c["width"],
                                     max(c["depths"]) - 2, 1, c["batch_size"], F32 * HIGGS_ROWS * (HIGGS_FEATURES + 1),
                                     extra_state=8, eval_rows=c.get("eval_batch_size", 4096))),
]


def estimate_errors(paper: str, params: Mapping[str, Any], scale: str, limit_bytes: float, limit_text: str
                    ) -> list[str]:
    """Messages for every job of ``paper`` whose memory estimate exceeds ``limit_bytes``."""
    out = []
    for est in ESTIMATES:
        section = params.get(est.section) if est.paper == paper else None
        if not isinstance(section, Mapping):
            continue
        try:
            need = est.bytes(section)
        except (KeyError, TypeError, ValueError):
            continue  # a missing or malformed key: the schema reports it
        if need > limit_bytes:
            values = ", ".join(f"{k} = {section[k]!r}" for k in est.keys if k in section)
            keys = " / ".join(f"{paper}.{est.section}.{k}" for k in est.keys)
            out.append(f"config key(s) {keys} at scale '{scale}': {values} need about {_size(need)} of memory "
                       f"({est.formula}), more than {limit_text}; lower them at "
                       f"this scale or run it on a machine with more memory")
    return out


# ---- entry point --------------------------------------------------------------------------------------

def constraint_errors(paper: str, params: Mapping[str, Any], scale: str, running_scale: str | None = None
                      ) -> list[str]:
    """Messages for every violated cross-key constraint of ``paper`` at ``scale``."""
    out = []
    for chk in CHECKS:
        if chk.paper != paper or (chk.running_scale_only and scale != running_scale):
            continue
        try:
            for key in chk.keys:
                _get(params, key)
        except (KeyError, TypeError):
            continue  # a section or key the schema leaves out: nothing to relate
        problem = chk.test(params, scale)
        if problem:
            keys = " and ".join(f"'{paper}.{k}'" for k in chk.keys[:-1])
            keys = f"{keys} and '{paper}.{chk.keys[-1]}'" if keys else f"'{paper}.{chk.keys[-1]}'"
            out.append(f"config key{'s' if len(chk.keys) > 1 else ''} {keys} at scale '{scale}' "
                       f"[{chk.name}]: {problem}")
    return out


def check_paper(paper: str, params: Mapping[str, Any], scale: str, running_scale: str | None = None,
                ram_bytes: int | None = None) -> None:
    """Raise ConfigError for the first violated constraint or memory bound of one (paper, scale)
    resolved config.  The machine's RAM (``ram_bytes``, default this machine's) bounds the scale
    being run; the other scales get ABSOLUTE_MAX_BYTES."""
    errors = constraint_errors(paper, params, scale, running_scale)
    ram = machine_ram_bytes() if ram_bytes is None else ram_bytes
    if scale == running_scale and ram:
        errors += estimate_errors(paper, params, scale, ram, f"this machine's RAM ({_size(ram)})")
    else:
        errors += estimate_errors(paper, params, scale, ABSOLUTE_MAX_BYTES,
                                  f"the {_size(ABSOLUTE_MAX_BYTES)} bound of a scale not being run")
    if errors:
        raise ConfigError(errors[0] + (f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""))
