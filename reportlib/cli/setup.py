"""`reportlib init` and `reportlib doctor`: start a project from a company's own data, and
check that it is ready to run. The work is done by `scaffold` and `doctor`; this module
parses the options and prints.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from .. import doctor as doctor_checks
from .. import scaffold
from ..errors import ConfigError
from .commands import cli
from .options import config_option, console


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


@cli.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--source",
    metavar="PATH|URL",
    default=None,
    help="The input tables: a folder of CSV/Parquet files, a .duckdb file or a database URL "
    "(default: the settings' source, else data/, the folder itself or a folder under data/ "
    "holding customers.csv or customers.parquet).",
)
@click.option(
    "--company", default=None, help="Company name on the packs (default: the folder's name)."
)
def init_cmd(folder: Path, source: str | None, company: str | None) -> None:
    """Write a starting configuration made from your data; never replaces a file.

    Looks at the tables in the source and the customers' columns, then writes the settings
    (reportlib.toml), segments.yaml with the hierarchy levels found, kpis.yaml with only the
    KPIs the data supports, targets.csv with company-wide rows to fill in, and a
    distribution.yaml stub. See docs/getting-started.md.
    """
    if source is not None and not source.strip():
        raise ConfigError("--source is empty: give a folder, a .duckdb file or a database URL")
    result = scaffold.init(folder, source, company)
    con = console()
    data = result.survey
    con.print(f"data: {data.source}: tables {', '.join(data.tables)}", markup=False)
    for c in data.columns:
        verdict = "level" if c.level else "not a level"
        con.print(f"  customers.{c.name}: {verdict} ({c.reason})", markup=False)
    if result.dropped:
        left = ", ".join(f"{k} (no {t})" for k, t in result.dropped.items())
        con.print(f"KPIs left out: {left}", markup=False)
    for f in result.written:
        con.print(f"wrote {_shown(f.path)}: {f.what}", markup=False)
    for f in result.kept:
        con.print(f"kept {_shown(f.path)} (exists; not changed)", markup=False)
    for note in data.notes:
        con.print(f"note: {note}", markup=False)
    config = result.settings_file
    here = config.parent.resolve() == Path.cwd().resolve()
    flag = "" if here else f" --config {shlex.quote(_shown(config))}"
    con.print("next:", markup=False)
    con.print(f"  reportlib doctor{flag}      # is everything in place?", markup=False)
    con.print(
        f"  reportlib validate{flag}    # the data-quality report of the latest month", markup=False
    )
    con.print(f"  reportlib run{flag}         # the scorecard and the board packs", markup=False)


@cli.command("doctor")
@config_option
def doctor_cmd(config: Path | None) -> None:
    """Check the project before a run: one line per check (ok, FAIL or skip); exit 2 on a FAIL.

    Settings, configuration files, source, tables and columns, CSV encodings, node ids,
    fonts, output folder, and the mail server when [smtp] is set. Writes nothing.
    """
    con = console()
    failed = []
    for check in doctor_checks.checks(config):
        con.print(f"{check.verdict:<4}  {check.name}: {check.detail}", markup=False)
        if check.failed:
            failed.append(check.name)
    if failed:
        raise ConfigError(f"doctor: {len(failed)} check(s) failed: {', '.join(failed)}")
    con.print("all checks passed", markup=False)
