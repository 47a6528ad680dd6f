"""Decay paper section 6: train every seed of one Covertype run group (named by the output file,
e.g. results/<scale>/decay/covtype/aol_d30_set.csv) as one batched model; write the long metrics
table.  Resumable: checkpoints go to checkpoints/<scale>/decay/covtype/<group>.pt (removed once the
results are written)."""

from pathlib import Path

import torch

from initlab.data import load_covtype
from initlab.jobs import run_job
from initlab.train.covtype import group_spec, parse_group, split, train_group


def main(job):
    p = job.params
    torch.set_num_threads(job.threads)
    device = job.torch_device()
    group = Path(job.outputs["metrics_csv"]).stem
    parse_group(group)  # fails early on a malformed name
    features, labels = load_covtype(job.inputs["covtype"])
    data = split(features, labels, p["rows"], p["test_fraction"], p["split_seed"])
    job.log(f"group {group}: {group_spec(group, p)}; {len(data.y_train):,} train / {len(data.y_test):,} "
            f"test rows; {p['seeds']} seeds x {p['epochs']} epochs on {device}")
    checkpoint = Path("checkpoints") / job.scale / "decay" / "covtype" / f"{group}.pt"
    metrics, result = train_group(group, data, p, device=device, checkpoint=checkpoint, log=job.log)
    job.write_csv("metrics", metrics)
    job.extra_meta.update({
        "group": group, "checkpoint": str(checkpoint), "train_rows": len(data.y_train),
        "test_rows": len(data.y_test), **result.meta(), "seeds_diverged": int((~result.alive).sum()),
    })
    if device.type == "cuda":
        job.extra_meta["cuda_peak_memory_bytes"] = torch.cuda.max_memory_allocated()
    # The checkpoint only serves a killed job; once the results exist, a rerun (e.g. snakemake -F)
    # must train again rather than replay the finished state.
    checkpoint.unlink(missing_ok=True)


if __name__ == "__main__":
    run_job(main)
