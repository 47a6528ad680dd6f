# Datasets: every file verified against the sha256 in src/initlab/data/registry.json, kept in
# <data_dir>/.verified/ (a forced rerun restores it from there) and checked again by every job that
# reads it (initlab.data.verified).
#   input: covtype=lambda w: data_file.at_scale("covtype/covtype.data.gz", w.scale)
#                                                                 # a registered file (smoke: its fixture)
#   input: higgs=data_file("higgs/split_{scale}.npz")            # the HIGGS draw of the rule's scale
#   input: cifar10=cifar10_files()                               # extracted CIFAR-10 batches
# Files come from config data_mirror (DATA_MIRROR, resolved in common.smk) when it has them, else
# from the registered URLs; with neither, the fetch fails at once naming the file and how to provide it.
import os

from initlab.data.paths import CIFAR10_ARCHIVE, DataPaths

data_file = DataPaths(config["data_dir"], SCALES)
cifar10_files = data_file.cifar10_files

# The fetch script reads the mirror from the environment rather than from params: which source a
# verified file came from must not make Snakemake rebuild it (and everything downstream).
os.environ["INITLAB_FETCH_MIRROR"] = str(DATA_MIRROR or "")


envvars:
    "INITLAB_FETCH_MIRROR",


localrules:
    data_fetch,


rule data_fetch:
    """Copy (from the data mirror) or download one registered dataset file and verify its sha256."""
    output:
        data_file.fetch_output(),
    wildcard_constraints:
        relpath=data_file.fetch_pattern(),
    log:
        "logs/data/fetch/{relpath}.log",
    benchmark:
        "benchmarks/data/fetch/{relpath}.tsv"
    conda:
        ENV
    shell:
        "python workflow/scripts/data_fetch.py {wildcards.relpath:q} {output:q} --log {log:q}"


rule data_higgs_split:
    """The deterministic HIGGS train/test draw of one scale (full: 100k/20k from the complete UCI
    file; quick/smoke: from the source config ldlt.higgs.data_source names)."""
    input:
        source=lambda w: data_file.at_scale(higgs_split(w.scale)["source"], w.scale),
    output:
        data_file("higgs/split_{scale}.npz"),
    params:
        split=lambda w: higgs_split(w.scale),
    log:
        "logs/{scale}/data/higgs_split.log",
    benchmark:
        "benchmarks/{scale}/data/higgs_split.tsv"
    conda:
        ENV
    shell:
        "python workflow/scripts/data_higgs_split.py --source {input.source:q} --scale {wildcards.scale}"
        " --output {output:q} --log {log:q}"


rule data_cifar10_extract:
    """Extract the CIFAR-10 binary batches (path-traversal-safe) and check their record layout."""
    input:
        data_file(CIFAR10_ARCHIVE),
    output:
        cifar10_files(),
    log:
        "logs/data/cifar10_extract.log",
    benchmark:
        "benchmarks/data/cifar10_extract.tsv"
    conda:
        ENV
    shell:
        "python workflow/scripts/data_cifar10_extract.py {input:q} {output:q} --log {log:q}"


# The MNIST files (fractional and lyapunov training jobs), by input name; mnist_inputs in common.smk
# gives them at a job's scale (the smoke scale reads the fixture).
MNIST_FILES = {
    "train_images": "mnist/train-images-idx3-ubyte.gz",
    "train_labels": "mnist/train-labels-idx1-ubyte.gz",
    "test_images": "mnist/t10k-images-idx3-ubyte.gz",
    "test_labels": "mnist/t10k-labels-idx1-ubyte.gz",
}
