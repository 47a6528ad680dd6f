# fractional paper (003): fractional moment-preserving initialisation -- theory (Theorems 1, 5, 7,
# 11; Corollaries 4, 9, 10; Remark 13), Figures 1-4, table_critical, and the cross-paper check of
# its top Lyapunov exponent against the lyapunov paper's lambda.


rule fractional_table_critical:
    """table_critical: sigma_bar_a(s, d) (eq. (3.2) / Theorem 7's series) with Corollaries 4 and 10,
    and Monte Carlo confirmation of moment preservation (full weight matrices) and of Remark 13."""
    output:
        **outputs("fractional", "table_critical", tables=["table_critical"]),
    params:
        job=job_spec("fractional", "table_critical"),
        io=job_io,
    log:
        "logs/{scale}/fractional/table_critical.log",
    benchmark:
        "benchmarks/{scale}/fractional/table_critical.tsv"
    conda:
        ENV
    shell:
        script("fractional_table_critical.py", "fractional_table_critical")


rule fractional_fig01:
    """Figure 1: log(sigma_bar_0^2 - 2/d) vs log d (slope -2), and moment growth at k = 500."""
    output:
        **outputs("fractional", "fig01", figures=["fig01"]),
    params:
        job=job_spec("fractional", "fig01"),
        io=job_io,
    log:
        "logs/{scale}/fractional/fig01.log",
    benchmark:
        "benchmarks/{scale}/fractional/fig01.tsv"
    conda:
        ENV
    shell:
        script("fractional_fig01.py", "fractional_fig01")


rule fractional_fig02:
    """Figure 2: pdf and cdf of R_k = log||x_k|| (ReLU, d = 64, k = 100), Kaiming vs s ~ 1:
    Monte Carlo over independent networks and the Gaussian of Theorem 5."""
    output:
        **outputs("fractional", "fig02", figures=["fig02"]),
    params:
        job=job_spec("fractional", "fig02"),
        io=job_io,
    log:
        "logs/{scale}/fractional/fig02.log",
    benchmark:
        "benchmarks/{scale}/fractional/fig02.tsv"
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        script("fractional_fig02.py", "fractional_fig02")


rule fractional_fig03:
    """Figure 3: sigma_bar_0(s, d) vs d and vs s; Corollary 9's monotonicity."""
    output:
        **outputs("fractional", "fig03", figures=["fig03"]),
    params:
        job=job_spec("fractional", "fig03"),
        io=job_io,
    log:
        "logs/{scale}/fractional/fig03.log",
    benchmark:
        "benchmarks/{scale}/fractional/fig03.tsv"
    conda:
        ENV
    shell:
        script("fractional_fig03.py", "fractional_fig03")


rule fractional_fig04:
    """Figure 4: pdf and cdf of R_{k,a} for linear (a = 1) and Leaky ReLU (a = 0.01), Kaiming vs
    sigma_bar_a(1, d): Monte Carlo and the Gaussian of Theorem 11 (Lyapunov exponent, CLT variance)."""
    output:
        **outputs("fractional", "fig04", figures=["fig04"]),
    params:
        job=job_spec("fractional", "fig04"),
        io=job_io,
    log:
        "logs/{scale}/fractional/fig04.log",
    benchmark:
        "benchmarks/{scale}/fractional/fig04.tsv"
    resources:
        mem_mb=2000,
    conda:
        ENV
    shell:
        script("fractional_fig04.py", "fractional_fig04")


rule fractional_cross:
    """Cross-paper check (claims with paper = cross): the fractional paper's top Lyapunov exponent
    mu_a(sigma) vs the lyapunov paper's lambda_gauss vs Monte Carlo; ReLU conditional mu_0; s = 2
    gives Kaiming / LeCun / He."""
    output:
        **outputs("fractional", "cross", tables=["cross_lyapunov"]),
    params:
        job=job_spec("fractional", "cross"),
        io=job_io,
    log:
        "logs/{scale}/fractional/cross.log",
    benchmark:
        "benchmarks/{scale}/fractional/cross.tsv"
    conda:
        ENV
    shell:
        script("cross_lyapunov.py", "fractional_cross")


# ---- Section 5: MNIST training (Fig. 5 and its table; engine: initlab.train, experiment:
# initlab.sweeps.fractional). One job trains every run of every init as one batched model; the
# figure/table job reads its metrics, so changing a claim rule or the loss shown never retrains.
# Keys that only the figure, table and claims read.
MNIST_FC_REPORT_KEYS = ("alpha", "cell_margin_sd", "improvement", "not_training", "trained_accuracy", "loss_shown", "paper_")


rule fractional_mnist_fc_train:
    """Fig. 5 runs: 4 inits x runs of the 20-layer width-64 ReLU net on MNIST, SGD, as one batched
    model (checkpointed, resumable)."""
    input:
        unpack(mnist_inputs),
    output:
        metrics_csv="results/{scale}/fractional/mnist_fc.csv",
        metrics_meta="results/{scale}/fractional/mnist_fc.meta.json",
    params:
        job=job_spec("fractional", "mnist_fc", lambda scale: {
            k: v for k, v in PARAMS["fractional", scale]["mnist_fc"].items() if not k.startswith(MNIST_FC_REPORT_KEYS)}),
        io=job_io,
    log:
        "logs/{scale}/fractional/mnist_fc_train.log",
    benchmark:
        "benchmarks/{scale}/fractional/mnist_fc_train.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    resources:
        mem_mb=lambda wc: 4000 if wc.scale == "full" else 2000,
        runtime=training_runtime(60),  # full measured 1,344 s
        gpu=GPU_REQUEST,
    conda:
        ENV
    shell:
        script("fractional_train.py", "fractional_mnist_fc_train")


rule fractional_mnist_fc:
    """Fig. 5 (mean +- std of train/test loss and accuracy per init over epochs) and its table
    (mean and std at the last epoch, in the paper's layout), with the claims."""
    input:
        metrics="results/{scale}/fractional/mnist_fc.csv",
        metrics_meta="results/{scale}/fractional/mnist_fc.meta.json",
    output:
        **outputs("fractional", "mnist_fc", figures=["fig05"], tables=["table_mnist"], datasets=["mnist"]),
    params:
        job=job_spec("fractional", "mnist_fc"),
        io=job_io,
    log:
        "logs/{scale}/fractional/mnist_fc.log",
    benchmark:
        "benchmarks/{scale}/fractional/mnist_fc.tsv"
    conda:
        ENV
    shell:
        script("fractional_mnist_fc.py", "fractional_mnist_fc")


rule fractional_tail_index_train:
    """Fig. 6 runs: the 5-layer width-64 ReLU net at batch 32 from the s = 1 init (and Kaiming), as one
    batched model, with the tail index of every member's gradient noise at initialisation and after
    each epoch."""
    input:
        unpack(mnist_inputs),
    output:
        metrics_csv="results/{scale}/fractional/tail_index.csv",
        metrics_meta="results/{scale}/fractional/tail_index.meta.json",
    params:
        job=job_spec("fractional", "tail_index", lambda scale: {
            k: v for k, v in PARAMS["fractional", scale]["tail_index"].items() if not k.startswith("claim_")}),
        io=job_io,
    log:
        "logs/{scale}/fractional/tail_index_train.log",
    benchmark:
        "benchmarks/{scale}/fractional/tail_index_train.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    resources:
        mem_mb=2000,
        runtime=training_runtime(45),  # full measured 757 s
        gpu=GPU_REQUEST,
    conda:
        ENV
    shell:
        script("fractional_train.py", "fractional_tail_index_train")


rule fractional_tail_index:
    """Fig. 6: tail index of the gradient noise over epochs, with its claim."""
    input:
        metrics="results/{scale}/fractional/tail_index.csv",
        metrics_meta="results/{scale}/fractional/tail_index.meta.json",
    output:
        **outputs("fractional", "tail_index", figures=["fig06"], datasets=["mnist"]),
    params:
        job=job_spec("fractional", "tail_index"),
        io=job_io,
    log:
        "logs/{scale}/fractional/tail_index.log",
    benchmark:
        "benchmarks/{scale}/fractional/tail_index.tsv"
    conda:
        ENV
    shell:
        script("fractional_tail_index.py", "fractional_tail_index")


rule fractional_cnn_train:
    """Fig. 7 runs on one dataset: the CNN from Kaiming and the s-init, every run one member of one
    batched model (grouped convolutions), SGD with the step schedule; checkpointed, resumable."""
    input:
        unpack(cnn_inputs),
    output:
        metrics_csv="results/{scale}/fractional/cnn_{dataset}.csv",
        metrics_meta="results/{scale}/fractional/cnn_{dataset}.meta.json",
    wildcard_constraints:
        dataset="mnist|cifar10",
    params:
        job=job_spec("fractional", "cnn", lambda scale: {
            k: v for k, v in PARAMS["fractional", scale]["cnn"].items()
            if k not in ("alpha", "improvement", "early_epochs", "accuracy_tolerance") and not k.startswith("paper_")}),
        io=job_io,
    log:
        "logs/{scale}/fractional/cnn_{dataset}_train.log",
    benchmark:
        "benchmarks/{scale}/fractional/cnn_{dataset}_train.tsv"
    threads: lambda wildcards: 1 if wildcards.scale == "smoke" else 2
    resources:
        mem_mb=lambda wc: 8000 if wc.scale == "full" else 3000,
        runtime=training_runtime(360),  # MNIST measured 2,451 s; CIFAR-10 estimated 1-3 h
        gpu=GPU_REQUEST,
    conda:
        ENV
    shell:
        script("fractional_train.py", "fractional_cnn_train")


rule fractional_cnn:
    """Fig. 7: CNN on MNIST (first 30 and 50 epochs) and CIFAR-10 (50 epochs), Kaiming vs the
    s-init, with the claims; a dataset left out by exclude_datasets is shown and claimed not-run."""
    input:
        metrics=lambda w: [f"results/{w.scale}/fractional/cnn_{d}.csv" for d in cnn_datasets(w.scale)],
        metas=lambda w: [f"results/{w.scale}/fractional/cnn_{d}.meta.json" for d in cnn_datasets(w.scale)],
    output:
        **outputs("fractional", "cnn", figures=["fig07"],
                  datasets=["mnist", "cifar10"] if {"mnist", "cifar10"} <= set(EXCLUDED_DATASETS) else []),
    params:
        job=job_spec("fractional", "cnn", lambda scale: {
            **PARAMS["fractional", scale]["cnn"],
            "excluded_datasets": [d for d in PARAMS["fractional", scale]["cnn"]["datasets"] if d in EXCLUDED_DATASETS]}),
        io=job_io,
    log:
        "logs/{scale}/fractional/cnn.log",
    benchmark:
        "benchmarks/{scale}/fractional/cnn.tsv"
    conda:
        ENV
    shell:
        script("fractional_cnn.py", "fractional_cnn")
