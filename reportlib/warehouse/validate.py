"""The quality rules of DOMAIN.md §7 run on the warehouse; only the flagged rows come back.

One rule catalogue serves both paths (`quality.rules`): each rule's `when` condition is
DuckDB SQL over named columns, which Ibis compiles for the warehouse's engine
(`Table.sql(..., dialect="duckdb")`, through SQLGlot; `backend.portable` rewrites the one
DuckDB-only function). Per table, in load order:

1. `prepared`: the typed rows on the warehouse, numbered (`tables.ordinal`), the values
   as text beside them (`__raw_<i>`), customer ids resolved through the kept customers
   and aliases; computed once into a session-private temporary table
   (`backend.materialised`), so the numbering window runs once per table;
2. `suspects`: one query in the warehouse returns the rows some rule flags, every row of
   a repeated key, and (surveys) the responses within the dedupe window of a neighbour
   of the same customer and survey: a few percent of the rows, which are fetched;
3. locally, in the embedded DuckDB, on those rows only: the same rejection
   (`quality.reject`), details and repeat_response walk (`quality.repeats`) as for files;
4. the rejected row numbers go back as a small table: the kept rows are the prepared
   rows without them, materialised once more (the measures and the reconciliation read
   that temporary table); the dropped rows are the others (a lazy semi join);
5. accounting: rows in and rows kept counted in the warehouse, quarantined locally;
   they must add up (DOMAIN.md §7).

Nothing is written to the warehouse's schemas: the prepared rows, the kept rows and the
small table of row numbers are session-private temporary tables (PostgreSQL, DuckDB) or
temporary views (Spark, cached), gone with the connection.
"""

from __future__ import annotations

import logging

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from ..config import Project
from ..errors import DataError, QualityGateError
from ..quality import QualityResult, accounting, names, reject, repeats, rules
from ..quality.identity import ALIASES
from ..quality.report import TableReport
from ..quality.stage import concluded
from ..sources import FINITE_LIMIT, TABLES, Source, TableSpec, engine
from . import backend, tables
from .tables import ROW

log = logging.getLogger(__name__)

FIRST, KNOWN, NEAR = rules.FIRST_KEPT, rules.KNOWN_ID, "__near"
"""Columns the suspects query adds: a repeated key's first row, the kept customer id, a
response within the dedupe window of a neighbour."""

ROW_IDS = "__q_rows"


def row_ids(src: Source, name: str) -> ir.Table:
    """The rejected row numbers of a table, sent to the warehouse as a session-private table."""
    rel = names.TableRelations(name)
    ids = engine.arrow(src.con, f"SELECT CAST({ROW} AS BIGINT) AS {ROW} FROM {rel.rejections}")
    assert src.remote is not None
    return backend.temporary(src.remote, f"{ROW_IDS}_{name}", ids)


def number_column(column: str) -> str:
    """The unquoted name of `names.number(column)` (a finite column read as a DOUBLE)."""
    return names.number(column)[1:-1].replace('""', '"')


def prepared(
    src: Source, spec: TableSpec, key: tuple[str, ...], resolve: ir.Table | None
) -> ir.Table:
    """The typed rows of a table on the warehouse, numbered, with their text and resolved ids."""
    name = spec.name
    raw = src.remote_raw.get(name, src.raw[name])
    assert src.remote_kind is not None
    cols = tables.typed_columns(raw, spec, src.remote_kind, src.timezone)
    text = {f"__raw_{i}": raw[c].cast("string") for i, c in enumerate(src.raw[name].columns)}
    numbers = {
        number_column(c.name): cols[c.name].cast("float64") for c in spec.columns if c.finite
    }
    position = {tables.POSITION: raw[tables.POSITION]} if tables.POSITION in raw.columns else {}
    t = raw.select(**cols, **text, **numbers, **position)
    if name == "survey_responses":
        known = list(rules.SCALES)
        t = t.mutate(survey=t.survey.isin(known).ifelse(t.survey, t.survey.strip().lower()))
    t = tables.ordinal(t, spec, key)
    if position:
        t = t.drop(tables.POSITION)
    if name in rules.FACTS and resolve is not None:
        j = t.left_join(resolve, t.customer_id == resolve.id)
        t = j.mutate(
            customer_id=ibis.coalesce(j.canonical, j.customer_id),
            __resolved=j.canonical.notnull(),
        ).drop("id", "canonical")
    return t


def suspects(
    a: ir.Table,
    key: tuple[str, ...],
    checks: list[rules.Check],
    known: ir.Table | None,
    dedupe_days: int,
) -> pa.Table:
    """Fetch the rows a rule flags, every row of a repeated key, and the repeat candidates."""
    j = a
    wanted = [f"coalesce({' OR '.join(f'({c.when})' for c in checks) or 'false'}, false)"]
    if key:
        # A window per key rather than a join on it: NULLs in a key (workforce levels) fall
        # in one partition, as the grouping of the embedded path does, with no nested loop.
        w = ibis.window(group_by=[a[k] for k in key])
        repeated = a[ROW].count().over(w) > 1
        j = j.mutate(**{FIRST: repeated.ifelse(a[ROW].min().over(w), ibis.null().cast("int64"))})
        wanted.append(f"{FIRST} IS NOT NULL")
    else:
        j = j.mutate(**{FIRST: ibis.null().cast("int64")})
    if known is not None:
        k = known.select(**{KNOWN: known.customer_id}).distinct()
        j = j.left_join(k, j.customer_id == k[KNOWN])
    else:
        j = j.mutate(**{KNOWN: ibis.null().cast("string")})
    if dedupe_days > 0:
        w = ibis.window(group_by=[j.customer_id, j.survey], order_by=[j.responded_at, j[ROW]])
        span = ibis.interval(days=int(dedupe_days))
        t = j.responded_at
        near = (t < t.lag().over(w) + span) | (t.lead().over(w) < t + span)
        j = j.mutate(**{NEAR: near})
        wanted.append(f"coalesce({NEAR}, false)")
    sql = backend.portable(f"SELECT * FROM a WHERE {' OR '.join(wanted)}")
    return j.alias("a").sql(sql, dialect="duckdb").to_pyarrow()


def capture(src: Source, name: str, fetched: pa.Table) -> None:
    """The fetched rows as the local `q_all_<t>`, and the kept customer ids they use as `q_known`."""
    rel = names.TableRelations(name)
    helpers = [c for c in (FIRST, KNOWN, NEAR) if c in fetched.column_names]
    score = (
        ", CASE WHEN score IS NULL THEN NULL WHEN isfinite(score) AND score = round(score) "
        "THEN CAST(CAST(score AS BIGINT) AS VARCHAR) ELSE CAST(score AS VARCHAR) END AS __score_text"
        if name == "survey_responses"
        else ""
    )
    with engine.registered(src.con, "__fetched", fetched):
        engine.execute(
            src.con,
            f"CREATE OR REPLACE TEMP TABLE {rel.captured} AS SELECT * EXCLUDE "
            f"({', '.join(helpers)}){score} FROM __fetched",
        )
        engine.execute(
            src.con,
            f"CREATE OR REPLACE TEMP TABLE {names.KNOWN} AS SELECT DISTINCT {KNOWN} AS customer_id "
            f"FROM __fetched WHERE {KNOWN} IS NOT NULL",
        )


def check_ambiguous(a: ir.Table, known: ir.Table, where: str) -> None:
    """One external id mapped to two customers (or to another customer's own id): DataError."""
    g = a.group_by("external_id").aggregate(
        n=a.customer_id.nunique(), lo=a.customer_id.min(), hi=a.customer_id.max(), at=a[ROW].min()
    )
    g = g.filter(g.n > 1)
    found = g.order_by("at").limit(1).to_pyarrow().to_pylist()
    if found:
        more = int(g.count().execute()) - 1
        row = found[0]
        tail = f" (and {more} more external ids)" if more else ""
        raise DataError(
            f"ambiguous identity mapping: external id {row['external_id']!r} maps to customers "
            f"{row['lo']!r} and {row['hi']!r}{tail}",
            file=where,
            column="external_id",
        )
    ids = known.select(__id=known.customer_id)
    s = a.inner_join(ids, a.external_id == ids["__id"])
    s = s.filter(s.customer_id != s.external_id).order_by(ROW).limit(1)
    shadow = s.select("external_id", "customer_id").to_pyarrow().to_pylist()
    if shadow:
        raise DataError(
            f"ambiguous identity mapping: external id {shadow[0]['external_id']!r} maps to "
            f"customer {shadow[0]['customer_id']!r} but is itself the id of another customer",
            file=where,
            column="external_id",
        )


def dropped_columns(t: ir.Table, spec: TableSpec, columns: list[str]) -> dict[str, ir.Value]:
    """The typed columns of dropped rows, a non-finite number as NULL (as `quality.stage` does)."""
    finite = {c.name for c in spec.columns if c.finite}
    out: dict[str, ir.Value] = {}
    for c in columns:
        if c in finite:
            x = t[c].cast("float64")
            out[c] = (x.abs() <= FINITE_LIMIT).ifelse(t[c], ibis.null().cast(t[c].type()))
        else:
            out[c] = t[c]
    return out


def account(
    project: Project, src: Source, spec: TableSpec, kept: ir.Table
) -> tuple[TableReport, pa.Table]:
    """Rows in and kept counted on the warehouse, quarantined locally: they must add up."""
    name = spec.name
    rej = names.TableRelations(name).rejections
    rows_in = int(src.raw[name].count().execute())
    kept_n = int(kept.count().execute())
    quarantined, distinct = engine.row(
        src.con, f"SELECT count(*), count(DISTINCT {ROW}) FROM {rej}"
    )
    if rows_in != kept_n + quarantined or quarantined != distinct:
        raise QualityGateError(
            f"quality accounting does not add up for {name}: {rows_in} rows in, {kept_n} kept, "
            f"{quarantined} quarantined ({distinct} distinct rows); refusing to continue"
        )
    hits = dict(
        engine.rows(
            src.con,
            f"SELECT r, count(*) FROM (SELECT unnest(string_split(rule, ';')) AS r FROM {rej}) "
            "GROUP BY r",
        )
    )
    by_rule = {r: int(hits[r]) for r in rules.rule_ids() if r in hits}
    shown = accounting.relative(project, src.files[name])
    rows = (
        reject.rejected_rows(src, name, rows_in, shown)
        if quarantined
        else empty_rejected(src, name)
    )
    said = accounting.notes(src, spec, _late(src, name, kept))
    report = accounting.table_report(name, shown, rows_in, kept_n, quarantined, by_rule, said)
    return report, rows


def empty_rejected(src: Source, name: str) -> pa.Table:
    """No rejected rows, with the columns a quarantine file of this table has."""
    cols = [(src.as_read(name, c), pa.string()) for c in src.raw[name].columns]
    more = [
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("rule", pa.string()),
        ("detail", pa.string()),
    ]
    return pa.schema(cols + more).empty_table()


def _late(src: Source, name: str, kept: ir.Table) -> int:
    """Kept rows whose defining timestamp is after the cut-off (DOMAIN.md §1)."""
    col = accounting.DEFINING.get(name)
    if col is None:
        return 0
    cut = ibis.literal(src.as_of.date() if name == "revenue" else src.as_of)
    return int(kept.filter(kept[col] > cut).count().execute())


def validate(
    project: Project, src: Source, period: str, accept_quality: str | None = None
) -> QualityResult:
    """Every rule of DOMAIN.md §7 on every table of a warehouse source, and the gate."""
    qs = project.settings.quality
    levels = project.hierarchy.levels
    reports: dict[str, TableReport] = {}
    rejected: dict[str, pa.Table] = {}
    kept: dict[str, ir.Table] = {}
    dropped: dict[str, ir.Table] = {}
    known: ir.Table | None = None
    resolve: ir.Table | None = None
    for name in TABLES:
        if name not in src.tables:
            continue
        spec = src.specs[name]
        key = rules.key_columns(name, spec.key, levels)
        ctx = rules.Context(
            table=name,
            key=key,
            settings=qs,
            has_aliases=ALIASES in src.tables,
            finite=tuple(c.name for c in spec.columns if c.finite),
        )
        checks = rules.checks(ctx)
        walk = "repeat_response" in rules.sequence_rules(name) and qs.dedupe_days > 0
        assert src.remote is not None
        a = backend.materialised(src.remote, prepared(src, spec, key, resolve))
        if name == ALIASES and known is not None:
            check_ambiguous(a, known, src.files[name])
        with_known = name in rules.FACTS or name == ALIASES
        fetched = suspects(
            a, key, checks, known if with_known else None, qs.dedupe_days if walk else 0
        )
        log.info("%s: %d suspect row(s) fetched from the warehouse", name, fetched.num_rows)
        capture(src, name, fetched)
        reject.rejections(src, name, checks)
        if walk:
            repeats.add_repeats(src, qs.dedupe_days)
        ids = row_ids(src, name)
        columns = list(src.tables[name].columns)
        kept[name] = backend.materialised(src.remote, a.anti_join(ids, ROW).select(*columns))
        dropped[name] = (
            kept[name]
            if name == "customers"
            else a.semi_join(ids, ROW).select(**dropped_columns(a, spec, columns))
        )
        reports[name], rejected[name] = account(project, src, spec, kept[name])
        if name == "customers":
            known = kept[name].select("customer_id")
            resolve = known.select(id=known.customer_id, canonical=known.customer_id)
        if name == ALIASES and known is not None:
            aliases = kept[name].select(id=kept[name].external_id, canonical=kept[name].customer_id)
            assert resolve is not None
            resolve = backend.materialised(src.remote, ibis.union(resolve, aliases, distinct=True))
            _one_to_one(resolve)
    return concluded(
        project,
        src,
        period,
        accept_quality,
        reports,
        kept,
        dropped,
        rejected,
        " (in the warehouse)",
    )


def _one_to_one(resolve: ir.Table) -> None:
    """Refuse a resolution that maps one id to two customers (the fact joins would double rows)."""
    counts = resolve.aggregate(n=resolve.count(), d=resolve.id.nunique()).to_pyarrow().to_pylist()
    n, d = counts[0]["n"], counts[0]["d"]
    if n != d:
        raise QualityGateError(f"identity mapping is not one id to one customer ({n - d} ids)")
