"""Datasets: a registry of files (URLs, sizes, sha256), verified fetching from a mirror or the
network, safe tar extraction, the deterministic HIGGS split, and numpy loaders.

No torch here: loaders return numpy arrays; ``initlab.train`` converts them.

    from initlab.data import load_covtype, load_mnist, load_higgs_split, load_cifar10
    features, labels = load_covtype("data/covtype/covtype.data.gz")   # float32 (N, 54), int64 0..6

In the workflow, ``data_file(relpath)`` (workflow/rules/data.smk) names a verified file.
"""

from .archive import safe_extract
from .fetch import check, fetch, sha256_of, verify_existing
from .higgs import make_split
from .loaders import load_cifar10, load_covtype, load_higgs_split, load_mnist, read_idx
from .registry import DataError, DatasetFile, get, higgs_split_spec, registry

__all__ = [
    "DataError", "DatasetFile", "check", "fetch", "get", "higgs_split_spec", "load_cifar10", "load_covtype",
    "load_higgs_split", "load_mnist", "make_split", "read_idx", "registry", "safe_extract", "sha256_of",
    "verify_existing",
]
