"""Fetch one registered dataset file (mirror first, then the registered URLs) and verify its sha256.

    python workflow/scripts/data_fetch.py RELPATH OUTPUT [--mirror DIR]

The mirror defaults to $INITLAB_FETCH_MIRROR (set by workflow/rules/data.smk from config data_mirror).
"""

import argparse
import os
import sys

from initlab.data import DataError, fetch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("relpath", help="path in the registry, e.g. covtype/covtype.data.gz")
    parser.add_argument("output", help="where the verified file goes")
    parser.add_argument("--mirror", default=os.environ.get("INITLAB_FETCH_MIRROR") or None)
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per network operation")
    args = parser.parse_args()
    try:
        fetch(args.relpath, args.output, mirror=args.mirror, timeout=args.timeout)
    except DataError as err:
        print(f"ERROR: {err}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
