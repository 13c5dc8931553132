"""The ``sjax`` command line."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sjax`` console script."""
    parser = argparse.ArgumentParser(prog="sjax", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the main job: a short run of every part")
    demo.add_argument("--out", default="sjax-demo-output", help="output folder")
    demo.add_argument("--small", action="store_true", help="coarser, faster version (CI)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from sjax.demo import run_demo

        summary = run_demo(args.out, small=args.small)
        print(json.dumps(summary, indent=2))
        print(f"figures and summary.json written to {args.out}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
