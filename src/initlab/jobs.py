"""The contract between Snakemake rules and the thin scripts in ``workflow/scripts``.

A rule passes two JSON arguments built in ``workflow/rules/common.smk``: ``--job`` (``job_spec``:
paper, job name, scale, resolved parameters; Snakemake reruns the job when it changes) and ``--io``
(``job_io``: named inputs and outputs, threads, device).  A script does

    from initlab.jobs import run_job

    def main(job):
        table = some_library_call(**job.params)
        job.write_csv("table1", table)
        job.claim("some_claim", "what the paper says", paper_value, replicated, uncertainty, verdict)

    if __name__ == "__main__":
        run_job(main)

and ``run_job`` writes, after ``main`` returns, the claims fragment (output ``claims``) and one
``<id>.meta.json`` provenance sidecar per target id (output keys ``<id>_csv``, ``<id>_pdf``,
``<id>_png``, ``<id>_meta``; ``claims`` for the claims fragment).  Every file is written atomically (temporary
file + rename); if ``main`` raises, every output of the job is removed, so nothing half-written is
left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

# The ledger's columns (shared/spec/output-contract.md: the first seven; the rest added since, never
# renamed): target is the inventory id the claim belongs to (fig03, table_mnist, ...);
# reference_value a value computed from the paper's formulas (paper_value holds only numbers the
# paper prints); kind says whether the row is a claim (counted as a reproduction when it holds) or a
# consistency check (listed, never counted: both sides are exact, or the check cannot fail).
CLAIM_COLUMNS = ("paper", "claim_id", "description", "paper_value", "replicated_value", "uncertainty", "verdict",
                 "target", "reference_value", "kind")
VERDICTS = ("reproduced", "deviates", "not-run")
KINDS = ("claim", "consistency")
# Output keys are "<target id>_<kind>" (identifiers, so Snakemake can name them).
OUTPUT_KINDS = ("csv", "pdf", "png", "meta")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _git_state(cwd: Path, only_here: bool = False) -> dict[str, Any]:
    """Commit of the repository holding ``cwd`` and whether it has uncommitted changes (with
    ``only_here``: changes below ``cwd`` only)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                                 *(["--", "."] if only_here else [])], cwd=cwd,
                                capture_output=True, text=True, timeout=10, check=True).stdout
        return {"git_commit": commit, "git_dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": None}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _scripts_fingerprint(cwd: Path) -> str | None:
    """sha256 (16 hex digits) of every ``workflow/scripts/*.py`` (a script and the helpers it imports)."""
    scripts = sorted((cwd / "workflow" / "scripts").glob("*.py"))
    if not scripts:
        return None
    digest = hashlib.sha256()
    for path in scripts:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def package_provenance(cwd: Path | None = None) -> dict[str, Any]:
    """The ``initlab`` that is imported (not necessarily the working tree's ``src/initlab``): its
    directory, a hash of its sources, the git state of that directory; and whether it is the
    working tree's copy (``matches_working_tree``: None when the working tree has no src/initlab)."""
    from initlab.fingerprint import PACKAGE_DIR, code_fingerprint

    cwd = Path.cwd() if cwd is None else cwd
    fingerprint = code_fingerprint()
    local = cwd / "src" / "initlab"
    matches = code_fingerprint.__wrapped__(local.resolve()) == fingerprint if local.is_dir() else None
    return {"path": str(PACKAGE_DIR), "source_fingerprint": fingerprint, **_git_state(PACKAGE_DIR, only_here=True),
            "matches_working_tree": matches}


def provenance() -> dict[str, Any]:
    """Code and environment facts for a meta.json sidecar (no torch import: versions via metadata).
    ``git_commit``/``git_dirty`` are the working tree's (the Snakefile and scripts that ran);
    ``package`` is the imported library, which may come from another clone (then a warning says so)."""
    cwd = Path.cwd()
    facts = {
        **_git_state(cwd),
        "package": package_provenance(cwd),
        "workflow_scripts_fingerprint": _scripts_fingerprint(cwd),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {p: _version(p) for p in ("initlab", "torch", "numpy", "scipy", "snakemake", "pandas",
                                              "matplotlib")},
    }
    if facts["package"]["matches_working_tree"] is False:
        facts["code_warning"] = (f"the imported initlab ({facts['package']['path']}) differs from this working "
                                 f"tree's src/initlab: results come from the imported code; reinstall with "
                                 f"`python -m pip install -e .` in {cwd} to run this tree's code")
    return facts


def _seeds(params: Any, prefix: str = "") -> dict[str, Any]:
    """Every parameter whose name mentions 'seed', with its dotted path."""
    found: dict[str, Any] = {}
    if isinstance(params, dict):
        for key, value in params.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if "seed" in str(key).lower():
                found[path] = value
            else:
                found.update(_seeds(value, path))
    return found


@dataclass
class Job:
    paper: str
    name: str
    scale: str
    params: dict[str, Any]
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    device: str = "auto"
    threads: int = 1
    claims: list[dict[str, Any]] = field(default_factory=list)
    device_used: str = "cpu"
    extra_meta: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    # Taken when the job starts, not when it ends: a commit made while a long job runs must not
    # relabel results computed by the code that was checked out at its start.
    code_at_start: dict[str, Any] = field(default_factory=provenance)
    log_path: str | None = None    # the job's log file (--log): stdout, stderr and any traceback
    script: dict[str, Any] = field(default_factory=dict)  # path and sha256 of the running script
    rule: str | None = None        # the Snakemake rule that ran the job (--rule)
    data_dir: str | None = None    # config data_dir: inputs below it are datasets, verified on use

    # ---- outputs -------------------------------------------------------------------------------
    def output(self, key: str) -> Path:
        if key not in self.outputs:
            raise KeyError(f"job {self.paper}/{self.name} declares no output {key!r}; has {sorted(self.outputs)}")
        return Path(self.outputs[key])

    def target_ids(self) -> list[str]:
        return [k[: -len("_meta")] for k in self.outputs if k.endswith("_meta")]

    def write_csv(self, target_id: str, frame) -> Path:
        """Write a pandas DataFrame as the tidy CSV of ``target_id`` (no index column)."""
        path = self.output(f"{target_id}_csv")
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.10g")
        return path

    def save_figure(self, target_id: str, fig) -> None:
        """Save a matplotlib figure as ``<id>.pdf`` and ``<id>.png`` and close it."""
        from initlab.plot import save_figure

        save_figure(fig, self.output(f"{target_id}_pdf"), self.output(f"{target_id}_png"))

    def claim(self, claim_id: str, description: str, paper_value: Any, replicated_value: Any,
              uncertainty: Any, verdict: str, paper: str | None = None, target: str | None = None,
              reference_value: Any = "", kind: str = "claim") -> None:
        """Add one row to the claims ledger.  ``verdict`` must be one of VERDICTS, ``kind`` one of
        KINDS; ``target`` defaults to the job's figure and table ids."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict {verdict!r} for claim {claim_id!r}; allowed: {VERDICTS}")
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} for claim {claim_id!r}; allowed: {KINDS}")
        def field(value):  # NaN is an empty field, as in the fragments of the no-value rows
            return "" if isinstance(value, float) and math.isnan(value) else value

        self.claims.append({
            "paper": paper or self.paper, "claim_id": claim_id, "description": description,
            "paper_value": field(paper_value), "replicated_value": field(replicated_value),
            "uncertainty": field(uncertainty), "verdict": verdict,
            "target": target if target is not None else ",".join(self.target_ids()),
            "reference_value": field(reference_value), "kind": kind,
        })

    # ---- compute ------------------------------------------------------------------------------
    def torch_device(self):
        """The torch device from the ``device`` config key (auto: CUDA when available)."""
        import torch

        if self.device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("config key 'device' is 'cuda' but torch sees no CUDA device; "
                               "use device=auto or device=cpu, or install a CUDA build of torch")
        use_cuda = self.device == "cuda" or (self.device == "auto" and torch.cuda.is_available())
        self.device_used = "cuda:" + torch.cuda.get_device_name(0) if use_cuda else "cpu"
        return torch.device("cuda" if use_cuda else "cpu")

    def verify_datasets(self) -> dict[str, str]:
        """Check every input below ``data_dir`` (initlab.data.verified.verify_on_use: a stat when
        unchanged, else a re-hash) and record their sha256 in the meta; a changed file stops the job."""
        if not self.data_dir:
            return {}
        from initlab.data.verified import verify_on_use

        root = Path(self.data_dir).resolve()
        found = {}
        for value in self.inputs.values():
            for path in [value] if isinstance(value, str) else value:
                with contextlib.suppress(ValueError):
                    relpath = Path(path).resolve().relative_to(root).as_posix()
                    found[relpath] = verify_on_use(path, relpath, self.data_dir)
        if found:
            self.extra_meta["input_sha256"] = found
        return found

    def log(self, message: str) -> None:
        elapsed = time.time() - self.started
        print(f"[{self.paper}/{self.name} {self.scale} {elapsed:7.1f}s] {message}", flush=True)

    # ---- finish -------------------------------------------------------------------------------
    def _meta(self, target_id: str) -> dict[str, Any]:
        now = _dt.datetime.now(_dt.timezone.utc)
        return {
            "target": output_target(self.output(f"{target_id}_meta")),
            "job": self.name,
            "rule": self.rule,
            "scale": self.scale,
            "params": self.params,
            "seeds": _seeds(self.params),
            "inputs": self.inputs,
            "device": self.device_used,
            "threads": self.threads,
            "wall_time_s": round(time.time() - self.started, 3),
            "script": self.script,
            "created_utc": now.isoformat(timespec="seconds"),
            **self.code_at_start,
            **self.extra_meta,
        }

    def finish(self) -> None:
        if "claims" in self.outputs:
            with atomic_path(self.output("claims")) as tmp, open(tmp, "w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=CLAIM_COLUMNS)
                writer.writeheader()
                writer.writerows(self.claims)
        missing = [k for k, p in self.outputs.items() if not k.endswith("_meta") and not Path(p).exists()]
        if missing:
            raise RuntimeError(f"job {self.paper}/{self.name} did not write outputs {missing}")
        for target_id in self.target_ids():
            write_text_atomic(self.output(f"{target_id}_meta"),
                              json.dumps(self._meta(target_id), indent=2, default=str) + "\n")

    def remove_outputs(self) -> None:
        for path in self.outputs.values():
            with contextlib.suppress(FileNotFoundError):
                Path(path).unlink()


_OUTPUT_ROOTS = re.compile(r"^(?:.*/)?(?:figures|results)/[^/]+/")


def output_target(meta_path: str | os.PathLike) -> str:
    """What a ``.meta.json`` describes: its path below ``figures/<scale>/`` or ``results/<scale>/``
    without the suffix (``decay/fig01``, ``decay/covtype/aol_d5_zero``)."""
    path = Path(meta_path).as_posix().removesuffix(".meta.json")
    return _OUTPUT_ROOTS.sub("", path, count=1)


def _running_script() -> dict[str, Any]:
    """The script this process runs (sys.argv[0]) and the sha256 of its text; {} when it is not a file."""
    path = Path(sys.argv[0])
    if path.suffix != ".py" or not path.is_file():
        return {}
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(Path.cwd().resolve())
    return {"path": path.as_posix(), "sha256": hashlib.sha256(Path(sys.argv[0]).read_bytes()).hexdigest()}


def parse_job(argv: list[str] | None = None) -> Job:
    parser = argparse.ArgumentParser(description="Run one pipeline job (normally called by Snakemake).")
    parser.add_argument("--job", required=True, help="JSON: paper, name, scale, params (tracked by Snakemake)")
    parser.add_argument("--io", default="{}", help="JSON: inputs, outputs, threads, device")
    parser.add_argument("--log", default=None, help="log file: receives stdout, stderr and any traceback")
    parser.add_argument("--rule", default=None, help="the Snakemake rule running the job (for provenance)")
    args = parser.parse_args(argv)
    return Job(**json.loads(args.job), **json.loads(args.io), log_path=args.log,
               script=_running_script(), rule=args.rule)


class _Tee:
    """A text stream writing to several (the console and the job's log file)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def __getattr__(self, name):
        return getattr(self.streams[0], name)


def _stop_on_sigterm(signum, frame):
    # Snakemake stops running jobs with SIGTERM (Ctrl-C, a failed sibling job): raise, so that
    # the traceback reaches the log and half-written outputs are removed, as for Ctrl-C.
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def logged(path: str | None) -> Iterator[Any]:
    """stdout and stderr also written to ``path``, and the traceback of any exception leaving the
    block (also Ctrl-C; SIGTERM raises SystemExit here): done in Python, since a ``| tee`` in the
    shell dies with the same signal and loses it."""
    if path is None:
        yield None
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as fh:
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, fh), _Tee(err, fh)
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if main_thread else None
        try:
            yield fh
        except BaseException:
            # the console gets it from the interpreter as the exception leaves
            fh.write(traceback.format_exc())
            raise
        finally:
            sys.stdout, sys.stderr = out, err
            if main_thread:
                signal.signal(signal.SIGTERM, previous)


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)$")


def remove_stale_temporaries(paths) -> list[Path]:
    """Delete the temporary files (``atomic_path``'s ``.<name>.tmp-<pid>``) of the given outputs that
    belong to processes no longer running (a killed job's leftovers); returns what was removed."""
    removed = []
    for path in map(Path, paths):
        if not path.parent.is_dir():
            continue
        for candidate in path.parent.glob(f".{path.name}.tmp-*"):
            match = _TEMPORARY.match(candidate.name)
            if not match:
                continue
            try:
                os.kill(int(match["pid"]), 0)
                continue  # a live process is writing it
            except ProcessLookupError:
                pass
            except PermissionError:
                continue  # alive, another user's
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def run_job(main: Callable[[Job], None], argv: list[str] | None = None) -> None:
    """Parse ``--job``, run ``main(job)``, write claims and provenance; clean up on failure.  With
    ``--log``, everything the job prints and any traceback (also of an interrupted job) go to the log."""
    job = parse_job(argv)
    with logged(job.log_path):
        for stale in remove_stale_temporaries(job.outputs.values()):
            job.log(f"removed {stale}, left by a killed process")
        if "code_warning" in job.code_at_start:
            job.log(f"WARNING: {job.code_at_start['code_warning']}")
        job.log(f"start; params: {json.dumps(job.params, sort_keys=True)}")
        try:
            for relpath, sha in job.verify_datasets().items():
                job.log(f"dataset {relpath}: verified (sha256 {sha[:12]}...)")
            main(job)
            job.finish()
        except BaseException:
            job.remove_outputs()
            raise
        job.log("done")
    sys.stdout.flush()
