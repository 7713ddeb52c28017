"""`reportlib` command line: the one place that prints, configures logging and sets exit codes.

`commands` holds the commands (each a thin parse → call → show), `show` what they print,
`progress` the live display of `reportlib run`, `options` what they share. `main` turns a
ReportlibError into one line and its exit code (2 for bad input or configuration, 1 for a
failed notebook, render or delivery), and a usage error of click (unknown command or
option, a missing or malformed value) into one `error: ...` line with exit 2; anything
else is an internal error, with the traceback only under `--debug`.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import click

from ..errors import ReportlibError
from . import logs, summary
from .commands import cli
from .options import console
from .setup import doctor_cmd as doctor_cmd  # registers `init` and `doctor` on the group

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one line and an exit code.

    With `--json` anywhere on the command line, everything the command would print goes to
    stderr instead, and stdout gets one JSON object: the command's summary (if it got that
    far) with its `exit_code` and `error` (None, or the one-line message also on stderr).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    with logs.session("debug" if "--debug" in args else "normal"), terminated_unwinds():
        if "--json" not in args:
            return run(args, {})
        return run_json(args)


def run_json(args: list[str]) -> int:
    """`main` with `--json`: the command's own output to stderr, one JSON object to stdout."""
    state: dict[str, Any] = {}
    stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        code = run(args, state)
    found = state.get(summary.SUMMARY_KEY)
    result = (
        dict(found) if isinstance(found, dict) else {"command": command_of(args), "period": None}
    )
    result.update(exit_code=code, error=state.get(ERROR_KEY))
    print(summary.dumps(result), file=stdout, flush=True)
    return code


ERROR_KEY = "error"
"""Where `run` leaves the message of the one line it printed on stderr (without its
`error: ` prefix), for the JSON summary."""


class Terminated(KeyboardInterrupt):
    """SIGTERM received (a scheduler's timeout, `kill`): unwinds like Ctrl-C, exit 143."""


TERMINATED_EXIT = 143
"""128 + SIGTERM, what a shell reports for a process the signal ended."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def terminated_unwinds() -> Iterator[None]:
    """Turn SIGTERM into an exception for the command's duration, so it unwinds.

    Without this, SIGTERM ends the process at once: `reportlib run`'s workers and their
    Jupyter kernels are left running and the period's lock is not released. Unwinding
    runs the executors' exits (workers stopped, each closing its kernel) and `finally`
    blocks. Only the main thread can set a handler; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: list[str], state: dict[str, Any]) -> int:
    """Run the command line with `state` as the click context's `obj`; the exit code."""
    debug = "--debug" in args

    def fail(message: str, prefix: str = "error: ") -> None:
        state[ERROR_KEY] = message
        console(stderr=True).print(prefix + message, markup=False)

    try:
        cli.main(args=args, prog_name="reportlib", standalone_mode=False, obj=state)
    except (click.exceptions.Abort, KeyboardInterrupt) as e:
        # click turns an interrupt inside a command into Abort, the signal as its cause
        if isinstance(e, Terminated) or isinstance(e.__cause__, Terminated):
            fail("terminated", prefix="")
            return TERMINATED_EXIT
        fail("interrupted", prefix="")
        return 130
    except click.exceptions.NoArgsIsHelpError as e:  # `reportlib` alone: the help, as asked
        console(stderr=True).print(e.ctx.get_help() if e.ctx else str(e), markup=False)
        return 2
    except click.ClickException as e:
        if debug:
            traceback.print_exc()
        fail(one_line(e))
        return 2
    except ReportlibError as e:
        if debug:
            traceback.print_exc()
        fail(str(e))
        return e.exit_code
    except Exception as e:  # an unexpected failure is a bug: say so in one line
        if debug:
            traceback.print_exc()
            state[ERROR_KEY] = f"{type(e).__name__}: {e}"
        else:
            fail(
                f"{type(e).__name__}: {e} (run with --debug for the traceback)",
                prefix="internal error: ",
            )
        return 1
    return 0


def command_of(args: list[str]) -> str | None:
    """The subcommand named on the command line (its first word not an option), or None."""
    return next((a for a in args if not a.startswith("-")), None)


def one_line(e: click.ClickException) -> str:
    """Click's message for a usage error on one line, with the command to ask for help."""
    text = " ".join(e.format_message().split())
    ctx = getattr(e, "ctx", None)
    if isinstance(e, click.UsageError) and ctx is not None:
        text += f" (see `{ctx.command_path} --help`)"
    return text
