# lyapunov paper (004): Lyapunov exponents, Lyapunov initialisation, limit theorems.


rule lyapunov_tables:
    """Table 1 and the Appendix D.3 lookup table by quadrature (formulas.md), with the claims about
    He / orthogonal initialisation in low and infinite width."""
    output:
        **outputs("lyapunov", "tables", tables=["table1", "table_d3"]),
    params:
        job=job_spec("lyapunov", "tables"),
        io=job_io,
    log:
        "logs/{scale}/lyapunov/tables.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/tables.tsv"
    conda:
        ENV
    shell:
        script("lyapunov_tables.py", "lyapunov_tables")


rule lyapunov_fig01:
    """Figure 1: LLN and CLT for log||x_k||, Monte Carlo vs theory (Gaussian and orthogonal)."""
    output:
        **outputs("lyapunov", "fig01", figures=["fig01"]),
    params:
        job=job_spec("lyapunov", "fig01"),
        io=job_io,
    log:
        "logs/{scale}/lyapunov/fig01.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/fig01.tsv"
    threads: 2
    conda:
        ENV
    shell:
        script("lyapunov_fig01.py", "lyapunov_fig01")


# ---- Lemma C.21 and Appendix E (theory figures; issue 5, fractional/lyapunov theory helper) --------
rule lyapunov_lln_fail:
    """Lemma C.21: the law of large numbers fails for ReLU and for positive-entry matrices
    (the limit depends on the starting point)."""
    output:
        **outputs("lyapunov", "lln_fail", figures=["fig_lln_fail"]),
    params:
        job=job_spec("lyapunov", "lln_fail"),
        io=job_io,
    log:
        "logs/{scale}/lyapunov/lln_fail.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/lln_fail.tsv"
    conda:
        ENV
    shell:
        script("lyapunov_lln_fail.py", "lyapunov_lln_fail")


rule lyapunov_tanh_clt:
    """Appendix E: the central limit theorem fails for tanh networks."""
    output:
        **outputs("lyapunov", "tanh_clt", figures=["fig_tanh_clt"]),
    params:
        job=job_spec("lyapunov", "tanh_clt"),
        io=job_io,
    log:
        "logs/{scale}/lyapunov/tanh_clt.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/tanh_clt.tsv"
    conda:
        ENV
    shell:
        script("lyapunov_tanh_clt.py", "lyapunov_tanh_clt")


# ---- training experiments (Section 5, Appendices G-I; issue 12; engine: initlab.train) ------------
# One training job per group: an init method (MNIST) or a (method, batch size) pair (polynomial,
# score), every run and hyperparameter combination of it a member of one batched model.


rule lyapunov_mnist_train:
    """MNIST runs of one init method: runs x (lr0, weight decay) members, AdamW, cosine decay."""
    input:
        unpack(mnist_inputs),
    output:
        metrics_csv="results/{scale}/lyapunov/mnist/{group}.csv",
        metrics_meta="results/{scale}/lyapunov/mnist/{group}.meta.json",
    wildcard_constraints:
        group=r"[a-z_]+",
    params:
        job=job_spec("lyapunov", "mnist", lyapunov_train_params("mnist")),
        io=job_io,
    log:
        "logs/{scale}/lyapunov/mnist/{group}.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/mnist/{group}.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    resources:
        mem_mb=lambda wc: 16000 if wc.scale == "full" else 3000,
        runtime=training_runtime(720, 120),  # projected from the bench: 32 h CPU over 7 groups
        gpu=GPU_REQUEST,
    conda:
        ENV
    shell:
        script("lyapunov_train.py", "lyapunov_mnist_train")


rule lyapunov_task_train:
    """Polynomial / score runs of one (init method, batch size): runs x (lr0, lr_final) members,
    fresh inputs every step."""
    output:
        metrics_csv="results/{scale}/lyapunov/{task}/{group}.csv",
        metrics_meta="results/{scale}/lyapunov/{task}/{group}.meta.json",
        curves="results/{scale}/lyapunov/{task}/{group}.curves.npz",
    wildcard_constraints:
        task="polynomial|score",
        group=r"[a-z_]+_b\d+",
    params:
        job=lyapunov_task_job,
        io=job_io,
    log:
        "logs/{scale}/lyapunov/{task}/{group}.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/{task}/{group}.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    resources:
        mem_mb=lambda wc: 8000 if wc.scale == "full" else 2000,
        runtime=training_runtime(2880, 240),  # projected from the bench: score about 9 days CPU in all
        gpu=GPU_REQUEST,
    conda:
        ENV
    shell:
        script("lyapunov_train.py", "lyapunov_task_train")


rule lyapunov_mnist:
    """table_mnist, fig03 (mean test accuracy per epoch) and fig06 (per-run histograms) at each
    method's best (lr0, weight decay) by mean final validation accuracy; claims."""
    input:
        metrics=lyapunov_group_files("mnist", [".csv"]),
    output:
        **outputs("lyapunov", "mnist", figures=["fig03", "fig06"], tables=["table_mnist"], datasets=["mnist"]),
    params:
        job=job_spec("lyapunov", "mnist"),
        io=job_io,
    log:
        "logs/{scale}/lyapunov/mnist.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/mnist.tsv"
    conda:
        ENV
    shell:
        script("lyapunov_mnist.py", "lyapunov_mnist")


rule lyapunov_polynomial:
    """table_poly, fig04 (median best-of-K training loss) and fig07 (final losses) at each method's
    best (lr0, lr_final, batch) by the mean best-of-K final test loss; claims."""
    input:
        metrics=lyapunov_group_files("polynomial", [".csv"]),
        curves=lyapunov_group_files("polynomial", [".curves.npz"]),
    output:
        **outputs("lyapunov", "polynomial", figures=["fig04", "fig07"], tables=["table_poly"]),
    params:
        job=job_spec("lyapunov", "polynomial"),
        io=job_io,
    log:
        "logs/{scale}/lyapunov/polynomial.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/polynomial.tsv"
    conda:
        ENV
    shell:
        script("lyapunov_task.py", "lyapunov_polynomial")


rule lyapunov_score:
    """table_score, fig09 (first 1,000 steps) and fig10 (all steps) of the score test loss; claims."""
    input:
        metrics=lyapunov_group_files("score", [".csv"]),
        curves=lyapunov_group_files("score", [".curves.npz"]),
    output:
        **outputs("lyapunov", "score", figures=["fig09", "fig10"], tables=["table_score"]),
    params:
        job=job_spec("lyapunov", "score"),
        io=job_io,
    log:
        "logs/{scale}/lyapunov/score.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/score.tsv"
    conda:
        ENV
    shell:
        script("lyapunov_task.py", "lyapunov_score")


rule lyapunov_fig08:
    """fig08: the selection statistic (mean of the best of K runs' final test loss) vs K, polynomial
    and score, at each method's selected combination; the "robust to the choice of K" claims."""
    input:
        polynomial=lyapunov_group_files("polynomial", [".csv"]),
        score=lyapunov_group_files("score", [".csv"]),
    output:
        **outputs("lyapunov", "fig08", figures=["fig08"]),
    params:
        job=lyapunov_fig08_job,
        io=job_io,
    log:
        "logs/{scale}/lyapunov/fig08.log",
    benchmark:
        "benchmarks/{scale}/lyapunov/fig08.tsv"
    conda:
        ENV
    shell:
        script("lyapunov_fig08.py", "lyapunov_fig08")
