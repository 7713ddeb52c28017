"""The quality gate (DOMAIN.md §7): stop the run, or let it go on with a recorded reason.

A run stops when a table a configured KPI needs is empty or a table's quarantined share exceeds
`max_reject_share`, unless `--accept-quality "<reason>"` overrides it; the override and
its reason are recorded in the report. `send` refuses a run whose gate failed and was not
accepted (`require_sendable`).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path

from ..errors import QualityGateError, ReportlibError
from ..layout import PeriodOutput
from . import report as rpt
from .report import Gate, GateFailure, QualityReport, TableReport


def decide(
    tables: Mapping[str, TableReport],
    max_share: float,
    accept: str | None,
    needed: AbstractSet[str],
) -> Gate:
    """The gate of DOMAIN.md §7: an empty needed table, or a quarantined share above the limit.

    `needed` are the tables the configured KPIs read (`kpis.tables_needed`): an empty table
    no KPI reads stops nothing.
    """
    failures = []
    for name, t in tables.items():
        if t.rows_in == 0 and name in needed:
            failures.append(
                GateFailure(table=name, problem="empty", rows_in=0, rejected_file=t.rejected_file)
            )
        elif t.reject_share > max_share:
            failures.append(
                GateFailure(
                    table=name,
                    problem="reject_share",
                    rows_in=t.rows_in,
                    rows_quarantined=t.rows_quarantined,
                    reject_share=t.reject_share,
                    by_rule=t.by_rule,
                    rejected_file=t.rejected_file,
                )
            )
    reason = accept.strip() if accept and accept.strip() else None
    return Gate(
        passed=not failures,
        max_reject_share=max_share,
        accepted=bool(failures) and reason is not None,
        reason=reason,
        failures=tuple(failures),
    )


def message(report: QualityReport, out: PeriodOutput) -> str:
    """One line: which tables failed, how many rows (each once), the rule hits, where to look."""
    gate = report.gate
    parts = []
    for f in gate.failures:
        where = out.quality_dir / Path(f.rejected_file).name
        if f.problem == "empty":
            parts.append(f"{f.table} has no data rows")
            continue
        rules = ", ".join(f"{r} {n:,}" for r, n in (f.by_rule or {}).items())
        parts.append(
            f"{f.table}: {f.rows_quarantined or 0:,} of {f.rows_in:,} rows quarantined "
            f"({100 * (f.reject_share or 0.0):.1f}% > {100 * gate.max_reject_share:g}%; "
            f"rule hits: {rules}), "
            f"see {where}"
        )
    return (
        "data-quality gate failed: "
        + "; ".join(parts)
        + f'; report {out.quality_report}; to go on anyway pass --accept-quality "<reason>"'
    )


def enforce(report: QualityReport, out: PeriodOutput) -> None:
    """Raise QualityGateError when the gate failed and was not accepted (files already written)."""
    if report.gate.blocks:
        raise QualityGateError(message(report, out))


def require_sendable(out: PeriodOutput) -> QualityReport:
    """The gate of a computed period, for `send`: refused unless it passed or was accepted (§7)."""
    try:
        report = rpt.read(out)
    except ReportlibError as e:
        why = e.__cause__ or e  # the OS or JSON error itself; a newer schema says so in `e`
        raise QualityGateError(
            f"{out.quality_report}: no readable quality report, so the run cannot be sent ({why})"
        ) from e
    if report.gate.blocks:
        raise QualityGateError(
            f"the run failed the data-quality gate and cannot be sent: {message(report, out)}"
        )
    return report
