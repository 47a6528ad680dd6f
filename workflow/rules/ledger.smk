# Across papers: the claims ledger and the replication report.


rule claims:
    """The claims ledger: every claim of every paper with its replicated value and verdict."""
    input:
        fragments=lambda w: [p.format(scale=w.scale) for p in CLAIM_FRAGMENTS],
    output:
        claims_csv=report("figures/{scale}/claims.csv", caption="../report/claims.rst", category="Claims",
                          labels={"table": "claims ledger"}),
        claims_meta="figures/{scale}/claims.meta.json",
    params:
        job=job_spec("all", "claims", lambda scale: {"excluded_targets": EXCLUDED_TARGETS}),
        io=job_io,
    log:
        "logs/{scale}/claims.log",
    conda:
        ENV
    shell:
        script("claims.py", "claims")


rule replication_report:
    """Markdown report: assumptions (config values a paper forced on us), what a reduced scale
    changed against the full scale, and the claims."""
    input:
        claims="figures/{scale}/claims.csv",
        schemas=expand("config/schemas/{paper}.schema.json", paper=[p for p in PAPERS if p in config]),
    output:
        replication_report_md=report("figures/{scale}/replication_report.md", caption="../report/replication_report.rst",
                                     category="Claims", labels={"table": "replication report"}),
        replication_report_meta="figures/{scale}/replication_report.meta.json",
    params:
        job=job_spec("all", "replication_report",
                     lambda scale: {"scale": {p: PARAMS[p, scale] for p in PAPERS if p in config},
                                    "full": {p: PARAMS[p, "full"] for p in PAPERS if p in config}}),
        io=job_io,
    log:
        "logs/{scale}/replication_report.log",
    conda:
        ENV
    shell:
        script("replication_report.py", "replication_report")
