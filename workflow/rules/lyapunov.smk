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
        script("lyapunov_tables.py")


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
        script("lyapunov_fig01.py")


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
        script("lyapunov_lln_fail.py")


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
        script("lyapunov_tanh_clt.py")
