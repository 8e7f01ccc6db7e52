"""``anyprop`` entry point: ``main(argv)`` returns an exit status.

0: success; 1: a check failed (a run not solved when asked to be); 2: a user
mistake, reported in one paragraph without a traceback (``--verbose`` shows
it); 130: interrupted (Ctrl-C), leaving the last checkpoint intact.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from typing import TextIO

import numpy as np

from anyprop.cli.parser import build_parser
from anyprop.errors import AnypropError


def _handler(command: str):  # imported on use: `anyprop --help` stays quick
    if command == "train":
        from anyprop.cli.commands.train import run_command

        return run_command
    if command in ("evaluate", "predict", "info"):
        from anyprop.cli.commands import evaluate

        return getattr(evaluate, f"{command}_command")
    if command in ("check", "explain", "report"):
        from anyprop.cli.commands import explain

        return getattr(explain, f"{command}_command")
    if command in ("transfer", "datasets"):
        from anyprop.cli.commands import catalog

        return getattr(catalog, f"{command}_command")
    if command == "export":
        from anyprop.cli.commands.export import export_command

        return export_command
    from anyprop.cli.commands.ops import ops_command

    return ops_command


def main(
    argv: Sequence[str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    nul = _nul_word(words)
    if nul is not None:  # no file name nor formula holds one; the OS refuses such names
        err.write(f"anyprop: error: {nul} holds a NUL character (\\0): no argument may\n")
        return 2
    argv = words
    # argparse writes --help to stdout and usage errors to stderr: the streams given
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help, --version, or a usage error (status 2)
            return int(e.code or 0)
    if args.command is None:
        parser.print_help(out)
        return 0
    if getattr(args, "action", "") is None:
        args.action = "list"
    try:
        handler = _handler(args.command)
        # NumPy's warnings (overflow in x^1e10, say) name source files: the commands say
        # in their own words where numbers stop being finite (training stops, and names
        # the group), so the warnings are not printed
        with np.errstate(all="ignore"), warnings.catch_warnings(), _memory_limit(args):
            warnings.simplefilter("ignore", RuntimeWarning)
            if args.command == "predict":
                return handler(args, out, err, stdin)
            return handler(args, out, err)
    except AnypropError as e:
        if args.verbose:
            traceback.print_exc(file=err)
        err.write(f"anyprop {args.command}: error: {e}\n")
        return 2
    except BrokenPipeError:  # the reader stopped early (a pipe into head): end quietly
        return _pipe_closed()
    except OSError as e:  # a file that cannot be written or read
        if args.verbose:
            traceback.print_exc(file=err)
        name = f"{e.filename}: " if getattr(e, "filename", None) else ""
        err.write(f"anyprop {args.command}: error: {name}{e.strerror or e}\n")
        return 2
    except KeyboardInterrupt:
        err.write(f"anyprop {args.command}: interrupted; the last checkpoint (if any) is intact\n")
        return 130
    except (RecursionError, MemoryError) as e:  # an input beyond what the checks foresaw
        if args.verbose:
            traceback.print_exc(file=err)
        what = "nests too deep" if isinstance(e, RecursionError) else "needs more memory"
        err.write(f"anyprop {args.command}: error: the input {what} than anyprop can handle\n")
        return 2
    except Exception as e:  # a bug: said in one line, never a traceback (--verbose shows it)
        if args.verbose:
            traceback.print_exc(file=err)
        err.write(
            f"anyprop {args.command}: error: {type(e).__name__}: {e} (this is a bug in anyprop: "
            "please report it with the command; --verbose shows where)\n"
        )
        return 2


def _nul_word(words: list[str]) -> str | None:
    """The argument holding a NUL character, named by its flag where it has one (a shell
    cannot pass one; a program calling main() can)."""
    for k, word in enumerate(words):
        if "\0" in word:
            flag = word.split("=", 1)[0] if word.startswith("--") and "=" in word else None
            if flag is None and k and words[k - 1].startswith("-"):
                flag = words[k - 1]
            return f"the value of {flag}" if flag else f"argument {k + 1}"
    return None


#: the exit status when the standard output is closed early: 128 + SIGPIPE, as a Unix
#: tool killed by the broken pipe would give (quietly)
PIPE_CLOSED = 141


def _pipe_closed() -> int:
    """Point the standard output at /dev/null, so that the interpreter's last flush at
    exit does not complain about the closed pipe, and say nothing."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return PIPE_CLOSED


@contextlib.contextmanager
def _memory_limit(args: argparse.Namespace) -> Iterator[None]:
    """--memory-limit for this command: the limit's environment variable, put back after."""
    if args.memory_limit is None:
        yield
        return
    from anyprop.limits import ENV, parse_size

    parse_size(args.memory_limit)  # a bad size is an error naming it
    before = os.environ.get(ENV)
    os.environ[ENV] = args.memory_limit
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def entry() -> None:
    """Console-script entry: exit with :func:`main`'s status (quietly when the standard
    output was closed before everything was written)."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        status = _pipe_closed()
    sys.exit(status)
