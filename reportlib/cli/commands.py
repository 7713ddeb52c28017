"""The `reportlib` commands: each parses its options, calls the package, and hands the
result to `show` to print. No figures are made here and nothing is printed elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from .. import __version__, layout, periods
from ..config import Project, load_project
from . import show, summary
from .options import (
    LATEST_COMPUTED,
    Group,
    accept_quality_option,
    address_option,
    cadence_option,
    config_option,
    console,
    folder_option,
    json_option,
    latest_computed,
    latest_run,
    month_option,
    node_option,
    output_dir_option,
    period_callback,
    period_option,
    verbosity,
    with_cadence,
    with_verbosity,
)
from .progress import RunProgress


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reportlib")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Customer-experience balanced scorecard: compute, render and send the monthly packs.

    \b
    Documentation (in the repository):
      docs/getting-started.md  a first pack with your own data (init, doctor)
      docs/sources.md          files, databases, mapping your columns and formats
      docs/warehouse.md        computing in PostgreSQL, Spark or a DuckDB file
      docs/kpis.md             adding a KPI without code
      docs/locale.md           numbers, dates and names in your language
      docs/operations.md       scheduling, exit codes, --json, logs, sandbox
      docs/methodology.md      how every figure is made
      docs/architecture.md     the output files and the modules
    """
    ctx.ensure_object(dict)


with_verbosity(cli)


@cli.command("sample-data")
@folder_option("--out", default=Path("data/sample"), show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=7, show_default=True)
@click.option("--months", type=click.IntRange(min=13), default=24, show_default=True)
@click.option("--customers", type=click.IntRange(min=50), default=5000, show_default=True)
@month_option(
    "--end", default="2026-10", show_default=True, help="Last month of the data, YYYY-MM."
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
@folder_option(
    "--config-dir",
    default=None,
    help="Where to write default kpis.yaml, targets.csv, segments.yaml, distribution.yaml "
    "when missing (default: the parent of --out).",
)
@click.option(
    "--levels",
    type=int,
    default=2,
    show_default=True,
    help="Hierarchy levels: 2 (segment, region) or 3 (segment, region, branch).",
)
@click.option(
    "--branches",
    type=int,
    default=0,
    metavar="N",
    help="With --levels 3: branches under each region (16 + 12 x N nodes; 24 gives 304).",
)
@click.option(
    "--late-responses",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Instead of generating, append N late NPS answers for the last month to the sample "
    "in --out, so that the next run restates that month.",
)
def sample_data(
    out: Path,
    seed: int,
    months: int,
    customers: int,
    end: str,
    fmt: str,
    config_dir: Path | None,
    levels: int,
    branches: int,
    late_responses: int | None,
) -> None:
    """Write a deterministic, realistic sample company (same seed, same bytes)."""
    from ..sample import add_late_responses, generate_sample

    if late_responses is not None:
        month, n = add_late_responses(out, late_responses)
        console().print(f"appended {n} late NPS responses for {month} to {out}")
        return
    report = generate_sample(
        out,
        seed=seed,
        months=months,
        customers=customers,
        end=end,
        fmt=fmt,  # type: ignore[arg-type]
        config_dir=config_dir if config_dir is not None else out.parent,
        levels=levels,
        branches=branches,
    )
    show.sample_report(report)


def open_project(config: Path | None, output_dir: Path | None) -> tuple[Project, bool]:
    """The project of `--config`, writing under `--output-dir` when given (a sandbox: True)."""
    project = load_project(config)
    if output_dir is None:
        return project, False
    from ..sandbox import sandboxed

    return sandboxed(project, output_dir), True


@cli.command()
@period_option()
@cadence_option()
@config_option
@accept_quality_option
@output_dir_option
def compute(
    period: str | None,
    cadence: str,
    config: Path | None,
    accept_quality: str | None,
    output_dir: Path | None,
) -> None:
    """Validate the data, compute every KPI for every node and write output/<period>/."""
    from ..layout import PeriodOutput
    from ..lock import command_line
    from ..pipeline import compute as run_compute

    period = with_cadence(period, cadence)
    project, _ = open_project(config, output_dir)
    result = run_compute(
        project,
        period,
        accept_quality,
        lock_command=command_line(),
        cadence=periods.cadence_name(cadence),
    )
    out = PeriodOutput(project.settings.output_path, result.period)
    show.compute_summary(result, project, out.quality_dir)


@cli.command("kpis")
@click.option("--history", is_flag=True, help="List each KPI's definition versions instead.")
@config_option
def kpis_cmd(history: bool, config: Path | None) -> None:
    """List the KPI catalogue."""
    project = load_project(config)
    if history:
        show.kpi_history(project)
    else:
        show.kpi_catalogue(project)


@cli.command("latest-period")
@cadence_option("month, quarter or ytd (default: month).")
@config_option
def latest_period(cadence: str, config: Path | None) -> None:
    """Print the latest complete month of the data (YYYY-MM), or quarter / year to date."""
    from ..pipeline import latest_period as latest
    from ..sources import load

    click.echo(latest(load(load_project(config)), periods.cadence_name(cadence)))


@cli.command("run")
@period_option()
@cadence_option()
@node_option("Only this node's pack (repeatable), e.g. enterprise/emea.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: settings, else the number of cores).",
)
@click.option("--force", is_flag=True, help="Redo the scorecard and every pack even when current.")
@accept_quality_option
@click.option(
    "--fresh-kernels",
    is_flag=True,
    help="A new kernel for every pack (slower; no state shared between packs).",
)
@click.option(
    "--executor",
    metavar="NAME",
    default=None,
    help="Where the packs render: local (worker processes here) or dask (a Dask cluster); "
    "default: settings, else local.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="The Dask scheduler for --executor dask, e.g. tcp://10.0.0.5:8786 (default: settings).",
)
@output_dir_option
@json_option
@config_option
def run_cmd(
    period: str | None,
    cadence: str,
    nodes: tuple[str, ...],
    workers: int | None,
    force: bool,
    accept_quality: str | None,
    fresh_kernels: bool,
    executor: str | None,
    scheduler: str | None,
    output_dir: Path | None,
    config: Path | None,
) -> None:
    """Run the monthly job: scorecard.ipynb, then board_pack.ipynb for every node, in parallel."""
    from ..errors import NotebookExecutionError
    from ..run import run

    period = with_cadence(period, cadence)
    project, sandbox = open_project(config, output_dir)
    with RunProgress(console(stderr=True), quiet=verbosity() == "quiet") as progress:
        result = run(
            project,
            period,
            nodes=nodes or None,
            workers=workers,
            force=force,
            accept_quality=accept_quality,
            fresh_kernels=fresh_kernels,
            on_event=progress,
            executor=executor,
            scheduler=scheduler,
            cadence=periods.cadence_name(cadence),
        )
    out = layout.PeriodOutput(project.settings.output_path, result.period)
    current = pd.read_parquet(out.scorecard_parquet) if out.scorecard_parquet.is_file() else None
    summary.keep(summary.run(result, project, current, sandbox=sandbox))
    if current is not None:
        show.scores(project, result.period, current)
    show.run_summary(result)
    if result.failed:
        names = ", ".join(o.node for o in result.failed)
        first = result.failed[0].error()
        raise NotebookExecutionError(
            f"{len(result.failed)} of {len(result.nodes)} board packs failed: {names}",
            **(first.context if first is not None else {}),
        )


@cli.command("validate")
@period_option()
@cadence_option()
@config_option
@accept_quality_option
@output_dir_option
@json_option
def validate_cmd(
    period: str | None,
    cadence: str,
    config: Path | None,
    accept_quality: str | None,
    output_dir: Path | None,
) -> None:
    """Apply the data-quality rules; write output/<period>/quality/; exit 2 if the gate fails."""
    from .. import quality
    from ..layout import PeriodOutput
    from ..pipeline import validate

    period = with_cadence(period, cadence)
    project, sandbox = open_project(config, output_dir)
    checked, files = validate(project, period, accept_quality, periods.cadence_name(cadence))
    report = checked.report
    summary.keep(summary.validate(report, files, sandbox=sandbox))
    out = PeriodOutput(project.settings.output_path, report.period)
    show.quality(report, out.quality_dir)
    quality.enforce(report, out)


@cli.group()
def commentary() -> None:
    """Analysts' commentary files (data/commentary/<period>/<node>.md)."""


@commentary.command("draft")
@period_option(LATEST_COMPUTED)
@node_option("Node id (repeatable; default: every node).")
@config_option
def commentary_draft(period: str, nodes: tuple[str, ...], config: Path | None) -> None:
    """Write a Markdown draft from the figures for each node without commentary; never overwrites."""
    from ..commentary import path_for, write_drafts
    from ..pipeline import check_nodes

    project = load_project(config)
    period = period or latest_computed(project)
    nodes = check_nodes(project, nodes)
    written = write_drafts(project, period, list(nodes) or None)
    con = console()
    for p in written:
        con.print(f"wrote {p}")
    kept = [n for n in nodes if path_for(project, period, n) not in written]
    for n in kept:
        con.print(f"kept {path_for(project, period, n)} (exists)")
    if not written:
        con.print("no drafts written: every node already has a commentary file")


@cli.command("diff")
@period_option(LATEST_COMPUTED)
@config_option
def diff_cmd(period: str | None, config: Path | None) -> None:
    """Show how the last restatement changed the figures of a period (docs/methodology.md §8).

    The period defaults to the latest one computed in the output folder.
    """
    from .. import restate

    project = load_project(config)
    period = period or latest_computed(project)
    changed = restate.last_diff(layout.checked(project.settings.output_path, period))
    if changed is None or changed.empty:
        click.echo("no restatement")
        return
    click.echo("node,kpi,old,new,delta")
    for r in changed.itertuples(index=False):
        cells = (r.node, r.kpi, r.old, r.new, r.delta)
        click.echo(",".join(show.diff_cell(c) for c in cells))


@cli.group("audit")
def audit_group() -> None:
    """The audit log output/audit.jsonl of manual values and overrides (docs/methodology.md §8)."""


@audit_group.command("verify")
@config_option
def audit_verify(config: Path | None) -> None:
    """Check the audit log's hash chain and its anchors; exit 2 naming the first problem."""
    from .. import audit, manifest

    project = load_project(config)
    root = project.settings.output_path
    key = audit.secret()
    n = audit.check(audit.path(root), anchors=manifest.audit_anchors(root), key=key)
    click.echo(f"audit log intact ({n} entr{'y' if n == 1 else 'ies'})")
    if key:
        click.echo("every entry's HMAC checked")
    else:
        click.echo(
            f"{audit.KEY_ENV} not set: HMACs not checked; the log and its head could be "
            "rewritten together by anyone who can write them"
        )


@cli.command("send")
@click.option(
    "--period",
    callback=period_callback,
    help="Month YYYY-MM, quarter YYYY-Qn or year to date YYYY-MM-YTD (default: the latest "
    "period under the output folder whose run finished with board packs, of --cadence).",
)
@cadence_option("month, quarter or ytd: with no --period, the latest run of that cadence.")
@click.option(
    "--dry-run", is_flag=True, help="Write each email to output/<period>/outbox/; send nothing."
)
@address_option("--only", "only", help="Only this recipient (repeatable).")
@click.option(
    "--resend",
    is_flag=True,
    help="Send even packs already delivered, changed since, or whose outcome is unknown "
    "(again with the same Message-ID).",
)
@click.option(
    "--escalations",
    is_flag=True,
    help="Instead of the packs, email each KPI owner a list of their escalated KPIs.",
)
@click.option(
    "--allow-draft",
    is_flag=True,
    help="Send packs whose commentary is still a draft (status: draft), stamped "
    "'not yet reviewed'; refused otherwise.",
)
@json_option
@config_option
def send_cmd(
    period: str | None,
    cadence: str,
    dry_run: bool,
    only: tuple[str, ...],
    resend: bool,
    escalations: bool,
    allow_draft: bool,
    config: Path | None,
) -> None:
    """Email each recipient of data/distribution.yaml the board packs of their nodes."""
    from ..deliver import send, send_escalations
    from ..errors import DeliveryError

    project = load_project(config)
    period = with_cadence(period, cadence) or latest_run(project, cadence)
    if escalations:
        result = send_escalations(project, period, dry_run=dry_run, only=only, resend=resend)
    else:
        result = send(
            project, period, dry_run=dry_run, only=only, resend=resend, allow_draft=allow_draft
        )
    summary.keep(summary.send(result))
    show.send_summary(result, dry_run)
    if result.failed or result.unknown:
        raise DeliveryError(
            "; ".join(
                f"{len(group)} of {len(result.outcomes)} recipients {what}: "
                + ", ".join(o.email for o in group)
                for what, group in (("failed", result.failed), ("unknown", result.unknown))
                if group
            )
        )


@cli.command("preview")
@click.option(
    "--period",
    callback=period_callback,
    help="Month YYYY-MM, quarter YYYY-Qn or year to date YYYY-MM-YTD (default: the latest "
    "period under the output folder whose run finished with board packs, of --cadence).",
)
@cadence_option("month, quarter or ytd: with no --period, the latest run of that cadence.")
@node_option("Only this node's pack (repeatable; default: every pack of the period).")
@config_option
def preview_cmd(
    period: str | None, cadence: str, nodes: tuple[str, ...], config: Path | None
) -> None:
    """Write each pack's pages as PNG and an HTML page into output/<period>/preview/<node>/."""
    from ..preview import preview

    project = load_project(config)
    period = with_cadence(period, cadence) or latest_run(project, cadence)
    con = console()
    for p in preview(project, period, nodes):
        con.print(f"{p.node}: {len(p.pages)} pages, open {p.index}")
