# ldlt paper (001): exact Wick moment tables, the LDLT layer, Var[y] by Monte Carlo vs the
# truncated Laplace series vs the Marchenko-Pastur limit.  Science in src/initlab/{theory,nn}/.


rule ldlt_table_wick:
    """table_wick: exact integer coefficients of E tr(S^k) (zonal/Jack closed forms), checked against
    brute-force Wick enumeration and the paper's eqs. (10)-(11)."""
    output:
        **outputs("ldlt", "table_wick", tables=["table_wick"]),
    params:
        job=job_spec("ldlt", "table_wick"),
        io=job_io,
    log:
        "logs/{scale}/ldlt/table_wick.log",
    benchmark:
        "benchmarks/{scale}/ldlt/table_wick.tsv"
    threads: 1
    conda:
        ENV
    shell:
        script("ldlt_table_wick.py", "ldlt_table_wick")


rule ldlt_lipschitz:
    """Claims only: Lemma III.1 and Lemma III.2 (||M||_2 <= gamma) on random matrices."""
    output:
        **outputs("ldlt", "lipschitz"),
    params:
        job=job_spec("ldlt", "lipschitz"),
        io=job_io,
    log:
        "logs/{scale}/ldlt/lipschitz.log",
    benchmark:
        "benchmarks/{scale}/ldlt/lipschitz.tsv"
    threads: 1
    conda:
        ENV
    shell:
        script("ldlt_lipschitz.py", "ldlt_lipschitz")


for _fig in ("fig01", "fig02", "fig03"):

    rule:
        name:
            f"ldlt_{_fig}"
        message:
            f"ldlt {_fig}: |Monte Carlo - truncated series| of Var[y] vs small sigma^2"
        input:
            table_wick="figures/{scale}/ldlt/table_wick.csv",
        output:
            **outputs("ldlt", _fig, figures=[_fig]),
        params:
            job=job_spec("ldlt", _fig),
            io=job_io,
        log:
            f"logs/{{scale}}/ldlt/{_fig}.log",
        benchmark:
            f"benchmarks/{{scale}}/ldlt/{_fig}.tsv"
        threads: lambda wildcards, _fig=_fig: 2 if PARAMS["ldlt", wildcards.scale][_fig]["model"] == "dense" else 1
        conda:
            ENV
        shell:
            script("ldlt_series_error.py", f"ldlt_{_fig}")


for _fig in ("fig04", "fig05"):

    rule:
        name:
            f"ldlt_{_fig}"
        message:
            f"ldlt {_fig}: Var[y] vs normalised input variance (Monte Carlo, series, Marchenko-Pastur)"
        input:
            table_wick="figures/{scale}/ldlt/table_wick.csv",
        output:
            **outputs("ldlt", _fig, figures=[_fig]),
        params:
            job=job_spec("ldlt", _fig),
            io=job_io,
        log:
            f"logs/{{scale}}/ldlt/{_fig}.log",
        benchmark:
            f"benchmarks/{{scale}}/ldlt/{_fig}.tsv"
        threads: lambda wildcards, _fig=_fig: 2 if PARAMS["ldlt", wildcards.scale][_fig]["model"] == "dense" else 1
        conda:
            ENV
        shell:
            script("ldlt_variance_scaling.py", f"ldlt_{_fig}")


# ---- HIGGS training sweep (Sec. V, Figs. 6-17; engine: initlab.train, model: initlab.nn.ldlt_net) -
# One training job per (depth, optimizer) group, its scales x CV folds the members of one batched
# LDLT network; the figures and claims read every group's metrics (initlab.sweeps.ldlt).


rule ldlt_higgs_train:
    """HIGGS runs of one (depth, optimizer): scales x folds members, per-epoch AUC, Hessian trace,
    movement, gradient norm, CKA, stable ranks and dead neurons."""
    input:
        higgs=data_file("higgs/split_{scale}.npz"),
    output:
        metrics_csv="results/{scale}/ldlt/higgs/{group}.csv",
        features_csv="results/{scale}/ldlt/higgs/{group}.features.csv",
        metrics_meta="results/{scale}/ldlt/higgs/{group}.meta.json",
    wildcard_constraints:
        group=r"d\d+_(sgd|adamw)",
    params:
        job=job_spec("ldlt", "higgs", ldlt_higgs_train_params),
        io=job_io,
    log:
        "logs/{scale}/ldlt/higgs/{group}.log",
    benchmark:
        "benchmarks/{scale}/ldlt/higgs/{group}.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    resources:
        mem_mb=lambda wc: 32000 if wc.scale == "full" else 3000,
        runtime=training_runtime(14400, 480),  # projected: 2.0 s per depth-10 step on 2 CPU cores; 7-14 GPU-h in all
        gpu=GPU_REQUEST,
    conda:
        ENV
    shell:
        script("ldlt_higgs_train.py", "ldlt_higgs_train")


rule ldlt_higgs:
    """fig06-fig17 (AUC dynamics, box plots, Hessian trace, movement, gradient norms, the GP map of
    test AUC, CKA, stable ranks, dead neurons) from every group's metrics; the claims of Sec. V and
    Appendices B-D."""
    input:
        metrics=ldlt_higgs_group_files([".csv"]),
        features=ldlt_higgs_group_files([".features.csv"]),
        higgs=data_file("higgs/split_{scale}.npz"),
    output:
        **outputs("ldlt", "higgs", figures=[f"fig{i:02d}" for i in range(6, 18)], datasets=["higgs"]),
    params:
        job=job_spec("ldlt", "higgs"),
        io=job_io,
    log:
        "logs/{scale}/ldlt/higgs.log",
    benchmark:
        "benchmarks/{scale}/ldlt/higgs.tsv"
    conda:
        ENV
    shell:
        script("ldlt_higgs.py", "ldlt_higgs")
