"""Train the members of a sweep group (runs sharing one architecture) as one batched model.

A *model* is any object with ``init(generators, inits) -> params`` (a dict of tensors whose first
dimension is the member) and ``forward(params, x, dropout_rng) -> outputs`` mapping inputs of shape
(S, B, ...) -- or (B, ...) shared by every member -- to (S, B, ...): e.g.
``initlab.nn.models.BatchedMLP``.  One training step runs the forward pass of every member as
batched matrix products, one backward pass, and one update of ``BatchedOptimizer`` (per-member
Adam/AdamW/SGD state and hyperparameters).  The backward pass is autograd's, or the model's own
(``manual_backward``, ``forward_for_backward``, ``backward``: see ``loss_and_grad_fn``) where it
offers one: at width 64 a step is bound by per-operator overhead, and a hand-written pass needs far
fewer operator calls.

Members (``initlab.train.members.Member``: seed, init method, lr / weight decay / momentum /
schedule, data-order seed; a plain int is a seed with the group's settings).  Per member, three
independent random streams come from its seeds alone (``seed_generator``): ``init`` (the initial
parameters, drawn by the member's init method), ``data`` (the order of the training examples, one
permutation per epoch; members with the same ``data_seed`` share it: common random numbers) and
``dropout``.  Hence a member gets the same initialisation, batches and dropout masks whether it is
trained alone or in a batch, and the batch only changes floating-point summation order inside the
matrix products (tests/test_train_engine.py states the tolerance).

Divergence: a member whose batch loss is NaN/Inf or above ``TrainSettings.divergence_loss``, or
whose gradient is not finite, is marked dead at that step (``diverged_step``) and frozen before the
update (its parameters never change again; its optimizer moments only decay); the others go on.
Checkpoints: every ``checkpoint_every`` epochs, and at the end, the whole state (parameters,
optimizer state, generator states, metrics so far) goes atomically to ``checkpoint``, loaded back
with ``torch.load(weights_only=True)`` (a checkpoint cannot run code).  A rerun with the same
arguments and the same ``initlab`` code resumes from there and ends with the same numbers as an
uninterrupted run; a checkpoint of another run or of other code is replaced, an unreadable one moved
aside, each with a message, and training restarts from scratch.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from initlab.fingerprint import code_fingerprint
from initlab.train.members import Member, as_members
from initlab.train.optim import OPTIMIZERS, SCHEDULES, BatchedOptimizer, lr_factor

STREAMS = {"init": 0, "data": 1, "dropout": 2, "augment": 3}
# bce: binary cross-entropy on one logit, targets 0/1; mse: mean over the batch and the outputs;
# mse_sum: mean over the batch of the squared error summed over the outputs (||y - y_hat||^2).
LOSSES = ("cross_entropy", "bce", "mse", "mse_sum")
CLASSIFICATION = ("cross_entropy", "bce")
BACKWARDS = ("auto", "autograd", "manual")


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory mapped (no trimming; tensors up to 32 MiB from the
    heap instead of fresh mmap calls).  PyTorch's CPU allocator returns every tensor to malloc, and
    by default glibc hands blocks of a few MB back to the kernel, so each step re-faults the
    pages of its activation- and Gram-sized temporaries: measured at 0.3-0.6 ms per 5 MB tensor,
    up to 40 % of an AOL training step.  Process-wide and harmless elsewhere; returns False where
    the C library is not glibc (nothing is changed)."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED is None:
        try:
            libc = ctypes.CDLL("libc.so.6")
            # mallopt(M_TRIM_THRESHOLD = -1, 1 GiB), mallopt(M_MMAP_THRESHOLD = -3, 32 MiB, glibc's maximum)
            _MALLOC_TUNED = bool(libc.mallopt(-1, 1 << 30) and libc.mallopt(-3, 1 << 25))
        except (OSError, AttributeError):
            _MALLOC_TUNED = False
    return _MALLOC_TUNED


_MALLOC_TUNED: bool | None = None


def flush_denormals(enabled: bool = True) -> bool:
    """Make the CPU treat denormal floats (|x| < 1.2e-38 in float32) as zero, on this thread and
    on every worker thread of torch's OpenMP pool.  Deep nets at initialisation have vanishing
    gradients (the decay paper's subject), so Adam's second moments and the early layers'
    gradients fill up with denormals, and x86 arithmetic on them is ~100x slower: measured on the
    2-core CPU, the fused Adam update of a depth-30 AOL group took 7.7 ms instead of 1.4 ms, and the
    step 30 ms instead of 21 ms.  Values that small change no float32 weight (an update of
    lr * 1e-38 / eps); the runs stay deterministic.

    ``torch.set_flush_denormal`` sets the calling thread only, and OpenMP workers inherit the mode
    only when created after it; so the mode is also set inside one OpenMP parallel region
    (libgomp's ``GOMP_parallel``, the entry point of ``#pragma omp parallel``), once per thread.
    Process-wide, like ``keep_freed_memory``.  Returns False where the CPU has no such mode or
    torch's OpenMP runtime is not libgomp with more than one thread (then only this thread).
    ``enabled=False`` restores IEEE denormals the same way."""
    if not torch.set_flush_denormal(enabled) and enabled:
        return False
    threads = torch.get_num_threads()
    if threads == 1:
        return True
    gomp = _torch_libgomp()
    if gomp is None:
        return False
    set_mode = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _: torch.set_flush_denormal(enabled))
    gomp.GOMP_parallel(set_mode, None, ctypes.c_uint(threads), ctypes.c_uint(0))
    return True


def _torch_libgomp():
    """The libgomp that torch loaded (Linux: found in /proc/self/maps), or None.  Other packages
    bring their own copies (scikit-learn's scikit_learn.libs/libgomp-*.so, mapped at a lower address
    once imported): the pool to reach is the one inside torch's package, where there is one."""
    try:
        with open("/proc/self/maps") as maps:
            paths = list(dict.fromkeys(line.split()[-1] for line in maps if "/libgomp" in line))
    except OSError:
        return None
    torch_dir = os.path.dirname(torch.__file__) + os.sep
    path = next((p for p in paths if p.startswith(torch_dir)), paths[0] if paths else None)
    try:
        return ctypes.CDLL(path) if path else None
    except OSError:
        return None


_TUNED = {"depth": 0, "state": None}


@contextlib.contextmanager
def cpu_tuned():
    """The engine's CPU settings for the duration of a block: ``keep_freed_memory`` (process-wide,
    harmless elsewhere) and ``flush_denormals``, which is switched back off when the outermost block
    ends, since flushing denormals changes arithmetic everywhere in the process (e.g. hypothesis
    refuses to run with it).  Used by ``train`` and by the benchmarks, for every variant alike.
    Yields which settings took effect."""
    if _TUNED["depth"] == 0:
        _TUNED["state"] = {"keep_freed_memory": keep_freed_memory(), "flush_denormals": flush_denormals(True)}
    _TUNED["depth"] += 1
    try:
        yield dict(_TUNED["state"])
    finally:
        _TUNED["depth"] -= 1
        if _TUNED["depth"] == 0 and _TUNED["state"]["flush_denormals"]:
            flush_denormals(False)


def cpu_tuned_call(function: Callable) -> Callable:
    """``function`` run inside ``cpu_tuned()``."""
    @functools.wraps(function)
    def tuned(*args, **kwargs):
        with cpu_tuned():
            return function(*args, **kwargs)
    return tuned


def current_cpu_tuning() -> dict[str, bool] | None:
    """The settings of the active ``cpu_tuned`` block (None outside one)."""
    return dict(_TUNED["state"]) if _TUNED["depth"] else None


def seed_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one seed's ``stream`` ('init', 'data' or 'dropout'); independent streams
    via numpy's SeedSequence spawning key (seed, stream)."""
    words = np.random.SeedSequence([int(seed), STREAMS[stream]]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed((int(words[0]) << 32 | int(words[1])) & 0x7FFF_FFFF_FFFF_FFFF)


@dataclass
class TrainSettings:
    """How a group trains.  lr, weight_decay, momentum, schedule and lr_final_ratio are the group's
    defaults; a ``Member`` may set its own."""

    epochs: int
    batch_size: int
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    schedule: str = "constant"     # see initlab.train.optim.lr_factor
    lr_final_ratio: float = 0.0    # 'cosine': final lr / initial lr
    milestones: tuple[int, ...] = ()  # 'step': 0-based epochs from which lr is multiplied by gamma
    gamma: float = 0.1
    loss: str = "cross_entropy"
    # A member whose batch loss exceeds this is diverged (a finite loss of 1e21 is no training run).
    divergence_loss: float = 1e6
    drop_last: bool = False
    checkpoint_every: int = 1
    eval_batch_size: int = 8192
    compile: bool = False          # torch.compile the forward pass (then autograd's backward)
    record_step_loss: bool = False  # keep every step's batch loss per member (TrainResult.step_loss)
    backward: str = "auto"         # 'auto' | 'autograd' | 'manual': see loss_and_grad_fn

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs ({self.epochs}) and batch_size ({self.batch_size}) must be >= 1")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r}; allowed: {', '.join(LOSSES)}")
        if self.backward not in BACKWARDS:
            raise ValueError(f"backward {self.backward!r}; allowed: {', '.join(BACKWARDS)}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every ({self.checkpoint_every}) must be >= 1")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule {self.schedule!r}; allowed: {', '.join(SCHEDULES)}")
        if not self.divergence_loss > 0:
            raise ValueError(f"divergence_loss ({self.divergence_loss}) must be > 0")
        self.milestones = tuple(int(m) for m in self.milestones)


def _move(t: torch.Tensor | None, device, dtype: torch.dtype | None):
    """``t`` on ``device``; floating tensors (inputs, regression targets) also in ``dtype``."""
    if t is None:
        return None
    return t.to(device, dtype=dtype if (dtype is not None and t.is_floating_point()) else None)


def _hash_tensors(h, tensors) -> None:
    for t in tensors:
        if t is not None:
            h.update(str(tuple(t.shape)).encode())
            h.update(np.ascontiguousarray(t.detach().cpu().double().numpy()).tobytes()[:1 << 20])
            h.update(repr(float(t.double().sum())).encode())


@dataclass
class Data:
    """Training arrays, and optional validation and test arrays evaluated after every epoch
    (columns val_* and test_*); targets are class indices (cross_entropy) or values."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    # (K, n) row numbers of x_train: subset k is what a member with ``train_subset = k`` trains on
    # (an epoch is one pass over its n rows); all subsets have the same size.
    train_subsets: torch.Tensor | None = None

    def __post_init__(self):
        if self.train_subsets is not None:
            subsets = self.train_subsets
            if subsets.ndim != 2 or subsets.dtype != torch.int64 or subsets.numel() == 0:
                raise ValueError(f"Data.train_subsets must be a non-empty (K, n) int64 tensor of row numbers; got "
                                 f"{tuple(subsets.shape)} {subsets.dtype}")
            if int(subsets.min()) < 0 or int(subsets.max()) >= self.x_train.shape[0]:
                raise ValueError(f"Data.train_subsets has row numbers outside 0..{self.x_train.shape[0] - 1}")

    def to(self, device, dtype: torch.dtype | None = None) -> "Data":
        """Move to ``device``; floating tensors (inputs, regression targets) also to ``dtype``."""
        return Data(*(_move(t, device, dtype) for t in (self.x_train, self.y_train, self.x_test, self.y_test,
                                                         self.x_val, self.y_val, self.train_subsets)))

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        _hash_tensors(h, (self.x_train, self.y_train, self.x_test, self.y_test, self.x_val, self.y_val,
                          self.train_subsets))
        return h.hexdigest()[:16]


@dataclass
class StreamData:
    """No training set: every step draws a fresh batch, ``sample(generator, n) -> (x (n, ...), y (n,
    ...))`` from a data-order stream (members with the same data seed get the same draws: common
    random numbers), e.g. x ~ U(interval) and y = p(x) for the lyapunov paper's regression tasks.
    An 'epoch' is ``steps_per_epoch`` steps between two evaluations on the fixed validation and
    test sets.  ``description`` identifies the sampler in checkpoint fingerprints (say everything
    that changes its draws)."""

    sample: Callable[[torch.Generator, int], tuple[torch.Tensor, torch.Tensor]]
    steps_per_epoch: int
    description: str
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None

    def __post_init__(self):
        if self.steps_per_epoch < 1:
            raise ValueError(f"StreamData.steps_per_epoch ({self.steps_per_epoch}) must be >= 1")

    def to(self, device, dtype: torch.dtype | None = None) -> "StreamData":
        return StreamData(self.sample, self.steps_per_epoch, self.description,
                          *(_move(t, device, dtype) for t in (self.x_test, self.y_test, self.x_val, self.y_val)))

    def fingerprint(self) -> str:
        h = hashlib.sha256(f"stream:{self.description}:{self.steps_per_epoch}".encode())
        _hash_tensors(h, (self.x_test, self.y_test, self.x_val, self.y_val))
        return h.hexdigest()[:16]


@dataclass
class TrainResult:
    metrics: pd.DataFrame          # one row per (member, epoch), see ``train``
    params: dict[str, torch.Tensor]
    alive: torch.Tensor            # (S,) bool
    diverged_step: torch.Tensor    # (S,) int64, -1 while alive
    seconds: float                 # wall time of the training steps run in this process
    examples: int                  # training examples processed in this process, counted per seed
    resumed_from_epoch: int = 0
    # Wall time of ``train`` summed over every process that worked on this run (a killed and resumed
    # run counts each process up to its last checkpoint); NaN if an earlier checkpoint lacked it.
    elapsed_seconds_all_processes: float = float("nan")
    members: list[Member] | None = None
    # (steps, S) float32: every step's batch loss per member, NaN once diverged
    # (TrainSettings.record_step_loss; None otherwise).
    step_loss: torch.Tensor | None = None

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else float("nan")

    def meta(self) -> dict[str, Any]:
        """Timing and outcome facts for a job's .meta.json."""
        return {"resumed_from_epoch": self.resumed_from_epoch,
                "train_seconds_this_process": round(self.seconds, 3),
                "elapsed_seconds_all_processes": round(self.elapsed_seconds_all_processes, 3),
                "examples_this_process": self.examples,
                "examples_per_s": round(self.examples_per_s, 1) if self.examples else None,
                "members_diverged": int((~self.alive).sum())}


def per_seed_loss(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean loss over the batch, per member: outputs (S, B, C), targets (S, B[, ...]) -> (S,).
    'bce' takes one logit (C = 1) and targets in {0, 1}."""
    S, B = outputs.shape[:2]
    if kind == "cross_entropy":
        if _feature_major(outputs):  # classes as dim 1 of (S, C, B): vectorised over the batch
            return F.cross_entropy(outputs.transpose(1, 2), targets.reshape(S, B), reduction="none").mean(1)
        return F.cross_entropy(outputs.reshape(S * B, -1), targets.reshape(S * B),
                               reduction="none").reshape(S, B).mean(1)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(outputs.reshape(S, B), targets.reshape(S, B).to(outputs.dtype),
                                                  reduction="none").mean(1)
    squared = (outputs - targets.reshape(outputs.shape)).pow(2).reshape(S, B, -1)
    return squared.sum(2).mean(1) if kind == "mse_sum" else squared.mean((1, 2))


def per_seed_correct(outputs: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """Number of correct predictions per member (classification losses): (S,)."""
    S, B = outputs.shape[:2]
    if kind == "cross_entropy":
        # max(1).indices: the first maximum, as argmax, but measured 8x faster than argmax(1) over dim 1
        predicted = outputs.transpose(1, 2).max(1).indices if _feature_major(outputs) else outputs.argmax(-1)
    else:
        predicted = (outputs.reshape(S, B) > 0).long()
    return (predicted == targets.reshape(-1, B)).sum(1)


def _feature_major(outputs: torch.Tensor) -> bool:
    """Whether (S, B, C) outputs are a view of a contiguous (S, C, B) tensor (``BatchedMLP``'s manual
    pass).  Softmax and argmax over the 10 classes of MNIST then run along contiguous batch rows:
    measured 2x (log-softmax) and 7x (argmax) faster than on the strided view or on (S * B, C) rows."""
    return outputs.shape[2] > 1 and outputs.transpose(1, 2).is_contiguous()


class _SeedStreams:
    """Uniform(0, 1) draws of shape (S, *shape), row s from seed s's own generator."""

    def __init__(self, generators: Sequence[torch.Generator], device):
        self.generators, self.device = list(generators), device

    def __call__(self, shape) -> torch.Tensor:
        return torch.stack([torch.rand(tuple(shape), generator=g) for g in self.generators]).to(self.device)


def _fingerprint(model, members: list[Member], settings: TrainSettings, data: Data) -> str:
    spec = getattr(model, "spec", repr(model))
    body = json.dumps({"model": repr(spec), "members": [repr(m) for m in members],
                       "settings": {k: (v.tolist() if isinstance(v, torch.Tensor) else v)
                                    for k, v in asdict(settings).items() if k != "checkpoint_every"},
                       "data": data.fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _load_checkpoint(path: Path, fingerprint: str, log: Callable[[str], None]) -> dict | None:
    """The saved state if ``path`` holds a readable checkpoint of this run written by this code;
    otherwise None, saying why (an unreadable file is moved aside, never deleted)."""
    try:
        # weights_only: tensors and plain containers only; a crafted pickle cannot run code.
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(saved, dict) or not {"fingerprint", "code", "epoch"} <= set(saved):
            raise ValueError("not a checkpoint of initlab.train (keys missing)")
    except Exception as err:  # noqa: BLE001 -- any unreadable file is handled the same way
        aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
        os.replace(path, aside)
        log(f"checkpoint {path} is unreadable ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
            f"moved aside to {aside}; training restarts from scratch")
        return None
    if saved["code"] != code_fingerprint():
        log(f"checkpoint {path} was written by other initlab code (fingerprint {saved['code']}, now "
            f"{code_fingerprint()}): not mixing the two; training restarts from scratch and overwrites it")
        return None
    if saved["fingerprint"] != fingerprint:
        log(f"checkpoint {path} belongs to a different run (model, members, settings or data changed): "
            "training restarts from scratch and overwrites it")
        return None
    return saved


@torch.no_grad()
def evaluate(model, params, x: torch.Tensor, y: torch.Tensor, loss: str, batch_size: int
             ) -> dict[str, torch.Tensor]:
    """Per-member mean loss (and accuracy for classification) on one dataset shared by all members.
    Each chunk of inputs goes to the model once, broadcast to every member (never copied per
    member)."""
    S = next(iter(params.values())).shape[0]
    total = torch.zeros(S, dtype=torch.float64, device=x.device)
    correct = torch.zeros(S, dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        yb = yb.unsqueeze(0).expand(S, *yb.shape)  # targets are small; the inputs are never expanded
        out = model.forward(params, xb)
        total += per_seed_loss(out, yb, loss).double() * xb.shape[0]
        if loss in CLASSIFICATION:
            correct += per_seed_correct(out, yb, loss).double()
    result = {"loss": total / x.shape[0]}
    if loss in CLASSIFICATION:
        result["accuracy"] = correct / x.shape[0]
    return result


class ParamLayout:
    """All parameters of S seeds in one flat 1-D buffer: parameter n occupies one contiguous block,
    viewed as (S, *shape).  The views are the autograd leaves; their ``.grad`` are views into a
    second buffer of the same layout, into which backward accumulates in place.  The optimizer
    then updates the whole buffer in one fused pass, and no step allocates parameter-sized
    tensors (measured on the CPU: per-tensor updates and fresh gradient/concatenation buffers
    were over half of a depth-30 step)."""

    def __init__(self, params: dict[str, torch.Tensor]):
        self.names = list(params)
        self.n_seeds = next(iter(params.values())).shape[0]
        self.shapes = [tuple(v.shape[1:]) for v in params.values()]
        self.sizes = [self.n_seeds * math.prod(shape) for shape in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int).tolist()
        self.numel = self.offsets[-1]

    def flatten(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([params[n].reshape(-1) for n in self.names])

    def per_seed_sum(self, flat: torch.Tensor) -> torch.Tensor:
        """Sum over each member's entries of a buffer in this layout: (S,)."""
        total = torch.zeros(self.n_seeds, dtype=flat.dtype, device=flat.device)
        for o, k in zip(self.offsets, self.sizes):
            total += flat[o:o + k].view(self.n_seeds, -1).sum(1)
        return total

    def member_blocks(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """The buffer ``flat`` as a few (n, S, k) views, one per run of consecutive parameters with k
        entries per member, so that one value per member broadcasts as (1, S, 1) over the whole
        buffer in a handful of operator calls, with no per-entry expansion."""
        S, blocks, start = self.n_seeds, [], 0
        for end in range(1, len(self.sizes) + 1):
            if end == len(self.sizes) or self.sizes[end] != self.sizes[start]:
                blocks.append(flat[self.offsets[start]:self.offsets[end]].view(end - start, S, -1))
                start = end
        return blocks

    def seed_index(self) -> torch.Tensor:
        """The seed (0..S-1) of every entry of the flat buffer."""
        return torch.cat([torch.arange(self.n_seeds).repeat_interleave(k // self.n_seeds) for k in self.sizes])

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named (S, *shape) views into the buffer ``flat``."""
        return {n: flat[o:o + k].view(self.n_seeds, *shape)
                for n, o, k, shape in zip(self.names, self.offsets, self.sizes, self.shapes)}

    def leaves(self, flat: torch.Tensor, grad_flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``flat`` that require grad, with ``.grad`` already set to views of ``grad_flat``."""
        params = self.views(flat)
        for (name, view), grad in zip(params.items(), self.views(grad_flat).values()):
            view.requires_grad_(True)
            view.grad = grad
        return params


def loss_and_grad_fn(model, backward: str = "auto", compile: bool = False) -> Callable:
    """The function ``(params, xb, yb, alive, loss_kind, dropout_rng) -> (per-member loss (S,),
    per-member correct predictions (S,) or None for regression)`` that also leaves d(sum of alive
    members' losses)/d(params) in ``params[name].grad`` (zeroed before).

    ``backward``: 'autograd' (any model), 'manual' (the model's own ``forward_for_backward`` and
    ``backward``, e.g. ``BatchedMLP`` for ReLU nets), or 'auto': manual where the model offers it,
    unless ``compile`` asks for torch.compile, which fuses autograd's graph (measured on the 2-core
    CPU, depth-30 Covertype nets: compiled autograd 29 ms/step for AOL and 15 ms for plain at one
    thread, eager manual 47 and 19 ms; at two threads the manual pass is 20-30 % faster than eager
    autograd).
    ``compile``: torch.compile the forward pass; autograd then differentiates the compiled graph
    (the manual pass itself is never compiled).
    Seeds are independent, so d(sum of losses)/d(params of seed s) = d(loss_s)/d(params of s)."""
    if backward not in BACKWARDS:
        raise ValueError(f"backward {backward!r}; allowed: {', '.join(BACKWARDS)}")
    manual = getattr(model, "manual_backward", False)
    if backward == "manual" and not manual:
        raise ValueError(f"backward 'manual': {type(model).__name__} has no hand-written backward pass for "
                         f"{getattr(model, 'spec', model)}; use 'autograd' or 'auto'")

    def seed_losses(outputs, yb, alive, loss_kind):
        with torch.enable_grad():
            loss = per_seed_loss(outputs, yb, loss_kind)
            torch.where(alive & torch.isfinite(loss), loss, torch.zeros((), device=loss.device)).sum().backward()
        correct = per_seed_correct(outputs.detach(), yb, loss_kind) if loss_kind in CLASSIFICATION else None
        return loss.detach(), correct

    if backward == "autograd" or not manual or (backward == "auto" and compile):
        forward = torch.compile(model.forward) if compile else model.forward

        def autograd_step(params, xb, yb, alive, loss_kind, dropout_rng=None):
            return seed_losses(forward(params, xb, dropout_rng), yb, alive, loss_kind)
        return autograd_step

    def manual_step(params, xb, yb, alive, loss_kind, dropout_rng=None):
        grads = {name: p.grad for name, p in params.items()}
        S, G = alive.shape[0], xb.shape[0]
        losses, corrects = [], []
        for members in model.member_chunks(S, G, xb.shape[1], xb.element_size()):  # cache-sized blocks
            inputs = slice(members.start * G // S, members.stop * G // S)
            outputs, cache = model.forward_for_backward(params, xb[inputs], members)
            outputs_leaf = outputs.detach().requires_grad_(True)
            loss, correct = seed_losses(outputs_leaf, yb[members], alive[members], loss_kind)
            model.backward(grads, cache, outputs_leaf.grad)
            losses.append(loss)
            corrects.append(correct)
        if len(losses) == 1:
            return losses[0], corrects[0]
        return torch.cat(losses), None if corrects[0] is None else torch.cat(corrects)
    return manual_step


def train_step(loss_and_grad: Callable, params: dict[str, torch.Tensor], grad_flat: torch.Tensor, optimizer,
               xb: torch.Tensor, yb: torch.Tensor, alive: torch.Tensor, diverged_step: torch.Tensor,
               global_step: int, loss_kind: str = "cross_entropy", lr_scale=1.0, dropout_rng=None,
               divergence_loss: float = math.inf, layout: "ParamLayout | None" = None):
    """One step for all members: batched forward and backward (``loss_and_grad_fn``) into
    ``grad_flat``, one per-member update (``lr_scale``: a float or one factor per member).
    ``params`` and ``grad_flat`` come from ``ParamLayout.leaves``.  A member whose loss is not
    finite or exceeds ``divergence_loss``, or (with ``layout``) whose gradient is not finite, is
    marked dead at ``global_step`` and frozen before the update.  No host synchronisation on a GPU.
    Returns (per-member loss (S,), correct predictions (S,) or None, alive, diverged_step)."""
    grad_flat.zero_()
    loss, correct = loss_and_grad(params, xb, yb, alive, loss_kind, dropout_rng)
    healthy = torch.isfinite(loss) & (loss <= divergence_loss)
    if layout is not None:
        # On the CPU one reduction tells that every gradient is finite (the common case), instead of
        # one per parameter (200 operator calls per step for a depth-100 net); on a GPU the
        # per-member sums avoid a host synchronisation.
        if grad_flat.device.type != "cpu" or not bool(torch.isfinite(grad_flat.sum())):
            healthy &= torch.isfinite(layout.per_seed_sum(grad_flat))
    diverged_step = torch.where(alive & ~healthy, global_step, diverged_step)
    alive = alive & healthy
    optimizer.step(grad_flat, alive, lr_scale)
    return loss, correct, alive, diverged_step


def _per_member(members: list[Member], settings: TrainSettings, name: str):
    """A hyperparameter as one scalar when every member has the same value (the fused optimizer
    paths), else as a float64 tensor (S,)."""
    values = [float(m.resolved(name, settings)) for m in members]
    return values[0] if len(set(values)) == 1 else torch.tensor(values, dtype=torch.float64)


@cpu_tuned_call
def train(model, members: Sequence[int | Member], data: "Data | StreamData", settings: TrainSettings, device="cpu",
          checkpoint: str | os.PathLike | None = None, log: Callable[[str], None] = print,
          metrics_hook: Callable[[int, dict, torch.Tensor], dict[str, torch.Tensor]] | None = None,
          dtype: torch.dtype = torch.float32, augment: Callable | None = None) -> TrainResult:
    """Train the ``members`` (``Member`` objects, or plain seeds) of one architecture on ``data``
    (a fixed training set, ``Data``, or fresh draws at every step, ``StreamData``).

    Returns per-member, per-epoch metrics (long format: columns member, seed, the members' label
    columns, epoch, train_loss [mean batch loss over the epoch's steps while alive],
    train_loss_last_batch [the epoch's last minibatch], train_accuracy [classification: running
    accuracy over the epoch's minibatches, each counted before its update], test_loss /
    test_accuracy [if test data], val_loss / val_accuracy [if validation data], alive, diverged_step,
    plus whatever ``metrics_hook(epoch, params,
    alive)`` returns as (S,) tensors).  Epoch 0 is the initialisation (no train columns).  ``dtype``
    is that of the parameters and inputs.  ``augment(xb, uniform) -> xb`` (optional) transforms each
    training batch (S, B, ...), drawing its randomness from ``uniform(shape) -> (S, *shape)``, each
    member's row from its own 'augment' stream.  Timing never enters the metrics (they are bit-identical
    between reruns on CPU); it is in the returned ``seconds``/``examples`` and the progress lines.
    """
    started = time.perf_counter()
    device = torch.device(device)
    members = as_members(members)
    S = len(members)
    data = data.to(device, dtype)
    stream = isinstance(data, StreamData)
    subsets = None if stream else data.train_subsets
    N = None if stream else data.x_train.shape[0] if subsets is None else subsets.shape[1]
    wanted = sorted({m.train_subset for m in members} - {None})
    if subsets is None and wanted:
        raise ValueError(f"members train on subsets {wanted} but the data has no train_subsets")
    if subsets is not None and (None in {m.train_subset for m in members} or wanted[-1] >= subsets.shape[0]):
        raise ValueError(f"with Data.train_subsets ({subsets.shape[0]} subsets) every member needs a train_subset "
                         f"in 0..{subsets.shape[0] - 1}; got {sorted({m.train_subset for m in members}, key=str)}")
    if not stream and N < settings.batch_size and settings.drop_last:
        raise ValueError(f"{N} training examples < batch_size {settings.batch_size} with drop_last")
    initial = model.init([seed_generator(m.seed, "init") for m in members], [m.init for m in members])
    layout = ParamLayout(initial)
    flat = layout.flatten(initial).to(device, dtype)  # initialised on the CPU: same start on every device
    grad_flat = torch.zeros_like(flat)
    params = layout.leaves(flat, grad_flat)  # autograd leaves sharing flat's storage
    optimizer = BatchedOptimizer(layout, flat, settings.optimizer, lr=_per_member(members, settings, "lr"),
                                 weight_decay=_per_member(members, settings, "weight_decay"),
                                 momentum=_per_member(members, settings, "momentum"))
    # One data-order stream per distinct (order seed, training subset); members sharing it see the
    # same batches.
    order_keys = list(dict.fromkeys((m.order_seed, m.train_subset) for m in members))
    data_gens = [seed_generator(seed, "data") for seed, _ in order_keys]
    order_of_member = torch.tensor([order_keys.index((m.order_seed, m.train_subset)) for m in members])
    order_rows = None if subsets is None else subsets[[k for _, k in order_keys]]  # (orders, N)
    # Members sharing an order in consecutive blocks of equal size get one copy of each batch
    # (the model's grouped_linear); otherwise every member gets its own copy.
    group_size = S // len(order_keys)
    grouped = (getattr(model, "grouped_inputs", False) and augment is None and 1 < group_size and
               S % len(order_keys) == 0 and
               torch.equal(order_of_member, torch.arange(len(order_keys)).repeat_interleave(group_size)))
    own_order = torch.equal(order_of_member, torch.arange(S))  # batch row s is member s's already
    dropout_gens = [seed_generator(m.seed, "dropout") for m in members]
    dropout_rng = _SeedStreams(dropout_gens, device)
    augment_gens = [seed_generator(m.seed, "augment") for m in members]
    augment_rng = _SeedStreams(augment_gens, device)
    alive = torch.ones(S, dtype=torch.bool, device=device)
    diverged_step = torch.full((S,), -1, dtype=torch.int64, device=device)
    if stream:
        steps_per_epoch = data.steps_per_epoch
    else:
        steps_per_epoch = N // settings.batch_size if settings.drop_last else math.ceil(N / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    schedules = [(m.resolved("schedule", settings), float(m.resolved("lr_final_ratio", settings))) for m in members]
    for kind, _ in schedules:
        if kind not in SCHEDULES:
            raise ValueError(f"schedule {kind!r}; allowed: {', '.join(SCHEDULES)}")

    def lr_scale(step: int):
        factors = {sch: lr_factor(sch[0], step, total_steps, sch[1], steps_per_epoch=steps_per_epoch,
                                  milestones=settings.milestones, gamma=settings.gamma) for sch in set(schedules)}
        if len(factors) == 1:
            return next(iter(factors.values()))
        return torch.tensor([factors[sch] for sch in schedules], dtype=torch.float64)

    rows: list[dict] = []
    start_epoch = 0
    step_loss = (torch.full((total_steps, S), float("nan"), dtype=torch.float32, device=device)
                 if settings.record_step_loss else None)
    ckpt_path = Path(checkpoint) if checkpoint else None
    fingerprint = _fingerprint(model, members, settings, data) + f"-{dtype}"

    saved, earlier_seconds = None, 0.0
    if ckpt_path is not None and ckpt_path.exists():
        saved = _load_checkpoint(ckpt_path, fingerprint, log)
    if saved is not None:
        with torch.no_grad():
            flat.copy_(layout.flatten(saved["params"]))
        optimizer.load_state_dict(saved["optimizer"])  # copy_ moves the tensors to the device
        alive.copy_(saved["alive"])
        diverged_step.copy_(saved["diverged_step"])
        for g, state in zip(data_gens, saved["data_gens"]):
            g.set_state(state)
        for g, state in zip(dropout_gens, saved["dropout_gens"]):
            g.set_state(state)
        for g, state in zip(augment_gens, saved["augment_gens"]):
            g.set_state(state)
        rows = saved["rows"]
        if settings.record_step_loss:
            step_loss = saved["step_loss"].to(device)
        start_epoch = saved["epoch"]
        earlier_seconds = float(saved.get("elapsed_seconds", math.nan))
        log(f"resumed from {ckpt_path} at epoch {start_epoch}/{settings.epochs}")

    loss_and_grad = loss_and_grad_fn(model, settings.backward, settings.compile)
    labels = [dict(m.labels) for m in members]

    def epoch_rows(epoch: int, train_cols: dict[str, torch.Tensor]) -> list[dict]:
        cols = dict(train_cols)
        for split in ("val", "test"):
            if getattr(data, f"x_{split}") is not None:
                for k, v in evaluate(model, params, getattr(data, f"x_{split}"), getattr(data, f"y_{split}"),
                                     settings.loss, settings.eval_batch_size).items():
                    cols[f"{split}_{k}"] = v
        if metrics_hook is not None:
            cols.update(metrics_hook(epoch, params, alive))
        cols = {k: v.detach().double().cpu().numpy() for k, v in cols.items()}
        alive_np, div_np = alive.cpu().numpy(), diverged_step.cpu().numpy()
        return [{"member": i, "seed": members[i].seed, **labels[i], "epoch": epoch,
                 **{k: float(v[i]) for k, v in cols.items()},
                 "alive": bool(alive_np[i]), "diverged_step": int(div_np[i])} for i in range(S)]

    if start_epoch == 0:
        rows.extend(epoch_rows(0, {}))
    seconds, examples = 0.0, 0
    zero = torch.zeros((), device=device)
    nan = torch.full((S,), float("nan"), dtype=torch.float64, device=device)
    classification = settings.loss in CLASSIFICATION
    for epoch in range(start_epoch + 1, settings.epochs + 1):
        t0 = time.perf_counter()
        if not stream:
            perms = torch.stack([torch.randperm(N, generator=g) for g in data_gens]).to(device)  # (orders, N)
            if order_rows is not None:  # positions in each order's subset -> row numbers of x_train
                perms = torch.gather(order_rows, 1, perms)
        loss_sum = torch.zeros(S, dtype=torch.float64, device=device)
        loss_count = torch.zeros(S, dtype=torch.int64, device=device)
        correct_sum = torch.zeros(S, dtype=torch.float64, device=device)
        seen = torch.zeros(S, dtype=torch.float64, device=device)
        for i in range(steps_per_epoch):
            global_step = (epoch - 1) * steps_per_epoch + i
            if stream:
                draws = [data.sample(g, settings.batch_size) for g in data_gens]
                xb = torch.stack([x for x, _ in draws]).to(device, dtype)
                yb = torch.stack([y for _, y in draws]).to(device, dtype if draws[0][1].is_floating_point() else None)
            else:
                idx = perms[:, i * settings.batch_size:(i + 1) * settings.batch_size]
                xb, yb = data.x_train[idx], data.y_train[idx]  # (orders, B, ...)
            if grouped:  # (orders, B, ...) inputs, each shared by its block of members
                yb = yb.repeat_interleave(group_size, 0)
            elif not own_order:  # (S, B, ...): each member its own copy
                xb, yb = xb[order_of_member], yb[order_of_member]
            if augment is not None:
                xb = augment(xb, augment_rng)
            loss, correct, alive, diverged_step = train_step(
                loss_and_grad, params, grad_flat, optimizer, xb, yb, alive, diverged_step, global_step,
                settings.loss, lr_scale(global_step), dropout_rng, settings.divergence_loss, layout)
            if step_loss is not None:
                step_loss[global_step] = torch.where(alive, loss.detach(), float("nan"))
            loss_sum += torch.where(alive, loss.detach(), zero).double()
            loss_count += alive
            if classification:
                correct_sum += torch.where(alive, correct, 0).double()
                seen += alive * yb.shape[1]
        train_cols = {"train_loss": torch.where(loss_count > 0, loss_sum / loss_count.clamp(min=1), nan),
                      "train_loss_last_batch": torch.where(alive, loss.double(), nan)}
        if classification:
            train_cols["train_accuracy"] = torch.where(seen > 0, correct_sum / seen.clamp(min=1), nan)
        train_loss = train_cols["train_loss"]
        dt = time.perf_counter() - t0
        seconds += dt
        n_examples = S * (steps_per_epoch * settings.batch_size if stream else
                          min(N, steps_per_epoch * settings.batch_size))
        examples += n_examples
        rows.extend(epoch_rows(epoch, train_cols))
        live = train_loss[alive].cpu()
        summary = (f"{live.min():.4g}/{live.median():.4g}/{live.max():.4g}" if live.numel() else "-")
        eta = seconds / (epoch - start_epoch) * (settings.epochs - epoch)
        log(f"epoch {epoch}/{settings.epochs}  alive {int(alive.sum())}/{S}  train loss min/med/max "
            f"{summary}  {n_examples / dt:,.0f} examples/s  ETA {eta:,.0f} s")
        if ckpt_path is not None and (epoch % settings.checkpoint_every == 0 or epoch == settings.epochs):
            _save_checkpoint(ckpt_path, {
                "fingerprint": fingerprint, "code": code_fingerprint(), "epoch": epoch,
                "params": {k: v.detach().cpu().clone() for k, v in params.items()},
                "optimizer": _to_cpu(optimizer.state_dict()),
                "alive": alive.cpu(), "diverged_step": diverged_step.cpu(),
                "data_gens": [g.get_state() for g in data_gens],
                "dropout_gens": [g.get_state() for g in dropout_gens],
                "augment_gens": [g.get_state() for g in augment_gens], "rows": rows,
                **({"step_loss": step_loss.cpu()} if step_loss is not None else {}),
                "elapsed_seconds": earlier_seconds + time.perf_counter() - started})

    return TrainResult(pd.DataFrame(rows), {k: v.detach().clone() for k, v in params.items()}, alive.cpu(),
                       diverged_step.cpu(), seconds, examples, start_epoch,
                       earlier_seconds + time.perf_counter() - started, members,
                       None if step_loss is None else step_loss.cpu())


def _to_cpu(tree):
    if isinstance(tree, torch.Tensor):
        return tree.detach().cpu()
    if isinstance(tree, dict):
        return {k: _to_cpu(v) for k, v in tree.items()}
    return tree
