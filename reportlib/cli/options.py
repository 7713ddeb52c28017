"""What every command shares: the console, the common options and the default period."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from .. import layout, periods
from ..config import Project
from ..errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def console(stderr: bool = False) -> Console:
    """A rich console; piped output (logs, CI) gets a wide fixed width instead of 80 columns."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def period_option(required: bool = False) -> Callable[[F], F]:
    """`--period YYYY-MM` (or `latest`, meaning the default), checked before anything runs."""

    def check(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is not None and value != "latest":
            periods.parse(value)
        return None if value == "latest" else value

    return click.option(
        "--period",
        callback=check,
        required=required,
        help="Month YYYY-MM (default: the latest complete month of the data).",
    )


def _reason(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("give a reason", param_hint="--accept-quality")
    return value


accept_quality_option = click.option(
    "--accept-quality",
    metavar="REASON",
    default=None,
    callback=_reason,
    help="Accept data that fails the quality gate; the reason is recorded.",
)

config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (reportlib.toml or a pyproject.toml with [tool.reportlib]).",
)


def latest_computed(project: Project) -> str:
    """The latest period with a computed scorecard under output/ (the default of draft and diff)."""
    out = project.settings.output_path
    latest = layout.OutputRoot(out).latest_computed()
    if latest is None:
        raise ConfigError(f"no computed scorecard under {out}: run `reportlib compute` first")
    return latest
