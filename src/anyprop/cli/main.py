"""``anyprop`` entry point: ``main(argv)`` returns an exit status.

0: success; 1: a check failed; 2: a user mistake, reported in one paragraph
without a traceback (``--verbose`` shows it).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from anyprop.cli import ops_cmd
from anyprop.cli.parser import build_parser
from anyprop.errors import AnypropError

HANDLERS = {"ops": ops_cmd.run}


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error (status 2)
        return int(e.code or 0)
    if args.command is None:
        parser.print_help(out)
        return 0
    try:
        return HANDLERS[args.command](args, out)
    except AnypropError as e:
        if args.verbose:
            traceback.print_exc(file=err)
        err.write(f"anyprop {args.command}: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        err.write("anyprop: interrupted\n")
        return 130


def entry() -> None:
    """Console-script entry: exit with :func:`main`'s status."""
    sys.exit(main())
