"""What every command shares: the console, the common options and the default period."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from .. import configfile, layout, periods
from ..config import Project
from ..errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def console(stderr: bool = False) -> Console:
    """A rich console; piped output (logs, CI) gets a wide fixed width instead of 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def _period(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A strict `YYYY-MM` (or `latest`): spaces are refused, not stripped, so the folder name is exact."""
    if value is None or value == "latest":
        return None
    why = periods.problem(value)
    if why is not None:
        raise ConfigError(f"{_name(param)} {value!r}: {why}")
    return value


def _name(param: click.Parameter) -> str:
    """The option as the user typed it, e.g. `--period`."""
    return param.opts[0] if param.opts else str(param.name)


def period_option(required: bool = False) -> Callable[[F], F]:
    """`--period YYYY-MM` (or `latest`, meaning the default), checked before anything runs."""
    return click.option(
        "--period",
        callback=_period,
        required=required,
        help="Month YYYY-MM (default: the latest complete month of the data).",
    )


def month_option(*names: str, **kwargs: Any) -> Callable[[F], F]:
    """Another option taking a month `YYYY-MM`, checked like `--period` (no `latest`)."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value == "latest":
            raise ConfigError(f"{_name(param)} 'latest': give a month YYYY-MM, e.g. 2026-10")
        return _period(ctx, param, value)

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
