"""Command line: ``python -m initlab.data list | verify PATH... | fetch RELPATH [--mirror DIR] [--data-dir DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import DataError, fetch, registry, verify_existing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m initlab.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered dataset files")
    verify = sub.add_parser("verify", help="check files on disk against the registry's sha256")
    verify.add_argument("paths", nargs="+")
    get = sub.add_parser("fetch", help="fetch and verify one registered file")
    get.add_argument("relpath")
    get.add_argument("--mirror", default=None)
    get.add_argument("--data-dir", default="data")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for rel, entry in sorted(registry().items()):
                print(f"{rel}\t{entry.expected[1]:,} bytes{' (gunzipped)' if entry.verify == 'content' else ''}\t"
                      f"{entry.urls[0] if entry.urls else '(mirror only)'}")
        elif args.command == "verify":
            for path in args.paths:
                entry = verify_existing(path)
                print(f"ok  {path}  ({entry.relpath}, {entry.verify} sha256 {entry.expected[0]})")
        else:
            fetch(args.relpath, Path(args.data_dir) / args.relpath, mirror=args.mirror)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
