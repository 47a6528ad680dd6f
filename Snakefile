# initlab: one DAG for every figure, table and claim of the four papers.
#   snakemake --cores all                                   # everything at the configured scale
#   snakemake --cores 2 --config scale=smoke                # the CI-sized run
#   snakemake --cores 2 figures/quick/lyapunov/table1.csv   # one output (its scale is in the path)
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"
configfile: "config/lyapunov.yaml"
configfile: "config/decay.yaml"
configfile: "config/ldlt.yaml"
configfile: "config/fractional.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/ledger.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/lyapunov.smk"
include: "workflow/rules/decay.smk"
include: "workflow/rules/ldlt.smk"
include: "workflow/rules/fractional.smk"


rule all:
    default_target: True
    input:
        all_outputs(config["scale"]),
