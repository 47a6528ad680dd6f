"""Members of a sweep: the runs that train together as one batched model.

A sweep is a table of runs, one row per run: its seed, init method and options, optimizer
hyperparameters and any other per-run setting.  Runs that share an architecture and a batch size
train as the members of one batched model (``initlab.train.train``); each member keeps its own
init stream, data order, optimizer state and hyperparameters.  ``Member`` is one such row;
``None`` fields take the value of the group's ``TrainSettings``.

Training rows: all of the data's training set, or (``train_subset``) one of its ``train_subsets``
(e.g. the four folds of a cross-validation split that a run trains on).

Data order: by default each member draws its own order from its seed's 'data' stream.  Members
given the same ``data_seed`` share one order (common random numbers: e.g. run k of every init
method sees the same batches), which the engine records in the metrics and meta.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Mapping

import pandas as pd

from initlab.nn.inits import InitSpec


@dataclass(frozen=True)
class Member:
    seed: int
    init: InitSpec = field(default_factory=InitSpec)
    lr: float | None = None
    weight_decay: float | None = None
    momentum: float | None = None
    schedule: str | None = None
    lr_final_ratio: float | None = None
    data_seed: int | None = None
    # Row of ``Data.train_subsets`` this member trains on (e.g. its cross-validation folds); None:
    # all of x_train.
    train_subset: int | None = None
    # Free per-run columns copied into the metrics table (e.g. (("init_name", "kaiming"), ("run", 3))).
    labels: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self):
        if not isinstance(self.init, InitSpec):
            object.__setattr__(self, "init", InitSpec.parse(self.init))
        if isinstance(self.labels, Mapping):
            object.__setattr__(self, "labels", tuple(self.labels.items()))
        for name in ("lr", "weight_decay", "momentum", "lr_final_ratio"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"Member.{name} = {value}; must be >= 0")

    @property
    def order_seed(self) -> int:
        """The seed of this member's data-order stream."""
        return self.seed if self.data_seed is None else self.data_seed

    def resolved(self, name: str, settings) -> Any:
        """The member's value of hyperparameter ``name``, else the group's (``settings``)."""
        value = getattr(self, name)
        return getattr(settings, name) if value is None else value

    def row(self) -> dict[str, Any]:
        """One flat row for tables and meta files."""
        out = {"seed": self.seed, "init": self.init.describe(), "data_seed": self.order_seed}
        for f in fields(self):
            if f.name not in ("seed", "init", "data_seed", "labels") and getattr(self, f.name) is not None:
                out[f.name] = getattr(self, f.name)
        return {**out, **dict(self.labels)}


def as_members(members: Iterable[int | Member]) -> list[Member]:
    """Members from Member objects or plain seeds (a seed alone: default init and settings)."""
    out = [m if isinstance(m, Member) else Member(int(m)) for m in members]
    if not out:
        raise ValueError("no members to train")
    if len(set(out)) != len(out):
        dup = sorted({repr(m) for m in out if out.count(m) > 1})
        raise ValueError(f"members must be distinct; repeated: {dup}")
    label_keys = {tuple(k for k, _ in m.labels) for m in out}
    if len(label_keys) > 1:
        raise ValueError(f"every member needs the same label columns; got {sorted(label_keys)}")
    return out


def members_table(members: Iterable[Member]) -> pd.DataFrame:
    """The sweep's run table: one row per member (index = member number in the batch)."""
    frame = pd.DataFrame([m.row() for m in members])
    frame.insert(0, "member", range(len(frame)))
    return frame
