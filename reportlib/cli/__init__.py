"""`reportlib` command line: the one place that prints, configures logging and sets exit codes.

`commands` holds the commands (each a thin parse → call → show), `show` what they print,
`progress` the live display of `reportlib run`, `options` what they share. `main` turns a
ReportlibError into one line and its exit code (2 for bad input or configuration, 1 for a
failed notebook, render or delivery); anything else is an internal error, with the
traceback only under `--debug`.
"""

from __future__ import annotations

import sys
import traceback

import click

from ..errors import ReportlibError
from .commands import cli
from .options import console

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
    except click.ClickException as e:
        e.show()
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
