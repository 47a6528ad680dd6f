"""Fractional paper, Section 5: train every run of every init of one experiment as one batched model
and write the long metrics table.  The experiment is the job's name: mnist_fc (Fig. 5 and its
table), tail_index (Fig. 6, with the gradient-noise tail index per epoch) or cnn (Fig. 7, one
dataset per job, named by the output file results/<scale>/fractional/cnn_<dataset>.csv).
Resumable: the checkpoint goes to checkpoints/<scale>/fractional/<output name>.pt (removed once the
results are written)."""

from pathlib import Path

import torch

from initlab.data import load_cifar10, load_mnist
from initlab.jobs import run_job
from initlab.sweeps import fractional
from initlab.train.members import members_table


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    name = Path(job.outputs["metrics_csv"]).stem  # mnist_fc, tail_index, cnn_mnist or cnn_cifar10
    subset = (p["train_rows"], p["test_rows"], p["seed"])
    if name == "cnn_cifar10":
        data = fractional.cifar10_data(load_cifar10(Path(job.inputs["cifar10"][0]).parent), tuple(p["normalise"]),
                                       *subset)
    else:
        data = fractional.mnist_data(load_mnist(job.inputs), tuple(p["normalise"]), *subset,
                                     flatten=not name.startswith("cnn"))
    members = fractional.members(p)
    job.log(f"{name}: {len(members)} members ({len(p['inits'])} inits x {p['runs']} runs, pairing {p['pairing']}); "
            f"{len(data.y_train):,} train / {len(data.y_test):,} test images; {p['epochs']} epochs on {device}")
    checkpoint = Path("checkpoints") / job.scale / "fractional" / f"{name}.pt"
    run = dict(device=device, checkpoint=checkpoint, log=job.log)
    if name == "mnist_fc":
        metrics, result = fractional.train_group(data, p, **run)
    elif name == "tail_index":
        metrics, result = fractional.train_tail_index_group(data, p, **run)
    else:
        metrics, result = fractional.train_cnn_group(data, name.removeprefix("cnn_"), p, **run)
    job.write_csv("metrics", metrics)
    job.extra_meta.update({
        "members": members_table(members).to_dict(orient="records"),
        "data_order": "one order per member (its own seed)" if p["pairing"] == "independent"
        else "common random numbers: run r of every init shares seed and data order",
        "checkpoint": str(checkpoint), "train_rows": len(data.y_train), "test_rows": len(data.y_test),
        **result.meta(),
    })
    if device.type == "cuda":
        job.extra_meta["cuda_peak_memory_bytes"] = torch.cuda.max_memory_allocated()
    checkpoint.unlink(missing_ok=True)  # a rerun (e.g. snakemake -F) trains again


if __name__ == "__main__":
    run_job(main)
