"""The argument parser of ``anyprop``; no maths and no handlers here."""

from __future__ import annotations

import argparse

from anyprop._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anyprop",
        description="Train neural networks of any shape with one rule: backpropagation.",
        epilog="Run 'anyprop COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"anyprop {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ops = sub.add_parser(
        "ops",
        help="list the autodiff primitives with their derivatives",
        description="List anyprop's autodiff primitives, each with its derivative's formula.",
        epilog="example: anyprop ops --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ops.add_argument("name", nargs="?", help="show one primitive in full")
    ops.add_argument("--json", action="store_true", help="machine-readable output")
    return parser
