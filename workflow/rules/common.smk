# Shared plumbing: config validation, scale presets, the output registry, the job contract
# (initlab.jobs), and the cross-paper outputs (claims ledger, replication report).
import json
from pathlib import Path

import yaml

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from initlab.config import (PAPERS, SCALES, ConfigError, check_against_schema, check_data_mirror,
                            coerce_config, coerce_scalars, resolve)
from initlab.config_checks import check_paper
from initlab.data import DataError, higgs_split_spec
from initlab.data.registry import smoke_unavailable

ENV = "../../environment.yml"
SCALE_RE = "|".join(SCALES)

wildcard_constraints:
    scale=SCALE_RE,


def _fail(message):
    raise WorkflowError(f"invalid config: {message}")


# ---- config: validated before any job runs -------------------------------------------------
# check_against_schema gives a one-line message naming the key; validate() then fills defaults.
SCHEMAS = Path(workflow.basedir) / "config" / "schemas"
# Coercion follows the schemas (data_dir=2024 stays a string); initlab.config_checks then checks the
# cross-key constraints and memory bounds of every (paper, scale), the machine's RAM at config scale.
try:
    config.update(coerce_config(config, SCHEMAS / "config.schema.json"))
    check_against_schema(config, SCHEMAS / "config.schema.json", "")
    validate(config, "../../config/schemas/config.schema.json")
    DATA_MIRROR = check_data_mirror(config["data_mirror"])
    PARAMS = {}  # (paper, scale) -> resolved and validated parameters of that paper
    for _paper in PAPERS:
        if _paper not in config:
            continue
        for _scale in SCALES:
            _resolved = coerce_scalars(resolve(config[_paper], _scale, _paper), SCHEMAS / f"{_paper}.schema.json")
            check_against_schema(_resolved, SCHEMAS / f"{_paper}.schema.json", _paper, _scale)
            validate(_resolved, f"../../config/schemas/{_paper}.schema.json")
            check_paper(_paper, _resolved, _scale, config["scale"])
            PARAMS[_paper, _scale] = _resolved
except ConfigError as err:
    _fail(err)


# ---- outputs --------------------------------------------------------------------------------
OUTPUTS = []  # path templates with {scale}: every output `snakemake` builds by default
CLAIM_FRAGMENTS = []  # claims fragment templates, merged into figures/{scale}/claims.csv
# Datasets left out, with the reason: those of config exclude_datasets, and at the smoke scale (which
# reads only the fixtures shipped in fixtures/datasets) those without a fixture (initlab.data registry).
EXCLUDED_REASONS = {d: "config exclude_datasets leaves it out" for d in config["exclude_datasets"]}
if config["scale"] == "smoke":
    EXCLUDED_REASONS = {**smoke_unavailable(), **EXCLUDED_REASONS}
EXCLUDED_DATASETS = sorted(EXCLUDED_REASONS)
EXCLUDED_TARGETS = []  # targets not built because they need an excluded dataset (not-run in the ledger)


# What each figure shows, one line each, for the report (workflow/report/figures.yaml).
FIGURE_SHOWS = yaml.safe_load((Path(workflow.basedir) / "workflow" / "report" / "figures.yaml").read_text())


def figure_shows(paper, target):
    """The report's one-line "what it shows" of a figure; a figure without one stops the workflow."""
    try:
        shows = FIGURE_SHOWS[paper][target]
    except KeyError:
        raise WorkflowError(f"figure {paper}/{target} has no line in workflow/report/figures.yaml "
                            "(what it shows, for the report): add one")
    if "{" in shows or "}" in shows:  # Snakemake formats labels with the job's wildcards
        raise WorkflowError(f"workflow/report/figures.yaml, {paper}.{target}: write it without braces")
    return shows


def outputs(paper, job, tables=(), figures=(), claims=True, datasets=()):
    """Named outputs of one job: for each id, <id>.csv and <id>.meta.json, plus <id>.pdf and
    <id>.png for figures; and the job's claims fragment. Registers them for `rule all`, unless the
    job needs a dataset of config `exclude_datasets`: then its targets are listed as not-run."""
    excluded = sorted(set(datasets) & set(EXCLUDED_DATASETS))
    named = {}
    for target in (*tables, *figures):
        base = f"figures/{{scale}}/{paper}/{target}"
        named[f"{target}_csv"] = f"{base}.csv"
        named[f"{target}_meta"] = f"{base}.meta.json"
        if target in figures:
            named[f"{target}_pdf"] = f"{base}.pdf"
            # the HTML report (snakemake --report): every figure under its paper, captioned
            named[f"{target}_png"] = report(f"{base}.png", caption="../report/figure.rst", category=paper,
                                            subcategory=target,
                                            labels={"paper": paper, "figure": target, "shows": figure_shows(paper, target)})
    if claims:
        # in the report beside the job's figures: their claims with the verdicts
        named["claims"] = report(f"results/{{scale}}/claims/{paper}/{job}.csv", caption="../report/claims_fragment.rst",
                                 category=paper, subcategory="claims", labels={"paper": paper, "figure": f"claims of {job}"})
    if excluded:
        EXCLUDED_TARGETS.extend({"paper": paper, "target": t, "datasets": excluded,
                                 "reason": "; ".join(f"{d}: {EXCLUDED_REASONS[d]}" for d in excluded)}
                                for t in (*tables, *figures))
        return named
    if claims:
        CLAIM_FRAGMENTS.append(str(named["claims"]))
    OUTPUTS.extend(str(path) for path in named.values())
    return named


def all_outputs(scale):
    return [p.format(scale=scale) for p in OUTPUTS] + [
        f"figures/{scale}/claims.csv",
        f"figures/{scale}/replication_report.md",
    ]


def job_spec(paper, job, params_of_scale=None):
    """The --job JSON for a script (initlab.jobs.Job): paper, job name, scale and, by default, the
    job's section of the paper's resolved config. A function of the wildcards only, so Snakemake
    tracks it: changing a parameter reruns the job. Provenance is added by the script at run time,
    never here, so that it cannot trigger reruns."""

    def spec(wildcards):
        if params_of_scale is not None:
            params = params_of_scale(wildcards.scale)
        else:
            params = PARAMS[paper, wildcards.scale][job]
        return json.dumps({"paper": paper, "name": job, "scale": wildcards.scale, "params": params},
                          sort_keys=True)

    return spec


def job_io(wildcards, input, output, threads):
    """The --io JSON: named inputs and outputs, threads, the device setting and the data directory
    (inputs below it are datasets, verified before the job reads them). Derived from the
    job's files (Snakemake does not track it as a parameter): moving a run to another device or
    path does not invalidate results."""
    return json.dumps({"inputs": dict(input.items()), "outputs": dict(output.items()), "threads": threads,
                       "device": config["device"], "data_dir": config["data_dir"]}, sort_keys=True)


def script(name, rule):
    """Shell command of rule ``rule`` running workflow/scripts/<name> on the job spec.  The script
    writes its log itself (initlab.jobs.run_job: also the traceback of an interrupted job, which a
    `| tee` would lose) and records the rule and itself (path and sha256) in every .meta.json.  The
    name is passed literally, since Snakemake's linter refuses {rule} in a shell command
    (tests/test_lint.py checks that each passes its own)."""
    return f"python workflow/scripts/{name} --job {{params.job:q}} --io {{params.io:q}} --log {{log:q}} --rule {rule}"


# ---- inputs of the fractional paper's CNN experiment (Fig. 7; rules in fractional.smk) ---------
def mnist_inputs(wildcards):
    """The four MNIST files at the job's scale (smoke: the fixture shipped in fixtures/datasets)."""
    return {name: data_file.at_scale(relpath, wildcards.scale) for name, relpath in MNIST_FILES.items()}


def cnn_inputs(wildcards):
    """The dataset files of one Fig. 7 training job."""
    if wildcards.dataset == "mnist":
        return mnist_inputs(wildcards)
    return {"cifar10": cifar10_files()}


def cnn_datasets(scale):
    """Fig. 7's datasets that this run trains (those not excluded by config exclude_datasets)."""
    return [d for d in PARAMS["fractional", scale]["cnn"]["datasets"] if d not in EXCLUDED_DATASETS]



# ---- groups of the lyapunov paper's training experiments (rules in lyapunov.smk) ----------------
def lyapunov_groups(scale, experiment):
    """Training groups of one experiment: one per method (MNIST) or per (method, batch size)."""
    p = PARAMS["lyapunov", scale][experiment]
    if experiment == "mnist":
        return list(p["methods"])
    return [f"{m}_b{b}" for m in p["methods"] for b in p["grid"]["batch_size"]]


def lyapunov_group_files(experiment, suffixes):
    """Input function: every training group's files of ``experiment`` (``suffixes``: .csv, ...)."""

    def files(wildcards):
        return [f"results/{wildcards.scale}/lyapunov/{experiment}/{g}{s}"
                for g in lyapunov_groups(wildcards.scale, experiment) for s in suffixes]

    return files


def lyapunov_train_params(experiment):
    """The training job's parameters: the experiment's config without the claim/paper values (so
    that changing those reruns only the figures)."""
    return lambda scale: {k: v for k, v in PARAMS["lyapunov", scale][experiment].items()
                          if not k.startswith(("paper_", "z_tolerance", "alpha", "table_", "k_profile", "discard_factor"))}


def lyapunov_task_job(wildcards):
    """The --job JSON of a polynomial / score training group (the task is a wildcard)."""
    return job_spec("lyapunov", wildcards.task, lyapunov_train_params(wildcards.task))(wildcards)


def lyapunov_fig08_job(wildcards):
    """The --job JSON of fig08: both regression tasks' parameters."""
    params = {t: PARAMS["lyapunov", wildcards.scale][t] for t in ("polynomial", "score")}
    return json.dumps({"paper": "lyapunov", "name": "fig08", "scale": wildcards.scale, "params": params},
                      sort_keys=True)


# GPUs a training job asks its executor for (the SLURM executor reads the `gpu` resource): one where
# config `device` is cuda, none otherwise (auto trains on a GPU only where the job finds one).
GPU_REQUEST = 1 if config["device"] == "cuda" else 0


# ---- groups of the ldlt paper's HIGGS sweep (rules in ldlt.smk) ----------------------------------
def ldlt_higgs_groups(scale):
    """One training group per (depth, optimizer): d<depth>_<optimizer>."""
    p = PARAMS["ldlt", scale]["higgs"]
    return [f"d{d}_{o}" for d in p["depths"] for o in p["optimizers"]]


def ldlt_higgs_group_files(suffixes):
    """Input function: every HIGGS training group's files (``suffixes``: .csv, .features.csv)."""

    def files(wildcards):
        return [f"results/{wildcards.scale}/ldlt/higgs/{g}{s}" for g in ldlt_higgs_groups(wildcards.scale)
                for s in suffixes]

    return files


def ldlt_higgs_train_params(scale):
    """The training job's parameters: the sweep's config without its claim thresholds (so that
    changing those reruns only the figures)."""
    return {k: v for k, v in PARAMS["ldlt", scale]["higgs"].items() if k != "claims"}


# ---- the HIGGS draw of a scale (rule data_higgs_split in data.smk) ------------------------------
def higgs_split(scale):
    """The HIGGS draw of ``scale`` from the file config ldlt.higgs.data_source names (full: the
    complete UCI file; quick/smoke: the mirrors' 10,984-row sample, or the full download). A
    change of source is a change of params: the split and everything downstream rebuild."""
    try:
        # without the ldlt config (e.g. a workflow of the data rules alone): the registry's source
        return higgs_split_spec(scale, PARAMS.get(("ldlt", scale), {}).get("higgs", {}).get("data_source"))
    except DataError as err:
        raise WorkflowError(f"invalid config ldlt.higgs.data_source: {err}") from None


# ---- cluster resources of the training jobs ------------------------------------------------------
def training_runtime(cpu_minutes, gpu_minutes=None):
    """The ``runtime`` resource (minutes; SLURM's --time) of a training rule: at full scale the
    longest group's measured (or, where a rule says so, projected) time plus margin, on CPU or,
    with config device=cuda, on one GPU; an hour at the reduced scales."""

    def runtime(wildcards):
        if wildcards.scale != "full":
            return 60
        return gpu_minutes if GPU_REQUEST and gpu_minutes else cpu_minutes

    return runtime

