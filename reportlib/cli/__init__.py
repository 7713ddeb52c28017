"""`reportlib` command line: the one place that prints, configures logging and sets exit codes.

`commands` holds the commands (each a thin parse → call → show), `show` what they print,
`progress` the live display of `reportlib run`, `options` what they share. `main` turns a
ReportlibError into one line and its exit code (2 for bad input or configuration, 1 for a
failed notebook, render or delivery), and a usage error of click (unknown command or
option, a missing or malformed value) into one `error: ...` line with exit 2; anything
else is an internal error, with the traceback only under `--debug`.
"""

from __future__ import annotations

import sys
import traceback

import click

from ..errors import ReportlibError
from .commands import cli
from .options import console
from .setup import doctor_cmd as doctor_cmd  # registers `init` and `doctor` on the group

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="reportlib", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        console(stderr=True).print("interrupted")
        return 130
    except click.exceptions.NoArgsIsHelpError as e:  # `reportlib` alone: the help, as asked
        console(stderr=True).print(e.ctx.get_help() if e.ctx else str(e), markup=False)
        return 2
    except click.ClickException as e:
        if debug:
            traceback.print_exc()
        console(stderr=True).print(f"error: {one_line(e)}", markup=False)
        return 2
    except ReportlibError as e:
        if debug:
            traceback.print_exc()
        console(stderr=True).print(f"error: {e}", markup=False)
        return e.exit_code
    except Exception as e:  # an unexpected failure is a bug: say so in one line
        if debug:
            traceback.print_exc()
        else:
            console(stderr=True).print(
                f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback)",
                markup=False,
            )
        return 1
    return 0


def one_line(e: click.ClickException) -> str:
    """Click's message for a usage error on one line, with the command to ask for help."""
    text = " ".join(e.format_message().split())
    ctx = getattr(e, "ctx", None)
    if isinstance(e, click.UsageError) and ctx is not None:
        text += f" (see `{ctx.command_path} --help`)"
    return text
