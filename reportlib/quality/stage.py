"""Validation of one load: every rule of DOMAIN.md §7 on every table, then the gate.

For each table in load order: the typed rows (`suspects.create_typed`), the identity
mapping's checks (`identity`), the suspects and their capture (`suspects`), the
rejection (`reject`, then `repeats` for surveys), the kept and dropped views, the
accounting (`accounting`). Then the gate (`gate`) and the typed report (`report`).
Nothing is written here; `report.write` writes the files.

Events after `as_of` are not quarantined (re-running an old period with its old
cut-off must not fail the gate): they are kept, counted under `notes` in the report,
and the KPI formulas ignore them (DOMAIN.md §1).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .. import kpis
from ..config import Project
from ..declaration import declared_columns
from ..sources import TABLES, Source, TableSpec, engine, out_of_range, table_specs
from . import accounting, gate, identity, names, reject, repeats, rules, suspects
from .report import NReduced, QualityReport, TableReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QualityResult:
    """Validation of one load: the kept rows, the rejected rows and the report (report.json)."""

    source: Source
    """The same tables with only the kept rows (customer ids canonical)."""
    quarantined: Source
    """The quarantined rows, typed, with the kept customers: what `n_reduced` counts."""
    report: QualityReport
    rejected: dict[str, pa.Table]
    """Per table, the rejected rows unchanged plus source_file, source_line, rule, detail."""

    @property
    def gate_failed(self) -> bool:
        """True when the gate found a problem and no --accept-quality reason overrides it."""
        return self.report.gate.blocks


def validate(
    project: Project, src: Source, period: str, accept_quality: str | None = None
) -> QualityResult:
    """Apply every rule of DOMAIN.md §7 to every table and decide the gate (nothing is written)."""
    qs = project.settings.quality
    levels = project.hierarchy.levels
    extra = declared_columns(project.kpis)  # the columns declared KPIs read, typed as on load
    specs = {
        s.name: src.specs.get(s.name, s)
        for s in table_specs(levels, extra=extra)
        if s.name in src.tables
    }
    tables: dict[str, TableReport] = {}
    rejected: dict[str, pa.Table] = {}
    kept: dict[str, Any] = {}
    dropped: dict[str, Any] = {}
    for name in TABLES:
        if name not in specs:
            continue
        spec = specs[name]
        rel = names.TableRelations(name)
        suspects.create_typed(src, spec)
        if name == identity.ALIASES:
            identity.check_ambiguous(src)
        ctx = rules.Context(
            table=name,
            key=rules.key_columns(name, spec.key, levels),
            settings=qs,
            has_aliases=identity.ALIASES in specs,
            finite=tuple(c.name for c in spec.columns if c.finite),
        )
        checks = rules.checks(ctx)
        walk = "repeat_response" in rules.sequence_rules(name)
        suspects.find(src, spec, ctx.key, checks, qs.dedupe_days if walk else 0)
        suspects.capture(src, spec)
        reject.rejections(src, name, checks)
        if walk:
            repeats.add_repeats(src, qs.dedupe_days)
        create_kept(src, name)
        engine.execute(
            src.con,
            f"CREATE OR REPLACE TEMP VIEW {rel.dropped} AS SELECT {dropped_columns(src, spec)} "
            f"FROM {rel.captured} WHERE {names.ROW} IN (SELECT {names.ROW} FROM {rel.rejections})",
        )
        if name == "customers":
            identity.keep_customers(src)
        if name == identity.ALIASES:
            identity.keep_aliases(src)
        kept[name] = src.con.table(rel.kept_name)
        # The customers table is the kept one for both: quarantined fact rows count against it.
        dropped[name] = src.con.table(rel.kept_name if name == "customers" else rel.dropped_name)
        tables[name], rejected[name] = accounting.account(project, src, spec)
        suspects.done(src)
    return concluded(project, src, period, accept_quality, tables, kept, dropped, rejected)


def concluded(
    project: Project,
    src: Source,
    period: str,
    accept_quality: str | None,
    tables: dict[str, TableReport],
    kept: dict[str, Any],
    dropped: dict[str, Any],
    rejected: dict[str, pa.Table],
    where: str = "",
) -> QualityResult:
    """The gate's decision over the tables' reports, and the load split into kept and
    quarantined rows; shared by the local validation and the warehouse's (`where` says which)."""
    needed = kpis.tables_needed(project.kpis)
    decided = gate.decide(tables, project.settings.quality.max_reject_share, accept_quality, needed)
    report = QualityReport(
        period=period,
        as_of=src.as_of.isoformat(timespec="seconds"),
        gate=decided,
        tables=tables,
    )
    log.info(
        "quality%s: %s; gate %s",
        where,
        ", ".join(f"{t} {r.rows_quarantined}/{r.rows_in}" for t, r in tables.items()),
        decided.outcome,
    )
    return QualityResult(
        source=dataclasses.replace(src, tables={**src.tables, **kept}),
        quarantined=dataclasses.replace(src, tables={**src.tables, **dropped}),
        report=report,
        rejected=rejected,
    )


def create_kept(src: Source, name: str) -> None:
    """The view `kept_<t>`: the typed rows that were not rejected, ids resolved.

    Every later pass (measures, reconciliation, declared KPIs) reads it, so it is one join
    on the row number: for a fact table, with `q_fix_<t>`, the few rows either rejected or
    whose id resolves to another (`q_ids_<t>`); for the others, an anti join on the rejections.
    """
    rel = names.TableRelations(name)
    cols = [engine.quote(c) for c in src.tables[name].columns]
    row = names.ROW
    if name not in rules.FACTS:
        engine.execute(
            src.con,
            f"CREATE OR REPLACE TEMP VIEW {rel.kept} AS SELECT {', '.join(cols)} FROM {rel.typed} a "
            f"ANTI JOIN {rel.rejections} r ON r.{row} = a.{row}",
        )
        return
    engine.execute(
        src.con,
        f"CREATE OR REPLACE TEMP TABLE {rel.fixes} AS SELECT coalesce(i.{row}, r.{row}) AS {row}, "
        f"i.canonical, r.{row} IS NOT NULL AS __rejected FROM {rel.ids} i "
        f"FULL OUTER JOIN (SELECT DISTINCT {row} FROM {rel.rejections}) r ON r.{row} = i.{row}",
    )
    resolved = "coalesce(f.canonical, a.customer_id) AS customer_id"
    select = ", ".join(resolved if c == '"customer_id"' else f"a.{c}" for c in cols)
    engine.execute(
        src.con,
        f"CREATE OR REPLACE TEMP VIEW {rel.kept} AS SELECT {select} FROM {rel.base} a "
        f"LEFT JOIN {rel.fixes} f ON f.{row} = a.{row} WHERE f.__rejected IS NOT TRUE",
    )


def dropped_columns(src: Source, spec: TableSpec) -> str:
    """The SELECT list of `dropped_<t>`: the typed columns, a non-finite number as NULL.

    The quarantined rows are counted for `n_reduced` by the same measures as the kept
    ones; a value that broke non_finite (DOMAIN.md §7) would make those sums fail or be
    infinite, and only the row counts matter there.
    """
    finite = {c.name for c in spec.columns if c.finite}
    return ", ".join(
        f"CASE WHEN NOT coalesce({out_of_range(engine.quote(c))}, false) THEN {engine.quote(c)} "
        f"END AS {engine.quote(c)}"
        if c in finite
        else engine.quote(c)
        for c in src.tables[spec.name].columns
    )


def with_n_reduced(result: QualityResult, entries: list[NReduced]) -> QualityResult:
    """The same result with `n_reduced` filled in."""
    return dataclasses.replace(
        result, report=dataclasses.replace(result.report, n_reduced=tuple(entries))
    )
