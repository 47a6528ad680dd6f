"""ldlt paper, Sec. V: train every (scale, fold) run of one (depth, optimizer) group of the HIGGS
sweep as one batched LDLT network and write its per-epoch metrics and per-layer features
(initlab.sweeps.ldlt).  The group is the output file's name, d<depth>_<optimizer>.  Resumable: the
checkpoint goes to checkpoints/<scale>/ldlt/higgs/<group>.pt (removed once the results are written)."""

from pathlib import Path

import torch

from initlab.data import load_higgs_split
from initlab.jobs import run_job
from initlab.sweeps import ldlt
from initlab.train.members import members_table


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    group = Path(job.outputs["metrics_csv"]).stem
    depth, optimizer = ldlt.parse_group(group)
    checkpoint = Path("checkpoints") / job.scale / "ldlt" / "higgs" / f"{group}.pt"
    split = load_higgs_split(job.inputs["higgs"])
    job.log(f"higgs {group}: {len(p['scales'])} scales x {len(p['folds'])} folds, width {p['width']}, "
            f"{p['epochs']} epochs on {device}; data {split['meta']['source']}")
    metrics, features, result, facts = ldlt.train_group(split, p, depth, optimizer, device=device,
                                                        checkpoint=checkpoint, log=job.log)
    job.write_csv("metrics", metrics)
    job.write_csv("features", features)
    job.extra_meta.update({
        "members": members_table(result.members).to_dict(orient="records"),
        "data": {**facts, "split": split["meta"]},
        "data_order": "common random numbers: the runs of one fold share the init draw (scaled) and the data order",
        "checkpoint": str(checkpoint), **result.meta(),
    })
    if device.type == "cuda":
        job.extra_meta["cuda_peak_memory_bytes"] = torch.cuda.max_memory_allocated()
    checkpoint.unlink(missing_ok=True)  # a rerun (e.g. snakemake -F) trains again


if __name__ == "__main__":
    run_job(main)
