"""Every flag and positional argument of every command, given hostile values: each
invocation ends with a result (exit 0) or a message (exit 2), never a traceback, never
the catch-all's "this is a bug", within a time bound, and no file that was in the
folder before is changed.

The flags are read from the parser itself, so a flag added later is swept too."""

from __future__ import annotations

import argparse
import contextlib
import io
import signal

import pytest

from anyprop.cli import main
from anyprop.cli.parser import build_parser
from tests.cli.test_output_paths import XOR_SPEC, snapshot

#: values an adversarial user types: empty, negative, not a number, non-finite, beyond
#: float range, control characters, very long text, brackets of a list, a path upward,
#: a device, and text shaped like the syntax of other flags
HOSTILE = [
    "",
    "-1",
    "0",
    "-0.5",
    "nan",
    "inf",
    "-inf",
    "1e400",
    "abc",
    "\x00",
    "é\u202e",
    "x" * 5000,
    "[[[",
    "../..",
    "/dev/null",
    "1,,2",
    "a=b=c",
    "h1[0]->output[99]",
    "9" * 40,
]

#: flags whose huge value is a valid, long request (40 nines of epochs is a run the
#: user asked for); their other hostile values are still swept
LONG_WHEN_HUGE = {"--epochs", "--checkpoint-every"}

#: what each command is given besides the flag swept: a run that succeeds quickly
BASE = {
    "train": ["--data", "xor.csv", "--hidden", "2", "--epochs", "2", "--no-save"],
    "evaluate": ["m.anyprop", "--data", "xor.csv"],
    "predict": ["m.anyprop", "inputs.csv"],
    "info": ["m.anyprop"],
    "check": ["net.toml", "--samples", "2"],
    "explain": ["m.anyprop", "--weight", "h1[0]->output[0]"],
    "report": ["m.anyprop"],
    "ops": [],
    "export": ["m.anyprop", "--out", "m.onnx"],
    "transfer show": ["tanh"],
    "transfer list": [],
    "datasets list": [],
}
POSITIONAL = {
    "train": ["spec"],
    "evaluate": ["m.anyprop"],
    "predict": ["m.anyprop", "inputs.csv"],
    "info": ["m.anyprop"],
    "check": ["net.toml"],
    "explain": ["m.anyprop"],
    "report": ["m.anyprop"],
    "ops": [],
    "export": ["m.anyprop"],
    "transfer show": ["tanh"],
}


def _commands() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}".strip())
                return
        found[prefix] = parser

    walk(build_parser(), "")
    return found


def _cases() -> list[tuple[str, str]]:
    """(command, flag) for every flag that takes a value, and (command, '#i') for its
    i-th positional argument."""
    cases = []
    for command, parser in _commands().items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction) or action.nargs == 0:
                continue
            if action.option_strings:
                cases.append((command, action.option_strings[0]))
        for i, _ in enumerate(POSITIONAL.get(command, [])):
            cases.append((command, f"#{i}"))
    return cases


def _argv(command: str, flag: str, value: str) -> list[str]:
    words = command.split()
    base = list(BASE[command])
    if flag.startswith("#"):
        i = int(flag[1:])
        known = POSITIONAL[command]
        if known[i] in base:
            base[base.index(known[i])] = value
        else:  # an optional positional (train's spec): put it first
            base.insert(0, value)
        return [*words, *base]
    return [*words, *base, flag, value]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    here = tmp_path_factory.mktemp("every-flag")
    with contextlib.chdir(here):
        (here / "xor.csv").write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
        (here / "inputs.csv").write_text("x0,x1\n0,1\n1,1\n")
        (here / "net.toml").write_text(XOR_SPEC.read_text())
        argv = ["train", "net.toml", "--data", "xor", "--epochs", "3", "--report"]
        err = io.StringIO()
        assert main([*argv, "--out", "m.anyprop"], io.StringIO(), err) == 0, err.getvalue()
    return here


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


@pytest.mark.parametrize("command, flag", _cases(), ids=lambda v: v)
def test_a_hostile_value_is_a_result_or_a_message(folder, command, flag, monkeypatch):
    monkeypatch.chdir(folder)
    assert command in BASE, f"the sweep has no base invocation for {command!r}: add one"
    before = snapshot(folder)
    problems = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for value in HOSTILE:
            if flag in LONG_WHEN_HUGE and value == HOSTILE[-1]:
                continue
            argv = _argv(command, flag, value)
            out, err = io.StringIO(), io.StringIO()
            signal.alarm(30)
            try:
                status = main(argv, out, err, stdin=io.StringIO(""))
            except _Hang:
                problems.append((argv, "ran for more than 30 s"))
                continue
            finally:
                signal.alarm(0)
            text = err.getvalue()
            if status not in (0, 2):
                problems.append((argv, f"exit {status}", text[-300:]))
            if "Traceback" in text or "this is a bug" in text:
                problems.append((argv, text[-300:]))
            if status == 2 and not text.strip():
                problems.append((argv, "exit 2 with no message"))
            now = snapshot(folder)
            if {k: now.get(k) for k in before} != before:
                problems.append((argv, "changed a file"))
            for extra in set(now) - set(before):  # a file the command was asked to write
                if status != 0:
                    problems.append((argv, f"left {extra} behind after an error"))
                (folder / extra).unlink()
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not problems, problems


@pytest.mark.parametrize("command", sorted(BASE))
def test_each_base_invocation_succeeds(folder, command, monkeypatch):
    """The sweep's values are tried on a run that works, so each message is the value's."""
    monkeypatch.chdir(folder)
    if command == "export":
        pytest.importorskip("onnx")
    before = snapshot(folder)
    err = io.StringIO()
    assert main([*command.split(), *BASE[command]], io.StringIO(), err) == 0, err.getvalue()
    now = snapshot(folder)
    assert {k: now[k] for k in before} == before
    for made in set(now) - set(before):  # what the command writes (export's --out)
        (folder / made).unlink()
