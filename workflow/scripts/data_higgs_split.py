"""Draw the deterministic HIGGS train/test split of one scale (initlab.data.higgs.make_split).

    python workflow/scripts/data_higgs_split.py --source FILE --scale SCALE --output OUT.npz
"""

import argparse
import json
import sys
import time

from initlab.data import DataError, make_split, registry
from initlab.data.verified import data_dir_of, record, verify_on_use
from initlab.jobs import logged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="verified HIGGS file (full file or the sample)")
    parser.add_argument("--scale", required=True, choices=("full", "quick", "smoke"))
    parser.add_argument("--output", required=True)
    parser.add_argument("--log", default=None, help="log file: receives the output and any traceback")
    args = parser.parse_args()
    with logged(args.log):
        return split(args)


def split(args) -> int:
    # Which registered file the source is, from its path (the data rules keep registry paths).
    relpath = next((rel for rel in registry() if args.source.replace("\\", "/").endswith(rel)), None)
    started = time.time()
    split_relpath = f"higgs/split_{args.scale}.npz"
    try:
        if relpath is not None:
            verify_on_use(args.source, relpath)
        meta = make_split(args.source, args.scale, args.output, source_relpath=relpath)
        # the stamp that jobs reading the split check it against (initlab.data.verified)
        record(args.output, data_dir_of(args.output, split_relpath), split_relpath, origin="rule data_higgs_split")
    except DataError as err:
        print(f"ERROR: {err}", file=sys.stderr, flush=True)
        return 1
    print(json.dumps(meta, indent=2, sort_keys=True))
    print(f"HIGGS split {args.scale}: {meta['n_train']} train / {meta['n_test']} test rows from "
          f"{meta['source']} in {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
