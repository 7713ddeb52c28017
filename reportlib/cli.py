"""`reportlib` command line: the one place that prints, configures logging and sets exit codes."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from . import __version__, layout, periods, tables
from .config import Project, load_project
from .errors import ReportlibError

if TYPE_CHECKING:
    from .pipeline import ComputeResult
    from .quality import QualityReport

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
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


@cli.command("sample-data")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/sample"),
    show_default=True,
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--months", type=int, default=24, show_default=True)
@click.option("--customers", type=int, default=5000, show_default=True)
@click.option(
    "--end", default="2026-10", show_default=True, help="Last month of the data, YYYY-MM."
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write default kpis.yaml, targets.csv, segments.yaml, distribution.yaml "
    "when missing (default: the parent of --out).",
)
@click.option(
    "--late-responses",
    type=int,
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
    late_responses: int | None,
) -> None:
    """Write a deterministic, realistic sample company (same seed, same bytes)."""
    from .sample import add_late_responses, generate_sample

    if late_responses is not None:
        month, n = add_late_responses(out, late_responses)
        _console().print(f"appended {n} late NPS responses for {month} to {out}")
        return
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
@accept_quality_option
def compute(period: str | None, config: Path | None, accept_quality: str | None) -> None:
    """Validate the data, compute every KPI for every node and write output/<period>/."""
    from .layout import PeriodOutput
    from .pipeline import compute as run_compute

    project = load_project(config)
    result = run_compute(project, period, accept_quality)
    _print_summary(result, project)
    _print_quality_notes(
        result.quality, PeriodOutput(project.settings.output_path, result.period).quality_dir
    )


def _fmt_score(x: float) -> str:
    return "–" if x != x else f"{x:.1f}"


def _print_scores(project: Project, period: str, current: pd.DataFrame) -> None:
    """Nodes × perspective scores and overall status, then the count of KPI statuses."""
    con = _console()
    persp = project.hierarchy.perspectives
    table = Table(title=f"Scorecard {periods.long_name(period)} (scores 0–10)", show_edge=False)
    table.add_column("node")
    for p in persp:
        table.add_column(p.id, justify="right")
    table.add_column("overall", justify="right")
    table.add_column("status")
    summary = tables.summary_by_node(project, current)
    # The scorecard lists nodes in tree order: parents before their children.
    for node_id, r in summary.iterrows():
        cells = [_fmt_score(r[p.name]) for p in persp]
        st = r["status"]
        indent = "" if node_id == "all" else "  " * (str(node_id).count("/") + 1)
        table.add_row(
            indent + str(node_id),
            *cells,
            _fmt_score(r[tables.OVERALL]),
            f"[{STATUS_STYLE[st]}]{st}[/]",
        )
    con.print(table)
    kpi_rows = current[~current["kpi"].str.startswith("score:")]
    counts = kpi_rows["status"].value_counts()
    con.print(
        "KPI statuses: "
        + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in STATUS_STYLE if counts.get(s, 0))
    )


def _print_summary(result: ComputeResult, project: Project) -> None:
    _print_scores(project, result.period, result.current)
    con = _console()
    con.print(f"data cut-off (as_of): {result.as_of:%Y-%m-%d %H:%M} UTC")
    for f in result.files:
        con.print(f"wrote {f}")


@cli.command("kpis")
@click.option("--history", is_flag=True, help="List each KPI's definition versions instead.")
@config_option
def kpis_cmd(history: bool, config: Path | None) -> None:
    """List the KPI catalogue."""
    project = load_project(config)
    if history:
        _print_kpi_history(project)
        return
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


def _print_kpi_history(project: Project) -> None:
    """Each KPI's definition versions: effective month, min n, rule and change note (DOMAIN.md §8)."""
    table = Table(title="KPI definition history", show_edge=False)
    for col in ("id", "v", "effective from", "min n", "rule", "change"):
        table.add_column(col)
    for k in project.kpis:
        for v, d in k.definitions():
            table.add_row(
                k.id,
                str(d.version),
                "–" if v is None else v.effective_from,
                "–" if d.min_n is None else str(d.min_n),
                d.rule() or "–",
                "" if v is None else v.change_note,
            )
    _console().print(table)


@cli.command("latest-period")
@config_option
def latest_period(config: Path | None) -> None:
    """Print the latest complete month of the data (YYYY-MM)."""
    from .sources import latest_complete_period, load

    click.echo(latest_complete_period(load(load_project(config))))


class _RunProgress:
    """Shows `reportlib run` events: a rich progress bar per node on a terminal, plain lines otherwise."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not self.live,
        )
        self.tasks: dict[str, object] = {}

    def __enter__(self) -> _RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def _line(self, text: str) -> None:
        if not self.live:
            self.console.print(text, markup=False, highlight=False)

    def __call__(self, e) -> None:  # e: run.RunEvent
        p = self.progress
        if e.kind == "scorecard-start":
            self.tasks["scorecard"] = p.add_task(
                "scorecard", total=1, status=f"computing ({e.detail})"
            )
            self._line(f"scorecard: computing ({e.detail})")
        elif e.kind == "scorecard-skipped":
            p.add_task("scorecard", total=1, completed=1, status="skipped: inputs unchanged")
            self._line(
                "scorecard: skipped, its inputs are unchanged since the last run (--force recomputes)"
            )
        elif e.kind == "scorecard-done":
            p.update(self.tasks["scorecard"], completed=1, status=f"done in {e.seconds:.1f}s")
            self._line(f"scorecard: done in {e.seconds:.1f}s")
        elif e.kind == "plan":
            self.tasks["packs"] = p.add_task("board packs", total=e.total, status=f"0/{e.total}")
            for node in e.nodes:
                self.tasks[node] = p.add_task(f"  {node}", total=1, status="queued", start=False)
            self._line(f"board packs: {e.total} to render")
        elif e.kind == "node-skipped":
            self._line(f"  {e.node} skipped: current")
        elif e.kind == "node-start":
            p.start_task(self.tasks[e.node])
            p.update(self.tasks[e.node], status="running")
        elif e.kind == "node-done":
            o = e.outcome
            ok = o.status == "done"
            status = f"done in {o.seconds:.1f}s" if ok else f"[red]FAILED[/] {o.failure.ename}"
            p.update(self.tasks[e.node], completed=1, status=status)
            p.stop_task(self.tasks[e.node])
            p.update(self.tasks["packs"], advance=1, status=f"{e.done}/{e.total}")
            if ok:
                self._line(f"[{e.done}/{e.total}] {e.node} done in {o.seconds:.1f}s")
            else:
                self._line(
                    f"[{e.done}/{e.total}] {e.node} FAILED after {o.seconds:.1f}s: {o.failure.describe()}"
                )


@cli.command("run")
@_period_option()
@click.option(
    "--node",
    "nodes",
    multiple=True,
    metavar="NODE",
    help="Only this node's pack (repeatable), e.g. enterprise/emea.",
)
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
@config_option
def run_cmd(
    period: str | None,
    nodes: tuple[str, ...],
    workers: int | None,
    force: bool,
    accept_quality: str | None,
    fresh_kernels: bool,
    config: Path | None,
) -> None:
    """Run the monthly job: scorecard.ipynb, then board_pack.ipynb for every node, in parallel."""
    from .errors import NotebookExecutionError
    from .run import run

    project = load_project(config)
    with _RunProgress(_console(stderr=True)) as progress:
        result = run(
            project,
            period,
            nodes=nodes or None,
            workers=workers,
            force=force,
            accept_quality=accept_quality,
            fresh_kernels=fresh_kernels,
            on_event=progress,
        )
    current = project.settings.period_dir(result.period) / "scorecard.parquet"
    if current.is_file():
        _print_scores(project, result.period, pd.read_parquet(current))
    con = _console()
    scorecard = (
        f"computed ({result.scorecard_reason}) in {result.scorecard_seconds:.1f}s"
        if result.scorecard == "done"
        else "skipped (inputs unchanged)"
    )
    counts = ", ".join(
        f"{result.count(s)} {s}" for s in ("done", "skipped", "failed") if result.count(s)
    )
    con.print(
        f"{periods.long_name(result.period)}: scorecard {scorecard}; board packs {counts or 'none'}"
        f" in {result.packs_seconds:.1f}s"
        + (
            f" on {result.workers} worker{'s' if result.workers != 1 else ''}"
            if result.workers
            else ""
        )
        + f"; total {result.seconds:.1f}s",
        markup=False,
    )
    for o in result.failed:
        con.print(f"FAILED {o.node}: {o.failure.describe()}", markup=False)
        con.print(f"  executed notebook: {o.executed}", markup=False)
    if result.stale_commentaries:
        con.print(
            "commentary written against earlier figures: " + ", ".join(result.stale_commentaries),
            markup=False,
        )
    con.print(f"wrote {result.manifest}", markup=False)
    if result.failed:
        names = ", ".join(o.node for o in result.failed)
        first = result.failed[0].error()
        raise NotebookExecutionError(
            f"{len(result.failed)} of {len(result.nodes)} board packs failed: {names}",
            **(first.context if first is not None else {}),
        )


@cli.command("validate")
@_period_option()
@config_option
@accept_quality_option
def validate_cmd(period: str | None, config: Path | None, accept_quality: str | None) -> None:
    """Apply the data-quality rules; write output/<period>/quality/; exit 2 if the gate fails."""
    from . import quality
    from .layout import PeriodOutput
    from .pipeline import validate

    project = load_project(config)
    checked, _files = validate(project, period, accept_quality)
    report = checked.report
    out = PeriodOutput(project.settings.output_path, report.period)
    grid = Table(title=f"Data quality {report.period} (as_of {report.as_of} UTC)", show_edge=False)
    for col, justify in (
        ("table", "left"),
        ("rows in", "right"),
        ("kept", "right"),
        ("quarantined", "right"),
        ("share", "right"),
        ("by rule", "left"),
    ):
        grid.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, t in tables.quality_table(report).iterrows():
        grid.add_row(
            str(name),
            f"{t['rows in']:,}",
            f"{t['kept']:,}",
            f"{t['quarantined']:,}",
            f"{t['share %']:.2f}%",
            t["by rule"],
        )
    con = _console()
    con.print(grid)
    _print_quality_notes(report, out.quality_dir)
    gate = report.gate
    if gate.passed:
        con.print(
            f"quality gate passed (max quarantined share {100 * gate.max_reject_share:g}% per table)"
        )
    elif gate.accepted:
        con.print(f"quality gate failed but accepted: {gate.reason}", markup=False)
    quality.enforce(report, out)


def _print_quality_notes(report: QualityReport | None, qdir: Path) -> None:
    """Quarantine counts, notes (ignored columns, encoding, rows after as_of) and where the files are."""
    if not report:
        return
    con = _console()
    quarantined = report.rows_quarantined
    for name, t in report.tables.items():
        for note in t.notes:
            con.print(f"note: {name}: {note}", markup=False)
    gate = report.gate
    outcome = (
        "passed"
        if gate.passed
        else f"failed, accepted: {gate.reason}"
        if gate.accepted
        else "FAILED"
    )
    rows = "row" if quarantined == 1 else "rows"
    con.print(
        f"data quality: {quarantined:,} {rows} quarantined; gate {outcome}; see {qdir}",
        markup=False,
    )


@cli.group()
def commentary() -> None:
    """Analysts' commentary files (data/commentary/<period>/<node>.md)."""


@commentary.command("draft")
@_period_option()
@click.option("--node", "nodes", multiple=True, help="Node id (repeatable; default: every node).")
@config_option
def commentary_draft(period: str, nodes: tuple[str, ...], config: Path | None) -> None:
    """Write a Markdown draft from the figures for each node without commentary; never overwrites."""
    from .commentary import path_for, write_drafts

    project = load_project(config)
    period = period or _latest_computed(project)
    written = write_drafts(project, period, list(nodes) or None)
    con = _console()
    for p in written:
        con.print(f"wrote {p}")
    kept = [n for n in nodes if path_for(project, period, n) not in written]
    for n in kept:
        con.print(f"kept {path_for(project, period, n)} (exists)")
    if not written:
        con.print("no drafts written: every node already has a commentary file")


def _latest_computed(project: Project) -> str:
    """The latest period with a computed scorecard under output/ (the default of draft and diff)."""
    from .errors import ConfigError

    out = project.settings.output_path
    latest = layout.OutputRoot(out).latest_computed()
    if latest is None:
        raise ConfigError(f"no computed scorecard under {out}: run `reportlib compute` first")
    return latest


@cli.command("diff")
@_period_option()
@config_option
def diff_cmd(period: str | None, config: Path | None) -> None:
    """Show how the last restatement changed the figures of a period (DOMAIN.md §8).

    The period defaults to the latest one computed in the output folder.
    """
    from . import layout, restate

    project = load_project(config)
    period = period or _latest_computed(project)
    changed = restate.last_diff(layout.checked(project.settings.output_path, period))
    if changed is None or changed.empty:
        click.echo("no restatement")
        return
    click.echo("node,kpi,old,new,delta")
    for r in changed.itertuples(index=False):
        cells = (r.node, r.kpi, r.old, r.new, r.delta)
        click.echo(",".join(_diff_cell(c) for c in cells))


def _diff_cell(c: object) -> str:
    if c is None or (isinstance(c, float) and pd.isna(c)):
        return ""
    return f"{c:.10g}" if isinstance(c, float) else str(c)


@cli.group("audit")
def audit_group() -> None:
    """The audit log output/audit.jsonl of manual values and overrides (DOMAIN.md §8)."""


@audit_group.command("verify")
@config_option
def audit_verify(config: Path | None) -> None:
    """Recompute the audit log's hash chain; exit 2 naming the first broken line."""
    from . import audit

    project = load_project(config)
    n = audit.check(audit.path(project.settings.output_path))
    click.echo(f"audit log intact ({n} entr{'y' if n == 1 else 'ies'})")


@cli.command("send")
@_period_option(required=True)
@click.option(
    "--dry-run", is_flag=True, help="Write each email to output/<period>/outbox/; send nothing."
)
@click.option(
    "--only", "only", multiple=True, metavar="EMAIL", help="Only this recipient (repeatable)."
)
@click.option("--resend", is_flag=True, help="Send even packs already delivered or changed since.")
@click.option(
    "--escalations",
    is_flag=True,
    help="Instead of the packs, email each KPI owner a list of their escalated KPIs.",
)
@config_option
def send_cmd(
    period: str | None,
    dry_run: bool,
    only: tuple[str, ...],
    resend: bool,
    escalations: bool,
    config: Path | None,
) -> None:
    """Email each recipient of data/distribution.yaml the board packs of their nodes."""
    from .deliver import send, send_escalations
    from .errors import ConfigError, DeliveryError

    if period is None:
        raise ConfigError("send needs --period YYYY-MM (not 'latest')")
    project = load_project(config)
    action = send_escalations if escalations else send
    result = action(project, period, dry_run=dry_run, only=only, resend=resend)
    con = _console()
    for o in result.outcomes:
        con.print(f"{o.status:<8} {o.email}: {o.detail}", markup=False)
    counts = ", ".join(
        f"{result.count(s)} {s}"
        for s in ("sent", "dry-run", "skipped", "changed", "failed")
        if result.count(s)
    )
    con.print(
        f"{periods.long_name(result.period)}: {len(result.outcomes)} recipients: {counts or 'none'}",
        markup=False,
    )
    if result.count("changed"):
        con.print(
            "some packs changed since they were sent: use --resend to send them", markup=False
        )
    con.print(f"{'outbox' if dry_run else 'log'}: {result.log}", markup=False)
    if result.failed:
        raise DeliveryError(
            f"{len(result.failed)} of {len(result.outcomes)} recipients failed: "
            + ", ".join(o.email for o in result.failed)
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="reportlib", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _console(stderr=True).print("interrupted")
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
