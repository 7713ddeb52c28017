"""The `--json` summaries of `run`, `validate` and `send`: one JSON object per command line.

A scheduler (cron mail, a systemd journal, an Airflow task) wants a result it can parse
rather than a table to read. With `--json` a command prints exactly one object on stdout
and nothing else there; what it would have printed for a person goes to stderr. Every
object has the keys `command`, `period`, `exit_code` and `error` (null on success, else
the one-line message also printed on stderr); the others are per command and listed in
docs/operations.md. Paths are strings; counts are integers; lists keep the run's order.

The functions here only build plain dicts from the records the package returns; `keep`
hands one to `main`, which adds `exit_code` and `error` and prints it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pandas as pd

from .. import tables

if TYPE_CHECKING:
    from ..config import Project
    from ..deliver import SendResult
    from ..quality import QualityReport
    from ..run import RunResult

SUMMARY_KEY = "summary"
"""Where a command leaves its summary in the click context's `obj` (a dict `main` owns)."""

KPI_STATUSES = ("green", "amber", "red", "insufficient", "no-target", "no-data")
SEND_STATUSES = ("sent", "dry-run", "skipped", "changed", "unknown", "failed")


def keep(summary: dict[str, Any]) -> None:
    """Leave `summary` for `main` to print (also when the command then raises)."""
    ctx = click.get_current_context()
    if isinstance(ctx.obj, dict):
        ctx.obj[SUMMARY_KEY] = summary


def dumps(summary: dict[str, Any]) -> str:
    """The summary as one line of JSON (paths and other objects as strings)."""
    return json.dumps(summary, default=str, ensure_ascii=False, sort_keys=False)


def scorecard_counts(current: pd.DataFrame) -> dict[str, int]:
    """How many KPI rows (node × KPI, scores left out) have each status, every status listed."""
    kpi_rows = current[~current["kpi"].astype(str).str.startswith("score:")]
    counts = kpi_rows["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in KPI_STATUSES}


def node_statuses(project: Project, current: pd.DataFrame) -> dict[str, str]:
    """Each node's overall status (green, amber, red, no-data, ...), in the scorecard's order."""
    summary = tables.summary_by_node(project, current)
    return {str(node): str(status) for node, status in summary["status"].items()}


def run(
    result: RunResult, project: Project, current: pd.DataFrame | None, *, sandbox: bool
) -> dict[str, Any]:
    """`run --json`: the scorecard step, the packs by outcome, the figures' statuses, the files."""
    written: list[Path] = []
    if result.scorecard == "done":
        from ..layout import PeriodOutput

        out = PeriodOutput(project.settings.output_path, result.period)
        written += [out.scorecard_notebook, *out.scorecard_files]
    for o in result.nodes:
        if o.status != "skipped":
            written += [p for p in (o.pdf, o.executed) if p.is_file()]
    written.append(result.manifest)
    return {
        "command": "run",
        "period": result.period,
        "output_dir": str(project.settings.output_path),
        "sandbox": sandbox,
        "scorecard": {
            "status": result.scorecard,
            "reason": result.scorecard_reason,
            "seconds": round(result.scorecard_seconds, 3),
        },
        "nodes": {
            status: [o.node for o in result.nodes if o.status == status]
            for status in ("done", "skipped", "failed")
        },
        "failures": {
            o.node: o.failure.describe() if o.failure is not None else "failed"
            for o in result.failed
        },
        "counts": scorecard_counts(current) if current is not None else {},
        "statuses": node_statuses(project, current) if current is not None else {},
        "stale_commentaries": list(result.stale_commentaries),
        "files": [str(p) for p in written],
        "manifest": str(result.manifest),
        "seconds": round(result.seconds, 3),
    }


def validate(report: QualityReport, files: tuple[Path, ...], *, sandbox: bool) -> dict[str, Any]:
    """`validate --json`: rows per table, the gate's outcome and the quality files written."""
    gate = report.gate
    return {
        "command": "validate",
        "period": report.period,
        "as_of": report.as_of,
        "sandbox": sandbox,
        "gate": gate.outcome,
        "reason": gate.reason,
        "counts": {
            "rows_in": sum(t.rows_in for t in report.tables.values()),
            "rows_kept": sum(t.rows_kept for t in report.tables.values()),
            "rows_quarantined": report.rows_quarantined,
        },
        "tables": {
            name: {
                "file": t.file,
                "rows_in": t.rows_in,
                "rows_kept": t.rows_kept,
                "rows_quarantined": t.rows_quarantined,
                "by_rule": dict(t.by_rule),
            }
            for name, t in report.tables.items()
        },
        "failures": [f.table for f in gate.failures],
        "files": [str(p) for p in files],
    }


def send(result: SendResult) -> dict[str, Any]:
    """`send --json`: every recipient's outcome, the counts by status, the log or outbox."""
    return {
        "command": "send",
        "period": result.period,
        "dry_run": result.dry_run,
        "counts": {s: result.count(s) for s in SEND_STATUSES},
        "deliveries": {
            s: [o.email for o in result.outcomes if o.status == s] for s in SEND_STATUSES
        },
        "recipients": [
            {"email": o.email, "status": o.status, "detail": o.detail, "emails": o.emails}
            for o in result.outcomes
        ],
        "log": str(result.log),
    }
