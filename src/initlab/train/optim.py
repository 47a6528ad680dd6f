"""Optimizers over stacked per-seed parameters (leading dimension S), with per-seed state.

Parameters, gradients and state live in flat buffers laid out by ``ParamLayout`` (each parameter
a contiguous (S, *shape) block); one step count serves all seeds (they step together).  A boolean
``alive`` mask (S,) freezes diverged seeds: their gradient is replaced by zero and their
parameters are put back after each update, so they never change again.  The update rules are
PyTorch's (torch.optim.Adam / AdamW / SGD with their default arguments); tests compare them
against torch.optim on single seeds.  The learning rate, weight decay
and momentum are scalars or one value per member (shape (S,)), and so is the schedule's factor at
a step, so hyperparameter sweeps share one batch.
"""

from __future__ import annotations

import math
import torch

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "cosine_epoch", "step")


def _is_scalar(value) -> bool:
    return isinstance(value, (int, float)) or (isinstance(value, torch.Tensor) and value.ndim == 0)


class BatchedOptimizer:
    """Adam (L2 weight decay, like torch.optim.Adam), AdamW (decoupled decay) or SGD (momentum).

    All alive seeds step together, so one step count serves every seed.  Adam and AdamW run
    PyTorch's fused kernel (``torch._fused_adam_`` / ``_fused_adamw_``: one pass over the flat
    parameters, the code path of ``torch.optim.Adam(fused=True)``).  With a scalar lr it updates
    the parameters directly; with one lr or weight decay per member it writes the update direction
    into a scratch buffer, and the per-member step and decay follow as two broadcast passes
    (``_adam_per_member``).  Frozen (dead) seeds get a zero gradient and their parameters are put
    back after the update: they never change again.
    """

    def __init__(self, layout, flat: torch.Tensor, kind: str = "adam", lr=1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay=0.0,
                 momentum=0.0):
        """``layout``: an initlab.train.engine.ParamLayout; ``flat``: its parameter buffer (updated
        in place).  ``lr``, ``weight_decay`` and ``momentum`` (SGD): scalars or one value per seed."""
        if kind not in OPTIMIZERS:
            raise ValueError(f"optimizer {kind!r}; allowed: {', '.join(OPTIMIZERS)}")
        self.kind, self.lr, self.betas, self.eps = kind, lr, tuple(betas), float(eps)
        self.weight_decay = weight_decay
        self.momentum = float(momentum) if _is_scalar(momentum) else momentum
        self.layout, self.flat = layout, flat
        self._seed_index = None
        self._repeats = None
        self._expanded = {}  # id(per-member hyperparameter) -> (it, its per-entry expansion)
        self._scratch = None  # the update direction of _adam_per_member
        self.per_seed = not (_is_scalar(lr) and _is_scalar(weight_decay) and _is_scalar(momentum))
        self.step_count = torch.zeros((), dtype=torch.float32, device=flat.device)
        has_momentum = bool(torch.as_tensor(momentum).ne(0).any())
        if kind in ("adam", "adamw"):
            self.state = {"exp_avg": torch.zeros_like(flat), "exp_avg_sq": torch.zeros_like(flat)}
        elif has_momentum:
            self.state = {"momentum_buffer": torch.zeros_like(flat)}
        else:
            self.state = {}

    @torch.no_grad()
    def step(self, grad: torch.Tensor, alive: torch.Tensor, lr_factor=1.0) -> None:
        """Update the parameter buffer in place from ``grad`` (same layout; dead seeds' entries
        are zeroed in place); seeds with alive == False are left untouched.  ``lr_factor``: the
        schedule's multiplier, a float or one value per seed."""
        # On the CPU, checking for dead seeds is free and lets the common case skip all masking;
        # on a GPU it would cost a synchronisation, so the masks are always applied there.
        masked = alive.device.type != "cpu" or not bool(alive.all())
        self.step_count += 1
        if masked:
            # One gather gives every entry of the flat buffer its seed's alive flag.
            if self._seed_index is None or self._seed_index.device != grad.device:
                self._seed_index = self.layout.seed_index().to(grad.device)
            keep = alive[self._seed_index]
            grad.copy_(torch.where(keep, grad, torch.zeros((), dtype=grad.dtype, device=grad.device)))
            before = self.flat.clone()
        if self.kind in ("adam", "adamw") and not self.per_seed and _is_scalar(lr_factor):
            self._fused(torch._fused_adamw_ if self.kind == "adamw" else torch._fused_adam_, self.flat, grad,
                        float(self.lr) * lr_factor, float(self.weight_decay))
        elif self.kind in ("adam", "adamw"):
            self._adam_per_member(grad, lr_factor)
        else:
            # One pass over the whole flat buffer; per-member values become per-entry tensors by one
            # gather (a loop over the parameters would cost ~10 operator calls per layer).
            lr = self._per_entry(self.lr, grad) * self._per_entry(lr_factor, grad)
            self._sgd(self.flat, grad, self.state, lr, self._per_entry(self.weight_decay, grad))
        if masked:
            self.flat.copy_(torch.where(keep, self.flat, before))

    def _per_entry(self, value, like: torch.Tensor):
        """A scalar as is; one value per member (S,) as one value per entry of the flat buffer, by
        one repeat_interleave over the layout's (S, k) blocks (a gather with a per-entry index reads
        an int64 per entry: measured 4x slower); the constant lr and weight decay are expanded once."""
        if _is_scalar(value):
            return float(value)
        cached = self._expanded.get(id(value))
        if cached is not None and cached[0] is value:
            return cached[1]
        S = self.layout.n_seeds
        if self._repeats is None or self._repeats.device != like.device:
            per_member = torch.tensor([k // S for k in self.layout.sizes], device=like.device)
            self._repeats = per_member.repeat_interleave(S)  # entries of member s in block b
        values = torch.as_tensor(value, dtype=like.dtype, device=like.device).repeat(len(self.layout.sizes))
        expanded = values.repeat_interleave(self._repeats, output_size=like.numel())
        if value is self.lr or value is self.weight_decay or value is self.momentum:
            self._expanded[id(value)] = (value, expanded)
        return expanded

    def _fused(self, kernel, param, grad, lr: float, weight_decay: float) -> None:
        kernel([param], [grad], [self.state["exp_avg"]], [self.state["exp_avg_sq"]], [], [self.step_count],
               lr=lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=weight_decay, eps=self.eps,
               amsgrad=False, maximize=False)

    def _per_member(self, value, like: torch.Tensor) -> torch.Tensor:
        """A scalar or one value per member as an (S,) tensor of ``like``'s dtype and device."""
        value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
        return value.expand(self.layout.n_seeds) if value.ndim == 0 else value

    def _adam_per_member(self, grad: torch.Tensor, lr_factor) -> None:
        """Adam / AdamW with one lr (times the schedule's factor) and weight decay per member.

        The fused kernel, at lr 1 and without decay, writes the update direction
        -m_hat / (sqrt(v_hat) + eps) into a zeroed scratch buffer (and updates both moments); then
        p <- p (1 - lr wd) (AdamW's decoupled decay, before the step as in torch.optim.AdamW) and
        p <- p + lr * scratch run as broadcasts of (1, S, 1) factors over the layout's blocks.  That
        is 13 parameter-sized memory passes against about 30 for the same update written out
        element-wise with per-entry lr tensors (measured at 7.9M parameters on the 2-core CPU:
        see ``python -m initlab.bench sweep --experiment lyapunov_mnist``)."""
        lr = self._per_member(self.lr, grad) * self._per_member(lr_factor, grad)
        if self.kind == "adam" and not (_is_scalar(self.weight_decay) and self.weight_decay == 0):
            grad = grad + self._per_entry(self.weight_decay, grad) * self.flat  # Adam's L2 penalty
        if self._scratch is None:
            self._scratch = torch.empty_like(self.flat)
        scratch = self._scratch
        self._fused(torch._fused_adam_, scratch.zero_(), grad, 1.0, 0.0)
        S = self.layout.n_seeds
        if self.kind == "adamw":
            decay = (1 - lr * self._per_member(self.weight_decay, grad)).view(1, S, 1)
            for block in self.layout.member_blocks(self.flat):
                block.mul_(decay)
        for block, direction in zip(self.layout.member_blocks(self.flat), self.layout.member_blocks(scratch)):
            block.addcmul_(direction, lr.view(1, S, 1))

    def _sgd(self, p, grad, state, lr, wd):
        """torch.optim.SGD semantics (dampening 0, no Nesterov)."""
        grad = grad + wd * p
        if "momentum_buffer" in state:  # a seed with momentum 0 gets buf = grad: plain SGD
            buf = state["momentum_buffer"]
            if float(self.step_count) == 1:
                buf.copy_(grad)
            else:
                buf.mul_(self._per_entry(self.momentum, p)).add_(grad)
            grad = buf
        p.sub_(lr * grad)

    # ---- checkpointing -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"step_count": self.step_count.clone(), "state": {k: v.clone() for k, v in self.state.items()}}

    def load_state_dict(self, saved: dict) -> None:
        self.step_count.copy_(saved["step_count"])
        for key, value in saved["state"].items():
            self.state[key].copy_(value)


def lr_factor(schedule: str, step: int, total_steps: int, final_ratio: float = 0.0, *,
              steps_per_epoch: int = 1, milestones=(), gamma: float = 0.1) -> float:
    """Multiplier of the base lr at (0-based) ``step``: 'constant'; 'cosine' annealing from lr to
    final_ratio * lr over total_steps, per step (torch.optim.lr_scheduler.CosineAnnealingLR's
    closed form); 'cosine_epoch': the same over epochs, constant within an epoch (the scheduler
    stepped once per epoch); 'step': gamma^(number of ``milestones`` <= the step's 0-based epoch), i.e.
    torch.optim.lr_scheduler.MultiStepLR stepped once per epoch."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return final_ratio + (1 - final_ratio) * (1 + math.cos(math.pi * step / max(total_steps, 1))) / 2
    if schedule == "cosine_epoch":  # CosineAnnealingLR(T_max = epochs) stepped once per epoch
        epochs = max(total_steps // max(steps_per_epoch, 1), 1)
        return final_ratio + (1 - final_ratio) * (1 + math.cos(math.pi * (step // steps_per_epoch) / epochs)) / 2
    if schedule == "step":
        epoch = step // steps_per_epoch
        return gamma ** sum(1 for m in milestones if m <= epoch)
    raise ValueError(f"lr schedule {schedule!r}; allowed: {', '.join(SCHEDULES)}")
