"""Fetch one registered dataset file and verify its sha256: from the kept verified copy in
<data_dir>/.verified/ (so a forced rerun needs neither network nor mirror), else the mirror, else
the registered URLs (initlab.data.verified.fetch_verified).

    python workflow/scripts/data_fetch.py RELPATH OUTPUT [--mirror DIR]

The mirror defaults to $INITLAB_FETCH_MIRROR (set by workflow/rules/data.smk from config data_mirror).
"""

import argparse
import os
import sys
from pathlib import Path

from initlab.data import DataError
from initlab.data.verified import fetch_verified
from initlab.jobs import logged

# the smoke-scale fixtures this repository ships (registry entries marked "bundled")
BUNDLED = Path(__file__).resolve().parents[2] / "fixtures" / "datasets"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("relpath", help="path in the registry, e.g. covtype/covtype.data.gz")
    parser.add_argument("output", help="where the verified file goes")
    parser.add_argument("--mirror", default=os.environ.get("INITLAB_FETCH_MIRROR") or None)
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per network operation")
    parser.add_argument("--log", default=None, help="log file: receives the output and any traceback")
    args = parser.parse_args()
    with logged(args.log):
        try:
            fetch_verified(args.relpath, args.output, mirror=args.mirror, timeout=args.timeout, bundled=BUNDLED)
        except DataError as err:
            print(f"ERROR: {err}", file=sys.stderr, flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
