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
