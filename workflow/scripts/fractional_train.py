"""Fractional paper, Section 5: train every run of every init of one MNIST experiment as one batched
model and write the long metrics table; the experiment is the job's name: mnist_fc (Fig. 5 and its
table) or tail_index (Fig. 6, with the gradient-noise tail index per epoch).  Resumable: the
checkpoint goes to checkpoints/<scale>/fractional/<job>.pt (removed once the results are written)."""

from pathlib import Path

import torch

from initlab.data import load_mnist
from initlab.jobs import run_job
from initlab.sweeps import fractional
from initlab.train.members import members_table


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    data = fractional.mnist_data(load_mnist(job.inputs), tuple(p["normalise"]), p["train_rows"], p["test_rows"],
                                 p["seed"])
    members = fractional.members(p)
    job.log(f"{fractional.fc_spec(p)}; {len(members)} members ({len(p['inits'])} inits x {p['runs']} runs, "
            f"pairing {p['pairing']}); {len(data.y_train):,} train / {len(data.y_test):,} test images; "
            f"{p['epochs']} epochs on {device}")
    checkpoint = Path("checkpoints") / job.scale / "fractional" / f"{job.name}.pt"
    train_group = {"mnist_fc": fractional.train_group, "tail_index": fractional.train_tail_index_group}[job.name]
    metrics, result = train_group(data, p, device=device, checkpoint=checkpoint, log=job.log)
    job.write_csv("metrics", metrics)
    job.extra_meta.update({
        "members": members_table(members).to_dict(orient="records"),
        "data_order": "one order per member (its own seed)" if p["pairing"] == "independent"
        else "common random numbers: run r of every init shares seed and data order",
        "checkpoint": str(checkpoint), "train_rows": len(data.y_train), "test_rows": len(data.y_test),
        "resumed_from_epoch": result.resumed_from_epoch,
        "train_seconds_this_process": round(result.seconds, 3),
        "elapsed_seconds_all_processes": round(result.elapsed_seconds_all_processes, 3),
        "examples_this_process": result.examples,
        "examples_per_s": round(result.examples_per_s, 1) if result.examples else None,
        "members_diverged": int((~result.alive).sum()),
    })
    if device.type == "cuda":
        job.extra_meta["cuda_peak_memory_bytes"] = torch.cuda.max_memory_allocated()
    checkpoint.unlink(missing_ok=True)  # a rerun (e.g. snakemake -F) trains again


if __name__ == "__main__":
    run_job(main)
