"""Extract the CIFAR-10 binary batches from the verified archive, refusing unsafe tar members,
and check the record layout (initlab.data.safe_extract, initlab.data.load_cifar10).

    python workflow/scripts/data_cifar10_extract.py ARCHIVE OUTPUT...
"""

import sys
from pathlib import Path

from initlab.data import DataError, load_cifar10, safe_extract
from initlab.data.loaders import CIFAR10_DIR


def main() -> int:
    archive, outputs = sys.argv[1], [Path(p) for p in sys.argv[2:]]
    batch_dir = outputs[0].parent  # .../cifar10/cifar-10-batches-bin
    if batch_dir.name != CIFAR10_DIR:
        print(f"ERROR: outputs must lie in a {CIFAR10_DIR}/ directory, got {batch_dir}", file=sys.stderr)
        return 1
    try:
        safe_extract(archive, batch_dir.parent, only=[f"{CIFAR10_DIR}/{p.name}" for p in outputs])
        data = load_cifar10(batch_dir)
    except DataError as err:
        for p in outputs:
            p.unlink(missing_ok=True)
        print(f"ERROR: {err}", file=sys.stderr, flush=True)
        return 1
    print(f"CIFAR-10: {len(data['train_labels'])} train / {len(data['test_labels'])} test images in {batch_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
