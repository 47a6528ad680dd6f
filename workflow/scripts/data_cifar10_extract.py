"""Extract the CIFAR-10 binary batches from the verified archive, refusing unsafe tar members,
and check the record layout (initlab.data.safe_extract, initlab.data.load_cifar10).

    python workflow/scripts/data_cifar10_extract.py ARCHIVE OUTPUT... [--log LOG]
"""

import argparse
import sys
from pathlib import Path

from initlab.data import DataError, load_cifar10, safe_extract
from initlab.data.loaders import CIFAR10_DIR
from initlab.data.paths import CIFAR10_ARCHIVE
from initlab.data.verified import data_dir_of, record, verify_on_use
from initlab.jobs import logged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive")
    parser.add_argument("outputs", nargs="+", type=Path)
    parser.add_argument("--log", default=None, help="log file: receives the output and any traceback")
    args = parser.parse_args()
    with logged(args.log):
        return extract(args.archive, args.outputs)


def extract(archive: str, outputs: list[Path]) -> int:
    batch_dir = outputs[0].parent  # .../cifar10/cifar-10-batches-bin
    if batch_dir.name != CIFAR10_DIR:
        print(f"ERROR: outputs must lie in a {CIFAR10_DIR}/ directory, got {batch_dir}", file=sys.stderr)
        return 1
    in_data_dir = Path(archive).as_posix().endswith(CIFAR10_ARCHIVE)  # as the workflow lays it out
    try:
        if in_data_dir:
            verify_on_use(archive, CIFAR10_ARCHIVE)
        safe_extract(archive, batch_dir.parent, only=[f"{CIFAR10_DIR}/{p.name}" for p in outputs])
        data = load_cifar10(batch_dir)
        if in_data_dir:  # the stamps that the training jobs check the batches against
            data_dir = data_dir_of(archive, CIFAR10_ARCHIVE)
            for path in outputs:
                relpath = path.resolve().relative_to(data_dir.resolve()).as_posix()
                record(path, data_dir, relpath, origin="rule data_cifar10_extract")
    except DataError as err:
        for p in outputs:
            p.unlink(missing_ok=True)
        print(f"ERROR: {err}", file=sys.stderr, flush=True)
        return 1
    print(f"CIFAR-10: {len(data['train_labels'])} train / {len(data['test_labels'])} test images in {batch_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
