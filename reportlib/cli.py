"""`reportlib` command line: the one place that prints, configures logging and sets exit codes."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__, periods
from .config import load_project
from .errors import ReportlibError

log = logging.getLogger(__name__)

STATUS_STYLE = {
    "green": "green",
    "amber": "yellow",
    "red": "red",
    "insufficient": "dim",
    "no-target": "dim",
    "no-data": "dim",
}


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    # Piped output (logs, CI) gets a wide fixed width instead of rich's 80-column default.
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def _period_option(required: bool = False):
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


config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (reportlib.toml or a pyproject.toml with [tool.reportlib]).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reportlib")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Customer-experience balanced scorecard: compute, render and send the monthly packs."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@cli.command("sample-data")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("data/sample"), show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--months", type=int, default=24, show_default=True)
@click.option("--customers", type=int, default=5000, show_default=True)
@click.option("--end", default="2026-10", show_default=True, help="Last month of the data, YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write default kpis.yaml, targets.csv, segments.yaml, distribution.yaml "
    "when missing (default: the parent of --out).",
)
def sample_data(out: Path, seed: int, months: int, customers: int, end: str, fmt: str, config_dir: Path | None) -> None:
    """Write a deterministic, realistic sample company (same seed, same bytes)."""
    from .sample import generate_sample

    report = generate_sample(
        out,
        seed=seed,
        months=months,
        customers=customers,
        end=end,
        fmt=fmt,  # type: ignore[arg-type]
        config_dir=config_dir if config_dir is not None else out.parent,
    )
    con = _console()
    table = Table(title=f"Sample data in {report.out}", show_edge=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("planted bad rows")
    for name, rows in report.tables.items():
        planted = ", ".join(f"{rule} {n}" for rule, n in report.planted.get(name, {}).items())
        table.add_row(name, f"{rows:,}", planted)
    con.print(table)
    for p in report.config_written:
        con.print(f"wrote default config {p}")
    con.print(f"data cut-off (as_of): {report.as_of}")


@cli.command()
@_period_option()
@config_option
def compute(period: str | None, config: Path | None) -> None:
    """Compute every KPI for every node and write output/<period>/scorecard.*."""
    from .pipeline import compute as run_compute

    project = load_project(config)
    result = run_compute(project, period)
    _print_summary(result, project)


def _fmt_score(x: float) -> str:
    return "–" if x != x else f"{x:.1f}"


def _print_summary(result, project) -> None:  # noqa: ANN001 - ComputeResult, Project
    con = _console()
    cur = result.current
    persp = project.hierarchy.perspectives
    table = Table(title=f"Scorecard {periods.long_name(result.period)} (scores 0–10)", show_edge=False)
    table.add_column("node")
    for p in persp:
        table.add_column(p.id, justify="right")
    table.add_column("overall", justify="right")
    table.add_column("status")
    for node in result.tree.nodes:
        rows = cur[cur["node"] == node.id].set_index("kpi")
        cells = [_fmt_score(rows.at[f"score:{p.id}", "value"]) for p in persp]
        overall = rows.loc["score:overall"]
        st = overall["status"]
        indent = "  " * node.level
        table.add_row(
            indent + node.id,
            *cells,
            _fmt_score(overall["value"]),
            f"[{STATUS_STYLE[st]}]{st}[/]",
        )
    con.print(table)
    kpi_rows = cur[~cur["kpi"].str.startswith("score:")]
    counts = kpi_rows["status"].value_counts()
    con.print(
        "KPI statuses: "
        + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in STATUS_STYLE if counts.get(s, 0))
    )
    con.print(f"data cut-off (as_of): {result.as_of:%Y-%m-%d %H:%M} UTC")
    for f in result.files:
        con.print(f"wrote {f}")


@cli.command("kpis")
@config_option
def kpis_cmd(config: Path | None) -> None:
    """List the KPI catalogue."""
    project = load_project(config)
    table = Table(show_edge=False)
    for col in ("id", "name", "perspective", "unit", "dir", "min n", "weight", "owner", "v"):
        table.add_column(col)
    for k in project.kpis:
        table.add_row(
            k.id,
            k.name,
            k.perspective,
            k.unit,
            k.direction,
            "–" if k.min_n is None else str(k.min_n),
            f"{k.weight:g}",
            k.owner,
            str(k.version),
        )
    _console().print(table)


@cli.command("latest-period")
@config_option
def latest_period(config: Path | None) -> None:
    """Print the latest complete month of the data (YYYY-MM)."""
    from .sources import latest_complete_period, load

    click.echo(latest_complete_period(load(load_project(config))))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="reportlib", standalone_mode=False)
    except click.exceptions.Abort:
        _console(stderr=True).print("aborted")
        return 130
    except click.ClickException as e:
        e.show()
        return 2
    except ReportlibError as e:
        if debug:
            traceback.print_exc()
        _console(stderr=True).print(f"error: {e}", markup=False)
        return e.exit_code
    except Exception as e:  # an unexpected failure is a bug: say so in one line
        if debug:
            traceback.print_exc()
        else:
            _console(stderr=True).print(
                f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback)",
                markup=False,
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
