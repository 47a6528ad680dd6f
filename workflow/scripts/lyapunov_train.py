"""Lyapunov paper, Section 5 / Appendices G-I: train every run of one group as one batched model and
write its metrics (and, for the regression tasks, the smoothed per-step loss curves).  The
experiment is the job's name (mnist, polynomial, score); the group is the output file's name: an
init method (MNIST) or <method>_b<batch size>.  Resumable: the checkpoint goes to
checkpoints/<scale>/lyapunov/<experiment>/<group>.pt (removed once the results are written)."""

from pathlib import Path

import numpy as np
import torch

from initlab.data import load_mnist
from initlab.jobs import atomic_path, run_job
from initlab.sweeps import lyapunov
from initlab.sweeps.fractional import mnist_data
from initlab.train.members import members_table


def main(job):
    p, experiment = job.params, job.name
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    group = Path(job.outputs["metrics_csv"]).stem
    checkpoint = Path("checkpoints") / job.scale / "lyapunov" / experiment / f"{group}.pt"
    run = dict(device=device, checkpoint=checkpoint, log=job.log)
    if experiment == "mnist":
        low, high = p["pixel_range"]
        data = mnist_data(load_mnist(job.inputs), (-low / (high - low), 1.0 / (high - low)), p["train_rows"], None,
                          p["seed"])
        data = lyapunov.split_validation(data, p["split_seed"], p["validation_rows"])
        job.log(f"mnist {group}: {len(lyapunov.members(p, group))} members; {len(data.y_train):,} train / "
                f"{len(data.y_val):,} validation / {len(data.y_test):,} test images; {p['epochs']} epochs on {device}")
        metrics, result = lyapunov.train_mnist_group(data, p, group, **run)
        batch_size = None
    else:
        method, batch_size = group.rsplit("_b", 1)
        batch_size = int(batch_size)
        job.log(f"{experiment} {group}: {len(lyapunov.members(p, method, batch_size))} members; "
                f"{p['steps']:,} steps of fresh batches of {batch_size} on {device}")
        metrics, result = lyapunov.train_task_group(p, p, method, batch_size, **run)
        curves = lyapunov.task_curves(result.step_loss.numpy(), p)
        with atomic_path(job.outputs["curves"]) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **curves)
    job.write_csv("metrics", metrics)
    job.extra_meta.update({
        "members": members_table(result.members).to_dict(orient="records"),
        "data_order": "common random numbers: run r of every method and combination shares seed and data order",
        "checkpoint": str(checkpoint), **result.meta(),
    })
    if experiment != "mnist":
        job.extra_meta["zero_signal_loss"] = lyapunov.zero_signal_loss(p)
    if device.type == "cuda":
        job.extra_meta["cuda_peak_memory_bytes"] = torch.cuda.max_memory_allocated()
    checkpoint.unlink(missing_ok=True)  # a rerun (e.g. snakemake -F) trains again


if __name__ == "__main__":
    run_job(main)
