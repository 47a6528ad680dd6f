"""Benchmarks of the library.  ``python -m initlab.bench training --depth 30 --width 64 --seeds 10
--batch 64 --steps 50 --json``.

``training`` times three ways of training S seeds of one architecture (``--model aol``, the
default: the decay paper's AOL/SLL-normalised ReLU net, the network of its Covertype experiment
whose one-network-per-process training is the engine's reference; ``--model plain``: the same
shape without the rescaling; ``depth`` internal width x width layers between ``--in-features``
inputs and ``--classes`` outputs, Adam, cross-entropy on synthetic data), side by side in the same
process and interleaved round by round (so that load from other processes hits all of them alike):

* ``batched``: the engine (initlab.train.train_step on initlab.nn.models.BatchedMLP): one
  forward/backward/update of stacked parameters with batched matrix products (torch.baddbmm),
  the backward pass hand-written (``--backward auto``, the engine's default for ReLU MLPs) or
  autograd's (``--backward autograd``, optionally ``--compile``);
* ``vmap``: the torch.func alternative: stack_module_state + functional_call + vmap(grad) over a
  single-seed nn.Module, updated by the same per-seed optimizer;
* ``loop``: a plain per-seed loop, what the papers' code does: S nn.Modules (the same networks)
  each with its own torch.optim.Adam, one after the other.

All three use the same torch threads and the same CPU settings (``initlab.train.engine.cpu_tuned``:
malloc keeps freed memory, denormals flush to zero; recorded as ``process``).  Examples are counted per seed (S * batch per step).
The JSON has the medians over rounds (``batched_examples_per_s``, ``loop_examples_per_s``,
``vmap_examples_per_s``), ``speedup`` = batched / loop and ``vmap_speedup`` = vmap / loop, and the
per-round values.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from initlab.train.engine import cpu_tuned_call


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _per_run_loop(modules, optimizers, x: torch.Tensor, y: torch.Tensor, order: torch.Tensor,
                  loss=F.cross_entropy, members_per_order: int = 1):
    """The papers' structure: ``run(n)`` takes n steps of every run, one nn.Module and one torch.optim
    optimizer after the other, run s on the batch ``order[step % len(order), s // members_per_order]``."""
    def run(n):
        for i in range(n):
            idx = order[i % len(order)]
            for s, (module, optimizer) in enumerate(zip(modules, optimizers)):
                batch = idx[s // members_per_order]
                optimizer.zero_grad(set_to_none=True)
                loss(module(x[batch]), y[batch]).backward()
                optimizer.step()
    return run


def _interleaved_rounds(runners: dict, variants, steps: int, rounds: int, examples_per_step: int,
                        device: torch.device) -> dict[str, list[float]]:
    """Warm every variant up (allocations, compilation), then time ``rounds`` rounds of ``steps``
    steps, the variants interleaved within each round (load from other processes hits all alike):
    examples per second, per variant and round."""
    for name in variants:
        runners[name](min(3, steps))
    _sync(device)
    per_round = {name: [] for name in variants}
    for _ in range(rounds):
        for name in variants:
            _sync(device)
            t0 = time.perf_counter()
            runners[name](steps)
            _sync(device)
            per_round[name].append(examples_per_step * steps / (time.perf_counter() - t0))
    return per_round


@cpu_tuned_call
def training_benchmark(depth: int, width: int, seeds: int, batch: int, steps: int, rounds: int = 5,
                       in_features: int = 54, classes: int = 7, model: str = "aol",
                       device: str = "cpu", threads: int | None = None, variants=("batched", "vmap", "loop"),
                       compile: bool = False, seed: int = 0, return_state: bool = False,
                       backward: str = "auto") -> dict:
    from torch.func import functional_call, grad, stack_module_state, vmap

    from initlab.nn.models import MLP, BatchedMLP, MLPSpec
    from initlab.train.engine import ParamLayout, loss_and_grad_fn, seed_generator, train_step, current_cpu_tuning
    from initlab.train.optim import BatchedOptimizer

    if threads:
        torch.set_num_threads(threads)
    process = current_cpu_tuning()  # for every variant alike: the engine's CPU settings (cpu_tuned_call)
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                       ("cpu" if device == "auto" else device))
    spec = MLPSpec(in_features, width, depth, classes, lipschitz=None if model == "plain" else "aol",
                   bias_init="uniform_fan_in")
    batched = BatchedMLP(spec)
    seed_list = list(range(seed, seed + seeds))
    init = batched.init([seed_generator(s, "init") for s in seed_list])
    gen = torch.Generator().manual_seed(seed)
    n_data = batch * 64
    x = torch.randn(n_data, in_features, generator=gen).to(dev)
    y = torch.randint(0, classes, (n_data,), generator=gen).to(dev)
    order = torch.randint(0, n_data, (steps, seeds, batch), generator=gen).to(dev)

    # --- batched engine
    layout = ParamLayout(init)
    flat = layout.flatten(init).to(dev)
    grad_flat = torch.zeros_like(flat)
    params = layout.leaves(flat, grad_flat)
    opt = BatchedOptimizer(layout, flat, "adam", lr=1e-3)
    alive = torch.ones(seeds, dtype=torch.bool, device=dev)
    div = torch.full((seeds,), -1, dtype=torch.int64, device=dev)
    loss_and_grad = loss_and_grad_fn(batched, backward, compile)

    def run_batched(n):
        nonlocal alive, div
        for i in range(n):
            idx = order[i % steps]
            _, _, alive, div = train_step(loss_and_grad, params, grad_flat, opt, x[idx], y[idx], alive, div, i)

    # --- torch.func vmap over a single-seed module
    modules = [MLP(spec, {k: v[s] for k, v in init.items()}).to(dev) for s in range(seeds)]
    stacked, _ = stack_module_state(modules)
    vlayout = ParamLayout(stacked)
    vflat = vlayout.flatten({k: v.detach() for k, v in stacked.items()})
    vparams = vlayout.views(vflat)
    base = MLP(spec, {k: v[0] for k, v in init.items()}).to("meta")
    vopt = BatchedOptimizer(vlayout, vflat, "adam", lr=1e-3)

    def loss_one(p, xb, yb):
        return F.cross_entropy(functional_call(base, p, (xb,)), yb)

    per_seed_grad = vmap(grad(loss_one))

    def run_vmap(n):
        for i in range(n):
            idx = order[i % steps]
            grads = per_seed_grad(vparams, x[idx], y[idx])
            vopt.step(vlayout.flatten(grads), alive)

    # --- plain per-seed loop (torch.optim.Adam per module)
    loop_opts = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in modules]

    runners = {"batched": run_batched, "vmap": run_vmap, "loop": _per_run_loop(modules, loop_opts, x, y, order)}
    per_round = _interleaved_rounds(runners, variants, steps, rounds, seeds * batch, dev)
    med = {name: statistics.median(v) for name, v in per_round.items()}
    result = {
        "benchmark": "training", "depth": depth, "width": width, "seeds": seeds, "batch": batch,
        "steps": steps, "rounds": rounds, "model": model, "in_features": in_features, "classes": classes,
        "device": str(dev) if dev.type != "cuda" else f"cuda:{torch.cuda.get_device_name(0)}",
        "threads": torch.get_num_threads(), "compile": compile, "backward": backward, "torch": torch.__version__,
        "platform": platform.platform(), "process": process,
        "per_round_examples_per_s": per_round,
    }
    for name, value in med.items():
        result[f"{name}_examples_per_s"] = value
    if "loop" in med and "batched" in med:
        result["speedup"] = med["batched"] / med["loop"]
    if "loop" in med and "vmap" in med:
        result["vmap_speedup"] = med["vmap"] / med["loop"]
    if return_state:  # the parameters each variant ended with (for tests: all three train alike)
        result["state"] = {
            "batched": {k: v.detach().cpu().clone() for k, v in params.items()},
            "vmap": {k: v.detach().cpu().clone() for k, v in vparams.items()},
            "loop": {k: torch.stack([dict(m.named_parameters())[k].detach().cpu() for m in modules])
                     for k in params},
        }
    return result


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """The machine's arithmetic limit as measured here: the best of ``repeats`` float32 n x n
    matrix products (2 n^3 flop each) on ``device`` with the current torch threads."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b  # warm-up
    best = math.inf
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def _fractional_fig05_setup(n_members: int | None):
    """The fractional paper's MNIST FC group: 784 -> 64 x 19 -> 10 (20 linear maps), ReLU on the
    logits, SGD lr 0.01, batch 128; 80 members = 4 inits x 20 runs (the paper's sweep)."""
    from initlab.nn.inits import InitSpec
    from initlab.nn.models import MLP, BatchedMLP, MLPSpec
    from initlab.train.members import Member

    spec = MLPSpec(784, 64, 18, 10, bias_init="uniform_fan_in", relu_on_logits=True)
    methods = [InitSpec("xavier_normal"), InitSpec("random_walk"), InitSpec("kaiming_normal"),
               InitSpec.parse({"method": "fractional_s", "s": 0.8})]
    n_members = n_members or 80
    members = [Member(k, init=methods[k % 4]) for k in range(n_members)]
    return {"model": BatchedMLP(spec), "members": members, "optimizer": "sgd", "lr": 0.01, "batch": 128,
            "in_features": 784, "classes": 10,
            "module": lambda params: MLP(spec, params),
            "torch_optimizer": lambda module, member: torch.optim.SGD(module.parameters(), lr=0.01)}


def _lyapunov_setup(experiment: str, n_members: int | None):
    """A lyapunov group as the full-scale jobs train it (config/lyapunov.yaml, full scale): members
    seed-major, the grid's combinations of one seed consecutive and sharing its batches (the engine's
    grouped inputs), every method of the experiment; AdamW with per-member lr and weight decay.
    Default members: MNIST 420 = 7 methods x 6 combinations x 10 seeds; polynomial 7 x 6 x 10 at
    batch 500; score 4 x 4 x 10 at batch 400."""
    import yaml

    from initlab.config import resolve
    from initlab.nn.models import MLP, BatchedMLP
    from initlab.sweeps import lyapunov

    config = Path(__file__).resolve().parents[2] / "config" / "lyapunov.yaml"
    p = resolve(yaml.safe_load(config.read_text())["lyapunov"][experiment], "full")
    batch = {"mnist": p.get("batch_size"), "polynomial": 500, "score": 400}[experiment]
    group_batch = None if experiment == "mnist" else batch
    combos = len(lyapunov.members({**p, "runs": 1}, next(iter(p["methods"])), group_batch))
    n_members = n_members or 10 * combos * len(p["methods"])
    runs = max(1, math.ceil(n_members / (combos * len(p["methods"]))))
    per_method = {method: lyapunov.members({**p, "runs": runs}, method, group_batch) for method in p["methods"]}
    # seed-major across methods: the members of one seed (every method and combination) share its batches
    members = [m for run in range(runs) for method in p["methods"] for m in per_method[method]
               if dict(m.labels)["run"] == run][:n_members]
    spec = lyapunov.net_spec(p)
    model = BatchedMLP(spec)
    model.selection_inputs = torch.rand(p["probe_rows"], p["in_features"], generator=torch.Generator().manual_seed(0))
    regression = experiment != "mnist"
    return {"model": model, "members": members, "optimizer": "adamw", "batch": batch,
            "lr": torch.tensor([m.lr for m in members]), "weight_decay": torch.tensor([m.weight_decay for m in members]),
            "members_per_order": combos * len(p["methods"]), "in_features": p["in_features"],
            "classes": None if regression else p["out_features"], "targets": p["out_features"] if regression else None,
            "loss": "mse_sum" if regression else "cross_entropy",
            "module": lambda params: MLP(spec, params),
            "torch_optimizer": lambda module, member: torch.optim.AdamW(module.parameters(), lr=member.lr,
                                                                         weight_decay=member.weight_decay)}


def _ldlt_higgs_setup(n_members: int | None, depth: int = 10, width: int = 128):
    """A group of the ldlt paper's HIGGS sweep: ``depth`` LDLT layers 28 -> width ... -> 1, ELU, BCE,
    batch 64, AdamW (lr 1e-3, PyTorch defaults); 25 members = 5 scales x 5 folds, each its own batch.
    The loop is one ``LDLTNet`` (nn.Linear layers with the LDLT parametrization) per run."""
    from initlab.nn.inits import InitSpec
    from initlab.nn.ldlt_net import BatchedLDLT, LDLTNet, LDLTNetSpec
    from initlab.train.members import Member

    spec = LDLTNetSpec(28, width, depth)
    scales = (1.0, 2.0, 4.0, 8.0, 10.0)
    n_members = n_members or 25
    members = [Member(k // len(scales), InitSpec.parse({"method": "scaled_normal", "scale": scales[k % len(scales)]}))
               for k in range(n_members)]
    return {"model": BatchedLDLT(spec), "members": members, "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01,
            "batch": 64, "in_features": 28, "loss": "bce",
            "module": lambda params: LDLTNet(spec, params),
            "torch_optimizer": lambda module, member: torch.optim.AdamW(module.parameters(), lr=1e-3)}


SWEEP_EXPERIMENTS = {"fractional_fig05": _fractional_fig05_setup,
                     "ldlt_higgs": _ldlt_higgs_setup,
                     "lyapunov_mnist": lambda n: _lyapunov_setup("mnist", n),
                     "lyapunov_polynomial": lambda n: _lyapunov_setup("polynomial", n),
                     "lyapunov_score": lambda n: _lyapunov_setup("score", n)}
# Experiments whose architecture the bench's --depth / --width change.
SHAPED_EXPERIMENTS = ("ldlt_higgs",)


@cpu_tuned_call
def sweep_benchmark(experiment: str, members: int | None = None, steps: int = 20, rounds: int = 3,
                    device: str = "cpu", threads: int | None = None, variants=("batched", "loop"),
                    return_state: bool = False, depth: int | None = None, width: int | None = None) -> dict:
    """One sweep group's training step: the batched engine (every member in one model) against the
    authors' structure (one nn.Module and one torch.optim optimizer per run, run after run) on the
    same pre-loaded tensors, interleaved round by round in this process.  Examples are counted per
    member.  ``gflops_per_s`` = 6 x parameters per member x batched examples/s; ``matmul_gflops_per_s``
    is a large square matmul timed here (the arithmetic limit)."""
    from initlab.train.engine import ParamLayout, loss_and_grad_fn, seed_generator, train_step, current_cpu_tuning
    from initlab.train.members import as_members
    from initlab.train.optim import BatchedOptimizer

    if experiment not in SWEEP_EXPERIMENTS:
        raise ValueError(f"experiment {experiment!r}; allowed: {', '.join(SWEEP_EXPERIMENTS)}")
    if threads:
        torch.set_num_threads(threads)
    process = current_cpu_tuning()  # for every variant alike: the engine's CPU settings (cpu_tuned_call)
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                       ("cpu" if device == "auto" else device))
    shape = {k: v for k, v in (("depth", depth), ("width", width)) if v is not None}
    if shape and experiment not in SHAPED_EXPERIMENTS:
        raise ValueError(f"--depth/--width apply to {', '.join(SHAPED_EXPERIMENTS)} only; {experiment} benches "
                         "its paper's architecture")
    setup = SWEEP_EXPERIMENTS[experiment](members, **shape)
    model, member_list, batch = setup["model"], as_members(setup["members"]), setup["batch"]
    S = len(member_list)
    init = model.init([seed_generator(m.seed, "init") for m in member_list], [m.init for m in member_list])
    n_params = sum(v[0].numel() for v in init.values())
    gen = torch.Generator().manual_seed(0)
    n_data = batch * 64
    x = torch.randn(n_data, setup["in_features"], generator=gen).to(dev)
    loss_kind = setup.get("loss", "cross_entropy")
    if loss_kind == "cross_entropy":
        y = torch.randint(0, setup["classes"], (n_data,), generator=gen).to(dev)
    elif loss_kind == "bce":
        y = torch.randint(0, 2, (n_data,), generator=gen).to(dev)
    else:
        y = torch.randn(n_data, setup["targets"], generator=gen).to(dev)
    # Members sharing a data order (consecutive blocks) get one copy of each batch, as in the engine.
    per_order = setup.get("members_per_order", 1)
    if S % per_order:
        raise ValueError(f"--members {S} must be a multiple of {per_order} (the members sharing one data order)")
    order = torch.randint(0, n_data, (steps, S // per_order, batch), generator=gen).to(dev)

    layout = ParamLayout(init)
    flat = layout.flatten(init).to(dev)
    grad_flat = torch.zeros_like(flat)
    params = layout.leaves(flat, grad_flat)
    opt = BatchedOptimizer(layout, flat, setup["optimizer"], lr=setup["lr"],
                           weight_decay=setup.get("weight_decay", 0.0))
    alive = torch.ones(S, dtype=torch.bool, device=dev)
    div = torch.full((S,), -1, dtype=torch.int64, device=dev)
    loss_and_grad = loss_and_grad_fn(model)

    def run_batched(n):
        nonlocal alive, div
        for i in range(n):
            idx = order[i % steps]
            xb, yb = x[idx], y[idx]
            if per_order > 1:
                yb = yb.repeat_interleave(per_order, 0)
            _, _, alive, div = train_step(loss_and_grad, params, grad_flat, opt, xb, yb, alive, div, i,
                                          loss_kind=loss_kind, layout=layout)

    modules = [setup["module"]({k: v[s] for k, v in init.items()}).to(dev) for s in range(S)]
    optimizers = [setup["torch_optimizer"](m, member) for m, member in zip(modules, member_list)]

    loop_loss = {"cross_entropy": F.cross_entropy,
                 "bce": lambda out, target: F.binary_cross_entropy_with_logits(out[..., 0], target.to(out.dtype))
                 }.get(loss_kind, lambda out, target: (out - target).pow(2).sum(-1).mean())
    runners = {"batched": run_batched, "loop": _per_run_loop(modules, optimizers, x, y, order, loop_loss, per_order)}
    per_round = _interleaved_rounds(runners, variants, steps, rounds, S * batch, dev)
    result = {"benchmark": "sweep", "experiment": experiment, **shape, "members": S, "batch": batch, "steps": steps,
              "rounds": rounds, "parameters_per_member": n_params,
              "device": str(dev) if dev.type != "cuda" else f"cuda:{torch.cuda.get_device_name(0)}",
              "threads": torch.get_num_threads(), "torch": torch.__version__, "platform": platform.platform(), "process": process,
              "per_round_examples_per_s": per_round}
    for name, values in per_round.items():
        result[f"{name}_examples_per_s"] = statistics.median(values)
    if "batched" in per_round:
        result["gflops_per_s"] = 6 * n_params * result["batched_examples_per_s"] / 1e9
    if "loop" in per_round and "batched" in per_round:
        result["speedup"] = result["batched_examples_per_s"] / result["loop_examples_per_s"]
    result["matmul_gflops_per_s"] = matmul_gflops(dev)
    if return_state:  # the parameters each variant ended with (for tests: both train alike)
        result["state"] = {
            "batched": {k: v.detach().cpu().clone() for k, v in params.items()},
            "loop": {k: torch.stack([dict(m.named_parameters())[k].detach().cpu() for m in modules]) for k in params}}
    return result


def covtype_benchmark(data_path: str, groups: list[str], rows: int, seeds: int = 10, depths_note: str = "",
                      full_epochs: int = 25, device: str = "cpu", threads: int | None = None,
                      full_rows: int = 581012, test_fraction: float = 0.2, compile: bool = False,
                      backward: str = "auto") -> dict:
    """Per-group training throughput of the decay Covertype experiment at full width, batch and
    seed count, on a random subset of ``rows`` rows for one epoch; extrapolated to the full data
    (``full_rows``) and ``full_epochs`` epochs (time per step does not depend on the data size)."""
    from initlab.data import load_covtype
    from initlab.train.covtype import split, train_group

    if threads:
        torch.set_num_threads(threads)
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                       ("cpu" if device == "auto" else device))
    features, labels = load_covtype(data_path)
    data = split(features, labels, rows, test_fraction, 0)
    params = dict(seed=0, seeds=seeds, epochs=1, batch_size=64, lr=1e-3, width=64, bias_set_init="eq42",
                  aol_scale="columns", relu_on_logits=False, checkpoint_every=1, compile=compile,
                  backward=backward)
    full_train_rows = round(full_rows * (1 - test_fraction))
    out = {"benchmark": "covtype", "rows": rows, "train_rows": len(data.y_train), "seeds": seeds,
           "device": str(dev) if dev.type != "cuda" else f"cuda:{torch.cuda.get_device_name(0)}",
           "threads": torch.get_num_threads(), "full_epochs": full_epochs, "compile": compile,
           "backward": backward, "groups": {}}
    for group in groups:
        if dev.type == "cuda" or compile:  # warm-up: allocations, kernels, compilation (with a partial batch)
            train_group(group, split(features, labels, 2050, test_fraction, 0), params, device=dev,
                        log=lambda m: None)
            if dev.type == "cuda":
                torch.cuda.synchronize()
        _, result = train_group(group, data, params, device=dev, log=lambda m: None)
        steps = -(-len(data.y_train) // 64)
        per_step = result.seconds / steps
        full_epoch = per_step * -(-full_train_rows // 64)
        out["groups"][group] = {"seconds": result.seconds, "steps": steps, "ms_per_step": 1e3 * per_step,
                                "examples_per_s": result.examples_per_s,
                                "full_epoch_s": full_epoch, "full_run_s": full_epoch * full_epochs}
    out["full_total_s"] = sum(g["full_run_s"] for g in out["groups"].values())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m initlab.bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("training", help="batched training engine vs a per-seed loop")
    tr.add_argument("--depth", type=int, default=30, help="internal width x width layers")
    tr.add_argument("--width", type=int, default=64)
    tr.add_argument("--seeds", type=int, default=10)
    tr.add_argument("--batch", type=int, default=64)
    tr.add_argument("--steps", type=int, default=50, help="steps per timed round")
    tr.add_argument("--rounds", type=int, default=5, help="interleaved rounds; medians are reported")
    tr.add_argument("--in-features", type=int, default=54)
    tr.add_argument("--classes", type=int, default=7)
    tr.add_argument("--model", choices=("aol", "plain"), default="aol",
                    help="the AOL/SLL-normalised net of the decay paper's Covertype runs (default) or "
                         "the plain ReLU MLP of the same shape")
    tr.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    tr.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    tr.add_argument("--variants", default="batched,vmap,loop", help="comma-separated subset")
    tr.add_argument("--compile", action="store_true", help="torch.compile the batched forward pass")
    tr.add_argument("--backward", choices=("auto", "autograd", "manual"), default="auto",
                    help="the engine's backward pass: the model's hand-written one (auto/manual) or autograd")
    tr.add_argument("--json", action="store_true", help="print one JSON object")
    cv = sub.add_parser("covtype", help="decay Covertype throughput per run group, extrapolated to full scale")
    cv.add_argument("--data", required=True, help="path to covtype.data.gz")
    cv.add_argument("--groups", default="aol_d5_zero,aol_d5_set,plain_d5_default,aol_d15_zero,aol_d15_set,"
                    "plain_d15_default,aol_d30_zero,aol_d30_set,plain_d30_default")
    cv.add_argument("--rows", type=int, default=20000, help="rows used (one epoch over 80%% of them)")
    cv.add_argument("--seeds", type=int, default=10)
    cv.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    cv.add_argument("--threads", type=int, default=None)
    cv.add_argument("--compile", action="store_true", help="torch.compile the forward pass (autograd backward)")
    cv.add_argument("--backward", choices=("auto", "autograd", "manual"), default="auto")
    sw = sub.add_parser("sweep", help="one sweep group: batched engine vs one nn.Module + optimizer per run")
    sw.add_argument("--experiment", required=True, choices=sorted(SWEEP_EXPERIMENTS))
    sw.add_argument("--members", type=int, default=None, help="members of the group (default: the paper's)")
    sw.add_argument("--steps", type=int, default=20, help="steps per timed round")
    sw.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    sw.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    sw.add_argument("--threads", type=int, default=None)
    sw.add_argument("--variants", default="batched,loop", help="comma-separated subset of batched,loop")
    sw.add_argument("--depth", type=int, default=None, help="layers (ldlt_higgs only; default 10)")
    sw.add_argument("--width", type=int, default=None, help="hidden width (ldlt_higgs only; default 128)")
    sw.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.command == "sweep":
        for name in ("members", "steps", "rounds", "depth", "width"):
            value = getattr(args, name)
            if value is not None and value < 1:
                parser.error(f"--{name} must be >= 1; got {value}")
        variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
        if set(variants) - {"batched", "loop"} or not variants:
            parser.error(f"--variants: {args.variants!r}; allowed: batched, loop")
        if args.device == "cuda" and not torch.cuda.is_available():
            parser.error("--device cuda but torch sees no CUDA device; use --device cpu or auto")
        if (args.depth or args.width) and args.experiment not in SHAPED_EXPERIMENTS:
            parser.error(f"--depth/--width apply to {', '.join(SHAPED_EXPERIMENTS)} only")
        result = sweep_benchmark(args.experiment, args.members, args.steps, args.rounds, args.device, args.threads,
                                 variants, depth=args.depth, width=args.width)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            for key in variants:
                print(f"{key:8s} {result[f'{key}_examples_per_s']:12,.0f} examples/s (per member, median)")
            if "speedup" in result:
                print(f"speedup batched/loop: {result['speedup']:.2f}; batched {result.get('gflops_per_s', 0):.1f} "
                      f"GFLOP/s; matmul limit {result['matmul_gflops_per_s']:.1f} GFLOP/s")
        return 0
    if args.command == "covtype":
        result = covtype_benchmark(args.data, [g for g in args.groups.split(",") if g], args.rows, args.seeds,
                                   device=args.device, threads=args.threads, compile=args.compile,
                                   backward=args.backward)
        print(json.dumps(result, indent=2))
        return 0
    for name in ("depth", "width", "seeds", "batch", "steps", "rounds"):
        if getattr(args, name) < (0 if name == "depth" else 1):
            parser.error(f"--{name} must be >= {0 if name == 'depth' else 1}; got {getattr(args, name)}")
    variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    unknown = set(variants) - {"batched", "vmap", "loop"}
    if unknown:
        parser.error(f"--variants: unknown {sorted(unknown)}; allowed: batched, vmap, loop")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch sees no CUDA device; use --device cpu or auto")
    result = training_benchmark(args.depth, args.width, args.seeds, args.batch, args.steps, args.rounds,
                                args.in_features, args.classes, args.model, args.device, args.threads,
                                variants, args.compile, backward=args.backward)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key in ("batched", "vmap", "loop"):
            if f"{key}_examples_per_s" in result:
                print(f"{key:8s} {result[f'{key}_examples_per_s']:12,.0f} examples/s (per seed, median)")
        if "speedup" in result:
            print(f"speedup batched/loop: {result['speedup']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
