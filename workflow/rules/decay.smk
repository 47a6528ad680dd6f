# decay paper (000, Juston et al.): AOL/SLL 1-Lipschitz feed-forward networks at initialisation.


rule decay_fig01:
    """Figure 1: Monte Carlo variance of W T^(-1/2) vs eq. (23) and eq. (36), n = 1..n_max, d = 10 n."""
    output:
        **outputs("decay", "fig01", figures=["fig01"]),
    params:
        job=job_spec("decay", "fig01"),
        io=job_io,
    log:
        "logs/{scale}/decay/fig01.log",
    benchmark:
        "benchmarks/{scale}/decay/fig01.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    conda:
        ENV
    shell:
        script("decay_fig01.py", "decay_fig01")


rule decay_table_gnd:
    """Section 5: Generalised-Normal W (inverse CDF, eq. (50)) vs eqs. (97), (107), (108)-(110), per (alpha, n, d)."""
    output:
        **outputs("decay", "table_gnd", tables=["table_gnd"]),
    params:
        job=job_spec("decay", "table_gnd"),
        io=job_io,
    log:
        "logs/{scale}/decay/table_gnd.log",
    benchmark:
        "benchmarks/{scale}/decay/table_gnd.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    conda:
        ENV
    shell:
        script("decay_table_gnd.py", "decay_table_gnd")


rule decay_forward:
    """Figures 2-5: per-layer activation distributions and variances of a deep AOL ReLU net, zero bias
    and eq. (42) bias, against eqs. (14), (38), (41)."""
    output:
        **outputs("decay", "forward", figures=["fig02", "fig03", "fig04", "fig05"]),
    params:
        job=job_spec("decay", "forward"),
        io=job_io,
    log:
        "logs/{scale}/decay/forward.log",
    benchmark:
        "benchmarks/{scale}/decay/forward.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    resources:
        mem_mb=lambda wc: 16000 if wc.scale == "full" else 4000,
    conda:
        ENV
    shell:
        script("decay_forward.py", "decay_forward")


rule decay_backward:
    """Figures 6-8: per-layer gradient variances (eq. (45)) and distributions, zero bias and eq. (42) bias."""
    output:
        **outputs("decay", "backward", figures=["fig06", "fig07", "fig08"]),
    params:
        job=job_spec("decay", "backward"),
        io=job_io,
    log:
        "logs/{scale}/decay/backward.log",
    benchmark:
        "benchmarks/{scale}/decay/backward.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    resources:
        mem_mb=lambda wc: 8000 if wc.scale == "full" else 4000,
    conda:
        ENV
    shell:
        script("decay_backward.py", "decay_backward")


# ---- section 6: Covertype training (issue 6; engine: initlab.train) ----------------------------
# One job per run group (model, depth, bias) trains all seeds as one batched model; the group names
# (<model>_d<depth>_<bias>) mirror initlab.train.covtype.group_names (inlined here to spare
# Snakemake a torch import). The training jobs do not see the success rules and paper values, so
# changing those reruns only the figures, not hours of training.


rule decay_covtype_train:
    """Section 6: train every seed of one Covertype run group (checkpointed, resumable)."""
    input:
        covtype=lambda w: data_file.at_scale("covtype/covtype.data.gz", w.scale),
    output:
        metrics_csv="results/{scale}/decay/covtype/{group}.csv",
        metrics_meta="results/{scale}/decay/covtype/{group}.meta.json",
    wildcard_constraints:
        group=r"(aol_d\d+_(zero|set)|plain_d\d+_default)",
    params:
        job=job_spec("decay", "covtype", lambda scale: {
            k: v for k, v in PARAMS["decay", scale]["covtype"].items() if not k.startswith(("success_", "paper_"))}),
        io=job_io,
    log:
        "logs/{scale}/decay/covtype/{group}.log",
    benchmark:
        "benchmarks/{scale}/decay/covtype/{group}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc: 6000 if wc.scale == "full" else 2000,
        runtime=training_runtime(240),  # longest full group measured 6,800 s (depth-30 AOL)
        gpu=GPU_REQUEST,
    conda:
        ENV
    shell:
        script("decay_covtype_train.py", "decay_covtype_train")


rule decay_covtype:
    """Figures 9-11: Covertype loss curves and success rates (paper's 1 % rule and the authors' rule)."""
    input:
        metrics=lambda w: [f"results/{w.scale}/decay/covtype/{m}_d{d}_{b}.csv"
                           for d in PARAMS["decay", w.scale]["covtype"]["depths"]
                           for m, b in (("aol", "zero"), ("aol", "set"), ("plain", "default"))],
        metas=lambda w: [f"results/{w.scale}/decay/covtype/{m}_d{d}_{b}.meta.json"
                         for d in PARAMS["decay", w.scale]["covtype"]["depths"]
                         for m, b in (("aol", "zero"), ("aol", "set"), ("plain", "default"))],
    output:
        **outputs("decay", "covtype", figures=["fig09", "fig10", "fig11"], datasets=["covtype"]),
    params:
        job=job_spec("decay", "covtype"),
        io=job_io,
    log:
        "logs/{scale}/decay/covtype.log",
    benchmark:
        "benchmarks/{scale}/decay/covtype.tsv"
    threads: 1
    conda:
        ENV
    shell:
        script("decay_covtype.py", "decay_covtype")
