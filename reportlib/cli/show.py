"""What the commands print: tables and summary lines, built from the same records the
notebooks use (`reportlib.tables`). Every function here prints and returns nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich.table import Table

from .. import periods, tables
from ..config import Project
from .options import console

if TYPE_CHECKING:
    from ..deliver import SendResult
    from ..pipeline import ComputeResult
    from ..quality import QualityReport
    from ..run import RunResult
    from ..sample import SampleReport

STATUS_STYLE = {
    "green": "green",
    "amber": "yellow",
    "red": "red",
    "insufficient": "dim",
    "no-target": "dim",
    "no-data": "dim",
}


def fmt_score(x: float) -> str:
    return "–" if x != x else f"{x:.1f}"


def scores(project: Project, period: str, current: pd.DataFrame) -> None:
    """Nodes × perspective scores and overall status, then the count of KPI statuses."""
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
        st = r["status"]
        indent = "" if node_id == "all" else "  " * (str(node_id).count("/") + 1)
        table.add_row(
            indent + str(node_id),
            *(fmt_score(r[p.name]) for p in persp),
            fmt_score(r[tables.OVERALL]),
            f"[{STATUS_STYLE[st]}]{st}[/]",
        )
    con = console()
    con.print(table)
    kpi_rows = current[~current["kpi"].str.startswith("score:")]
    counts = kpi_rows["status"].value_counts()
    con.print(
        "KPI statuses: "
        + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in STATUS_STYLE if counts.get(s, 0))
    )


def compute_summary(result: ComputeResult, project: Project, quality_dir: Path) -> None:
    """`compute`: the scores, the cut-off, the files written and the quality line."""
    scores(project, result.period, result.current)
    con = console()
    con.print(f"data cut-off (as_of): {result.as_of:%Y-%m-%d %H:%M} UTC")
    for f in result.files:
        con.print(f"wrote {f}")
    quality_notes(result.quality, quality_dir)


def sample_report(report: SampleReport) -> None:
    con = console()
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


def kpi_catalogue(project: Project) -> None:
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
    console().print(table)


def kpi_history(project: Project) -> None:
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
    console().print(table)


def quality(report: QualityReport, quality_dir: Path) -> None:
    """`validate`: rows in / kept / quarantined per table, the notes and the gate's outcome."""
    grid = Table(title=f"Data quality {report.period} (as_of {report.as_of} UTC)", show_edge=False)
    for col, right in (
        ("table", False),
        ("rows in", True),
        ("kept", True),
        ("quarantined rows", True),
        ("share", True),
        ("rule hits (a row may break several rules)", False),
    ):
        grid.add_column(col, justify="right" if right else "left")
    for name, t in tables.quality_table(report).iterrows():
        grid.add_row(
            str(name),
            f"{t['rows in']:,}",
            f"{t['kept']:,}",
            f"{t['quarantined']:,}",
            f"{t['share %']:.2f}%",
            t["rule hits"],
        )
    con = console()
    con.print(grid)
    quality_notes(report, quality_dir)
    gate = report.gate
    if gate.passed:
        con.print(
            f"quality gate passed (max quarantined share {100 * gate.max_reject_share:g}% per table)"
        )
    elif gate.accepted:
        con.print(f"quality gate failed but accepted: {gate.reason}", markup=False)


def quality_notes(report: QualityReport | None, quality_dir: Path) -> None:
    """Quarantine counts, notes (ignored columns, encoding, rows after as_of) and where the files are."""
    if not report:
        return
    con = console()
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
    hits = sum(t.rule_hits for t in report.tables.values())
    con.print(
        f"data quality: {quarantined:,} {rows} quarantined ({hits:,} rule "
        f"hit{'' if hits == 1 else 's'}); gate {outcome}; see {quality_dir}",
        markup=False,
    )


def run_summary(result: RunResult) -> None:
    """`run`: what the scorecard step and the packs did, the failures, stale commentary."""
    con = console()
    scorecard = (
        f"computed ({result.scorecard_reason}) in {result.scorecard_seconds:.1f}s"
        if result.scorecard == "done"
        else "skipped (inputs unchanged)"
    )
    counts = ", ".join(
        f"{result.count(s)} {s}" for s in ("done", "skipped", "failed") if result.count(s)
    )
    workers = (
        f" on {result.workers} worker{'s' if result.workers != 1 else ''}" if result.workers else ""
    )
    con.print(
        f"{periods.long_name(result.period)}: scorecard {scorecard}; board packs {counts or 'none'}"
        f" in {result.packs_seconds:.1f}s{workers}; total {result.seconds:.1f}s",
        markup=False,
    )
    for o in result.failed:
        what = o.failure.describe() if o.failure is not None else "failed"
        con.print(f"FAILED {o.node}: {what}", markup=False)
        con.print(f"  executed notebook: {o.executed}", markup=False)
    if result.stale_commentaries:
        con.print(
            "commentary written against earlier figures: " + ", ".join(result.stale_commentaries),
            markup=False,
        )
    con.print(f"wrote {result.manifest}", markup=False)


def send_summary(result: SendResult, dry_run: bool) -> None:
    """`send`: one line per recipient, the counts, and where the log or outbox is."""
    con = console()
    for o in result.outcomes:
        con.print(f"{o.status:<8} {o.email}: {o.detail}", markup=False)
    counts = ", ".join(
        f"{result.count(s)} {s}"
        for s in ("sent", "dry-run", "skipped", "changed", "unknown", "failed")
        if result.count(s)
    )
    con.print(
        f"{periods.long_name(result.period)}: {len(result.outcomes)} recipients: {counts or 'none'}",
        markup=False,
    )
    if result.count("unknown"):
        con.print(
            "unknown: the server may have received these emails and they are not sent again on "
            "their own; check with the recipient or the mail server, then "
            "`reportlib send --resend --only EMAIL`",
            markup=False,
        )
    if result.count("changed"):
        con.print(
            "some packs changed since they were sent: use --resend to send them", markup=False
        )
    con.print(f"{'outbox' if dry_run else 'log'}: {result.log}", markup=False)


def diff_cell(c: object) -> str:
    """A cell of `reportlib diff`'s CSV: empty for missing, 10 significant digits for floats."""
    if c is None or (isinstance(c, float) and pd.isna(c)):
        return ""
    return f"{c:.10g}" if isinstance(c, float) else str(c)
