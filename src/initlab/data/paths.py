"""Dataset paths for the workflow: ``data_file(relpath)`` in workflow/rules/data.smk is a
:class:`DataPaths` (kept here, out of the Snakefile, so the rules stay declarative)."""

from __future__ import annotations

import re

from .loaders import CIFAR10_DIR, CIFAR10_TEST_BATCH, CIFAR10_TRAIN_BATCHES
from .registry import DataError, registry, scale_file

CIFAR10_ARCHIVE = "cifar10/cifar-10-binary.tar.gz"
CIFAR10_EXTRACTED = tuple(f"cifar10/{CIFAR10_DIR}/{name}"
                          for name in (*CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH, "batches.meta.txt"))
HIGGS_SPLIT = "higgs/split_{scale}.npz"


class DataPaths:
    """``paths(relpath)`` -> ``"<data_dir>/<relpath>"`` for a registered file or a file derived
    from them (the HIGGS split ``higgs/split_{scale}.npz``, the extracted CIFAR-10 batches);
    any other name is an error listing the known ones."""

    def __init__(self, data_dir: str, scales: tuple[str, ...] = ("full", "quick", "smoke")) -> None:
        self.data_dir = str(data_dir).rstrip("/") or "."
        self.registered = tuple(sorted(registry()))
        self._split = re.compile(r"higgs/split_(\{scale\}|%s)\.npz" % "|".join(map(re.escape, scales)))

    def known(self, relpath: str) -> bool:
        return relpath in self.registered or relpath in CIFAR10_EXTRACTED or bool(self._split.fullmatch(relpath))

    def __call__(self, relpath: str) -> str:
        if not self.known(relpath):
            raise DataError(f"data_file({relpath!r}): not a dataset file; known: {', '.join(self.registered)}, "
                            f"{HIGGS_SPLIT}, {', '.join(CIFAR10_EXTRACTED)}")
        return f"{self.data_dir}/{relpath}"

    def at_scale(self, relpath: str, scale: str) -> str:
        """The path a job at ``scale`` reads for ``relpath`` (the smoke scale reads the fixture)."""
        return self(scale_file(relpath, scale))

    def cifar10_files(self) -> list[str]:
        """The extracted CIFAR-10 binary batches and batches.meta.txt."""
        return [self(rel) for rel in CIFAR10_EXTRACTED]

    def fetch_output(self) -> str:
        """Output of the fetch rule: ``<data_dir>/{relpath}``."""
        return f"{self.data_dir}/{{relpath}}"

    def fetch_pattern(self) -> str:
        """Regex for the ``relpath`` wildcard of the fetch rule: exactly the registered files."""
        return "|".join(re.escape(rel) for rel in self.registered)
