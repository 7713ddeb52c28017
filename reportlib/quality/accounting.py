"""Accounting (DOMAIN.md §7): for every table, rows in = rows kept + rows quarantined.

`account` counts a table's rows three independent ways (the file, the rows not
quarantined, the quarantine) and refuses to go on when they do not add up; it counts
rule hits per rule and says what is worth saying that is not a rejection (ignored
columns, the encoding, rows after the cut-off). `n_reduced` finds the KPIs whose n the
quarantine cut noticeably, for a footnote in the pack.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..config import Project
from ..errors import QualityGateError
from ..sources import Source, TableSpec, encoding_note, engine, raw_view, typed_view
from . import names, reject
from .report import NReduced, TableReport, rejected_file
from .rules import rule_ids
from .suspects import numbered

N_REDUCED_SHARE = 0.10
"""A KPI whose n the quarantine reduced by more than this share is footnoted in the pack."""

NOT_ROW_COUNTS = frozenset({"nrr", "logo_retention"})
"""KPIs whose n counts customers (a cohort, the active base), not rows: no n_reduced for them."""

DEFINING = {"survey_responses": "responded_at", "tickets": "opened_at", "revenue": "invoice_date"}
"""The timestamp that places a row in time (DOMAIN.md §1), for the rows-after-as_of note."""


def relative(project: Project, path: str) -> str:
    """A file as the report names it: relative to the project root when inside it."""
    try:
        return Path(path).resolve().relative_to(project.settings.root).as_posix()
    except (ValueError, OSError):
        return path


def account(project: Project, src: Source, spec: TableSpec) -> tuple[TableReport, pa.Table]:
    """Per-table counts and the rejected rows; refuses to go on unless in = kept + quarantined."""
    name = spec.name
    rel = names.TableRelations(name)
    rej = rel.rejections
    con = src.con
    rows_in = int(engine.scalar(con, f"SELECT count(*) FROM {engine.quote(raw_view(name))}"))
    # Kept rows are counted apart from the quarantine: every row of the file whose number is
    # not quarantined. kept_<t> is those rows with one LEFT JOIN on a unique id (checked in
    # identity.keep_aliases), so it holds the same number of rows without being scanned again.
    kept = int(
        engine.scalar(
            con,
            f"SELECT count(*) FROM {numbered(src, name)} n ANTI JOIN {rej} q "
            f"ON q.{names.ROW} = n.{names.ROW}",
        )
    )
    late = _late_rows(src, name)
    quarantined, distinct = engine.row(
        con, f"SELECT count(*), count(DISTINCT {names.ROW}) FROM {rej}"
    )
    if not rows_in == kept + quarantined or quarantined != distinct:
        raise QualityGateError(
            f"quality accounting does not add up for {name}: {rows_in} rows in, {kept} kept, "
            f"{quarantined} quarantined ({distinct} distinct rows); refusing to continue"
        )
    hits = dict(
        engine.rows(
            con,
            f"SELECT r, count(*) FROM (SELECT unnest(string_split(rule, ';')) AS r FROM {rej}) "
            "GROUP BY r",
        )
    )
    by_rule = {r: int(hits[r]) for r in rule_ids() if r in hits}
    shown = relative(project, src.files[name])
    rows = (
        reject.rejected_rows(src, name, rows_in, shown)
        if quarantined
        else reject.empty_rejected(src, name)
    )
    if rows.num_rows != quarantined:
        raise QualityGateError(
            f"quality accounting does not add up for {name}: {quarantined} rows quarantined but "
            f"{rows.num_rows} listed for the quarantine file; refusing to continue"
        )
    report = table_report(name, shown, rows_in, kept, quarantined, by_rule, notes(src, spec, late))
    return report, rows


def table_report(
    name: str,
    shown: str,
    rows_in: int,
    kept: int,
    quarantined: int,
    by_rule: dict[str, int],
    said: tuple[str, ...],
) -> TableReport:
    """A table's report once its counts added up (in = kept + quarantined, checked by the caller)."""
    return TableReport(
        file=shown,
        rows_in=rows_in,
        rows_kept=kept,
        rows_quarantined=quarantined,
        by_rule=by_rule,
        reject_share=round(quarantined / rows_in, 6) if rows_in else 0.0,
        rejected_file=rejected_file(name),
        in_equals_kept_plus_quarantined=True,
        notes=said,
    )


def _late_rows(src: Source, name: str) -> int:
    """Kept rows whose defining timestamp is after the cut-off (DOMAIN.md §1)."""
    if name not in DEFINING:
        return 0
    rel = names.TableRelations(name)
    as_of = engine.timestamp(src.as_of)
    cut = f"CAST({as_of} AS DATE)" if name == "revenue" else as_of
    col = engine.quote(DEFINING[name])
    every = engine.scalar(
        src.con, f"SELECT count(*) FROM {engine.quote(typed_view(name))} WHERE {col} > {cut}"
    )
    rejected = engine.scalar(
        src.con,
        f"SELECT count(*) FROM {rel.captured} SEMI JOIN {rel.rejections} USING ({names.ROW}) "
        f"WHERE {col} > {cut}",
    )
    return int(every) - int(rejected)


def notes(src: Source, spec: TableSpec, late: int) -> tuple[str, ...]:
    """Things worth saying that are not rejections: ignored columns, encoding, rows after as_of."""
    name = spec.name
    out = []
    known = {c.name for c in spec.columns}
    extra = [c for c in src.raw[name].columns if c not in known]
    if extra:
        out.append(f"column(s) {', '.join(extra)} not used by reportlib: ignored")
    read_as = encoding_note(src.encodings.get(name, "utf-8"))
    if read_as:
        out.append(read_as)
    if late:
        out.append(
            f"{late:,} row(s) with {DEFINING[name]} after the cut-off as_of "
            f"{src.as_of:%Y-%m-%d %H:%M:%S} UTC: kept, but no KPI counts them"
        )
    return tuple(out)


def n_reduced(
    kept: Mapping[str, pd.DataFrame],
    dropped: Mapping[str, pd.DataFrame],
    month: int,
    threshold: float = N_REDUCED_SHARE,
) -> list[NReduced]:
    """KPIs whose n in `month` the quarantine cut by more than `threshold`, per node.

    `kept` are the KPI values of the kept rows, `dropped` the same formulas over the
    quarantined rows alone; n counts rows, so all parseable rows give n_kept + n_dropped.
    KPIs whose n counts customers rather than rows (NOT_ROW_COUNTS) are left out.
    """
    out = []
    for kpi, frame in kept.items():
        if kpi not in dropped or kpi in NOT_ROW_COUNTS:
            continue
        try:
            now = frame.xs(month, level="month")["n"].fillna(0.0)
            lost = dropped[kpi].xs(month, level="month")["n"].fillna(0.0)
        except KeyError:
            continue
        for node, n_lost in lost.items():
            n_kept = float(now.get(node, 0.0))
            total = n_kept + float(n_lost)
            if n_lost > 0 and total > 0 and n_lost / total > threshold:
                out.append(
                    NReduced(
                        node=str(node),
                        kpi=kpi,
                        share=round(float(n_lost) / total, 4),
                        n=n_kept,
                        n_all=total,
                    )
                )
    return out
