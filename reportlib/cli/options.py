"""What every command shares: the console, the common options and the default period."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from .. import configfile, layout, periods
from ..config import Project
from ..errors import ConfigError
from . import logs

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)


def console(stderr: bool = False) -> Console:
    """A rich console; piped output (logs, CI) gets a wide fixed width instead of 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def period_callback(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A strict `YYYY-MM`, `YYYY-Qn` or `YYYY-MM-YTD` (or `latest`): spaces are refused, not
    stripped, so the folder name is exact."""
    if value is None or value == "latest":
        return None
    why = periods.any_problem(value)
    if why is not None:
        raise ConfigError(f"{_name(param)} {value!r}: {why}")
    return value


def month_callback(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A strict `YYYY-MM` (or `latest`), for the options that take a month only."""
    if value is None or value == "latest":
        return None
    why = periods.problem(value)
    if why is not None:
        raise ConfigError(f"{_name(param)} {value!r}: {why}")
    return value


CADENCE_HELP = (
    "month, quarter or ytd (year to date): with no --period, the latest complete one "
    "(default: month)."
)


def cadence_option(help: str = CADENCE_HELP) -> Callable[[F], F]:
    """`--cadence month|quarter|ytd`: which period `--period` defaults to (DOMAIN.md §8)."""
    return click.option(
        "--cadence",
        type=click.Choice(periods.CADENCES),
        default="month",
        show_default=False,
        help=help,
    )


def with_cadence(period: str | None, cadence: str) -> str | None:
    """`period` once it agrees with `--cadence` (a quarter label with `--cadence quarter`...)."""
    if period is not None and cadence != "month" and periods.cadence_of(period).name != cadence:
        raise ConfigError(
            f"--period {period!r} is not a {'quarter' if cadence == 'quarter' else 'year to date'} "
            f"but --cadence is {cadence}; give e.g. "
            f"{'2026-Q3' if cadence == 'quarter' else '2026-09-YTD'}, or leave out --period"
        )
    return period


def _name(param: click.Parameter) -> str:
    """The option as the user typed it, e.g. `--period`."""
    return param.opts[0] if param.opts else str(param.name)


LATEST_COMPUTED = "Month YYYY-MM (default: the latest month computed in the output folder)."


def period_option(
    help: str = "Month YYYY-MM, quarter YYYY-Qn or year to date YYYY-MM-YTD "
    "(default: the latest complete month of the data).",
) -> Callable[[F], F]:
    """`--period YYYY-MM` (a quarter `YYYY-Qn`, a year to date `YYYY-MM-YTD`; or `latest`,
    meaning the default), checked before anything runs."""
    return click.option("--period", callback=period_callback, help=help)


def month_option(*names: str, **kwargs: Any) -> Callable[[F], F]:
    """Another option taking a month `YYYY-MM`, checked like `--period` (no `latest`)."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value == "latest":
            raise ConfigError(f"{_name(param)} 'latest': give a month YYYY-MM, e.g. 2026-10")
        return month_callback(ctx, param, value)

    return click.option(*names, callback=check, **kwargs)


def _reason(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ConfigError("--accept-quality: give a reason (it is recorded with the data)")
    return value


def _nodes(_ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """Node ids as typed: refused when empty or padded; whether they exist is checked later."""
    for node in value:
        if not node.strip():
            raise ConfigError(f"{_name(param)} {node!r}: empty; give a node id, e.g. all")
        if node != node.strip():
            raise ConfigError(
                f"{_name(param)} {node!r}: leading or trailing spaces are not allowed"
            )
    return value


def node_option(help: str) -> Callable[[F], F]:
    """`--node NODE` (repeatable): the syntax here, membership in the hierarchy before any write."""
    return click.option(
        "--node", "nodes", multiple=True, metavar="NODE", callback=_nodes, help=help
    )


def _addresses(
    _ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    """Email addresses as typed: one plain address each, no spaces."""
    from ..deliver.models import checked_address

    for address in value:
        if address != address.strip():
            raise ConfigError(
                f"{_name(param)} {address!r}: leading or trailing spaces are not allowed"
            )
        try:
            checked_address(address)
        except ValueError:
            raise ConfigError(
                f"{_name(param)} {address!r}: not an email address (name@example.com)"
            ) from None
    return value


def address_option(*names: str, help: str) -> Callable[[F], F]:
    """A repeatable option taking email addresses, each checked before anything runs."""
    return click.option(*names, multiple=True, metavar="EMAIL", callback=_addresses, help=help)


def _folder(_ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """A folder to write into, refused when empty (it would mean `.`), padded, or a file."""
    if value is None:
        return None
    if not value.strip():
        raise ConfigError(f"{_name(param)} {value!r}: empty; give a folder")
    if value != value.strip():
        raise ConfigError(f"{_name(param)} {value!r}: leading or trailing spaces are not allowed")
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{_name(param)} {value!r}: is a file, not a folder")
    return path


def folder_option(*names: str, **kwargs: Any) -> Callable[[F], F]:
    """An option naming a folder to write into, checked before anything is written."""
    return click.option(*names, type=str, callback=_folder, metavar="FOLDER", **kwargs)


accept_quality_option = click.option(
    "--accept-quality",
    metavar="REASON",
    default=None,
    callback=_reason,
    help="Accept data that fails the quality gate; the reason is recorded.",
)


def _config(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Path | None:
    """`--config`: an existing file (not a folder, not empty), refused in one line otherwise."""
    if value is None:
        return None
    return configfile.find(value)


config_option = click.option(
    "--config",
    "config",
    type=str,
    default=None,
    callback=_config,
    metavar="FILE",
    help="Settings file (reportlib.toml or a pyproject.toml with [tool.reportlib]).",
)


def latest_computed(project: Project) -> str:
    """The latest period with a computed scorecard under output/ (the default of draft and diff)."""
    out = project.settings.output_path
    latest = layout.OutputRoot(out).latest_computed()
    if latest is None:
        raise ConfigError(f"no computed scorecard under {out}: run `reportlib compute` first")
    return latest


def latest_run(project: Project, cadence: str = "month") -> str:
    """The latest period of `cadence` whose run finished with board packs (the default of `send`)."""
    from ..manifest import latest_completed_run

    out = project.settings.output_path
    latest = latest_completed_run(out, periods.cadence_name(cadence))
    if latest is None:
        raise ConfigError(
            f"no completed run with board packs under {out}: run `reportlib run` first, "
            "or give --period YYYY-MM"
        )
    log.info("no period given: sending %s, the latest completed run", latest)
    return latest


# --------------------------------------------------------------------------- verbosity

VERBOSITY_KEY = "reportlib.verbosity"
"""Where the `-q`/`-v`/`--debug` flags seen so far are kept (`ctx.meta`, shared by the group
and its subcommand, so a flag counts wherever it was typed)."""


def verbosity(ctx: click.Context | None = None) -> logs.Verbosity:
    """The verbosity asked for on this command line: `--debug` > `-v` > `-q` > normal."""
    ctx = ctx or click.get_current_context(silent=True)
    flags: set[str] = ctx.meta.get(VERBOSITY_KEY, set()) if ctx is not None else set()
    for level in ("debug", "verbose", "quiet"):
        if level in flags:
            return level
    return "normal"


def _flag(level: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def record(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.meta.setdefault(VERBOSITY_KEY, set()).add(level)
            logs.configure(verbosity(ctx))

    return record


def verbosity_options() -> list[click.Parameter]:
    """`-q/--quiet`, `-v/--verbose` and `--debug`: fresh objects for each command they join."""
    return [
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_flag("quiet"),
            help="Log errors only; no progress lines.",
        ),
        click.Option(
            ["-v", "--verbose"],
            is_flag=True,
            expose_value=False,
            callback=_flag("verbose"),
            help="Log progress (INFO) to stderr.",
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            callback=_flag("debug"),
            help="Log everything (DEBUG) and show tracebacks.",
        ),
    ]


def with_verbosity(command: click.Command) -> click.Command:
    """Give `command` the verbosity options, so they work after it too; an option whose
    names the command already uses (it was added before, or means something else there)
    is left out."""
    have = {name for p in command.params for name in p.opts}
    command.params.extend(p for p in verbosity_options() if not have & set(p.opts))
    return command


class Group(click.Group):
    """A click group whose every command (and subgroup's command) takes `-q`/`-v`/`--debug`,
    so `reportlib -v run` and `reportlib run -v` mean the same; commands registered later
    (`cli.add_command(...)`) get them too."""

    group_class = type  # subgroups are this class as well

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(with_verbosity(cmd), name)


# --------------------------------------------------------------------------- --json

json_option = click.option(
    "--json",
    is_flag=True,
    expose_value=False,  # `main` sees it on the command line and routes stdout itself
    help="Print one JSON object summarising the result on stdout, and nothing else there "
    "(see docs/operations.md for its keys).",
)


output_dir_option = click.option(
    "--output-dir",
    type=str,
    callback=_folder,
    metavar="FOLDER",
    default=None,
    help="Sandbox: write everything under FOLDER instead of the settings' output folder; "
    "the official output and its audit log are not touched (docs/operations.md).",
)
