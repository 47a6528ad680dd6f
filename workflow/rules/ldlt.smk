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
        script("ldlt_table_wick.py")


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
        script("ldlt_lipschitz.py")


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
            script("ldlt_series_error.py")


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
            script("ldlt_variance_scaling.py")
