"""The data-quality gate (DOMAIN.md §7): identity mapping, row rules, quarantine, accounting, gate.

Schema problems (a missing column, a value that does not parse as its type) stop the
load with a DataError in `sources.py`; the schema level is DuckDB expressions rather
than pandera because the tables are tens of millions of rows that must not be pulled
into pandas. This module then applies the row rules to every table with set-based DuckDB queries,
none of which pulls rows into Python:

1. `q_typed_<t>`, a view: the typed rows numbered in file order (`__rn`), with raw values
   kept beside them and customer ids resolved through the kept customers and aliases.
2. `q_sus`, the suspects: one sort on a hash of the key (duplicates are neighbours),
   and one pass over the typed rows for the row-local rules and unknown customers,
   which for surveys is a sort by customer+survey hash and time (repeats are neighbours).
3. `q_all_<t>`: the suspects captured once, raw and typed (a few percent of the rows);
   the rules then run exactly on them (`q_rej_<t>`: one row per rejected row, all rules).
4. `kept_<t>`, a view: the typed rows without the rejected ones. Nothing big is
   materialised, so memory stays flat at ten million rows.

The rules:

- duplicate_id: a repeated primary key; the first row in file order is kept.
  `workforce` is keyed by period and hierarchy levels, `customer_aliases` by
  (source, external_id).
- unknown_customer: customer_id not in the kept customers after identity mapping;
  an alias whose target is not a customer is itself quarantined under this rule.
- score_range: score missing, not a number (NaN included), not whole, or outside the
  survey's scale (nps 0–10, csat 1–5, ces 1–7); an unknown survey type has no scale
  and is quarantined under this rule too. Survey names are compared trimmed and
  lower-cased, and kept rows carry the normalised name.
- response_window: responded_at before sent_at, or more than `response_window_days`
  after it (rows without sent_at cannot be judged and pass).
- speeder: duration_seconds below `min_duration_seconds` (negative included; a
  missing or NaN duration passes).
- repeat_response: same customer and survey within `dedupe_days` after an earlier
  kept response; the first is kept, and what "kept" means is decided greedily in time
  order, so a third response 10 days after the first survives even when a second one
  at day 5 was dropped. A row quarantined for another reason is also marked as a
  repeat when it falls within the window of a kept response.
- time_order: a ticket's first_response_at or resolved_at before its opened_at, and
  (a decision of this module) a customer's churned_on before its acquired_on; that
  customer's rows then fall under unknown_customer, whose detail says why.
- negative_amount: amount < 0 in revenue unless `allow_credit_notes`.

Events after `as_of` are not quarantined (re-running an old period with its old
cut-off must not fail the gate): they are kept, counted under `notes` in the report,
and the KPI formulas ignore them (DOMAIN.md §1).

Identity mapping: fact tables carry no `source` column, so every alias maps its
external_id whatever its source; one external id mapped to two customers (also via
an id that is itself a different customer) is ambiguous and a DataError.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from . import fileio, sources
from .config import SURVEY_SCALES, Project, QualitySettings
from .errors import DataError, QualityGateError
from .sources import Source, TableSpec

log = logging.getLogger(__name__)

RULES = (
    "duplicate_id",
    "unknown_customer",
    "score_range",
    "response_window",
    "speeder",
    "repeat_response",
    "time_order",
    "negative_amount",
)
"""Rule ids of DOMAIN.md §7, in the order they are listed for a row that breaks several."""

SCALES = SURVEY_SCALES
"""Survey scales (DOMAIN.md §3), as the configuration checks top-box cuts against them."""

FACTS = ("survey_responses", "tickets", "revenue")
"""Tables whose customer_id goes through identity mapping and the unknown_customer rule."""

N_REDUCED_SHARE = 0.10
"""A KPI whose n the quarantine reduced by more than this share is footnoted in the pack."""

NOT_ROW_COUNTS = frozenset({"nrr", "logo_retention"})
"""KPIs whose n counts customers (a cohort, the active base), not rows: no n_reduced for them."""

PROVENANCE = ("source_file", "source_line", "rule", "detail")
"""Columns appended to every rejected row."""

_DEFINING = {"survey_responses": "responded_at", "tickets": "opened_at", "revenue": "invoice_date"}
"""The timestamp that places a row in time (DOMAIN.md §1), for the rows-after-as_of note."""


@dataclass(frozen=True)
class QualityResult:
    """Validation of one load: the kept rows, the rejected rows and the report (report.json)."""

    source: Source
    """The same tables with only the kept rows (customer ids canonical)."""
    quarantined: Source
    """The quarantined rows, typed, with the kept customers: what `n_reduced` counts."""
    report: dict[str, Any]
    rejected: dict[str, pa.Table]
    """Per table, the rejected rows unchanged plus source_file, source_line, rule, detail."""

    @property
    def gate_failed(self) -> bool:
        """True when the gate found a problem and no --accept-quality reason overrides it."""
        gate = self.report["gate"]
        return not gate["passed"] and not gate["accepted"]


# --------------------------------------------------------------------------- SQL helpers


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _shown(expr: str) -> str:
    """A value quoted for a detail message, cut to 40 characters."""
    return f"('''' || left(CAST({expr} AS VARCHAR), 40) || '''')"


def _sql(src: Source, sql: str) -> Any:
    return src.con.raw_sql(sql)


def _scalar(src: Source, sql: str) -> Any:
    row = _sql(src, sql).fetchone()
    return row[0] if row else None


def _arrow(src: Source, sql: str) -> pa.Table:
    out = _sql(src, sql).arrow()
    return out.read_all() if hasattr(out, "read_all") else out


@dataclass(frozen=True)
class _Check:
    """One row-local rule: `when` flags a row, `detail` says why (both SQL over q_all_<t>)."""

    rule: str
    when: str
    detail: str


def _key_columns(spec: TableSpec, levels: tuple[str, ...]) -> tuple[str, ...]:
    if spec.name == "workforce":
        return ("period", *levels)
    if spec.name == "customer_aliases":
        return ("source", "external_id")
    return (spec.key,) if spec.key else ()


def _checks(table: str, qs: QualitySettings) -> list[_Check]:
    """The row-local rules of a table (DOMAIN.md §7); cross-row rules are built separately."""
    if table == "customers":
        return [
            _Check("time_order", "churned_on < acquired_on", "'churned_on is before acquired_on'")
        ]
    if table == "survey_responses":
        scale = SCALES
        lo = "CASE survey " + " ".join(f"WHEN '{k}' THEN {v[0]}" for k, v in scale.items()) + " END"
        hi = "CASE survey " + " ".join(f"WHEN '{k}' THEN {v[1]}" for k, v in scale.items()) + " END"
        known = ", ".join(f"'{k}'" for k in scale)
        not_number = "(score IS NULL OR NOT isfinite(score))"
        # A missing score is a NULL score too: the text is needed only to say which it was.
        score_when = (
            f"survey NOT IN ({known}) OR {not_number} "
            f"OR score <> round(score) OR score < {lo} OR score > {hi}"
        )
        score_detail = (
            f"CASE WHEN survey NOT IN ({known}) THEN 'survey ' || {_shown('survey')} || "
            f"' is not one of {', '.join(scale)}: no scale to check the score against' "
            "WHEN __score_text IS NULL THEN 'score is missing' "
            f"WHEN {not_number} THEN 'score ' || {_shown('__score_text')} || ' is not a number' "
            "WHEN score <> round(score) THEN 'score ' || __score_text || ' is not a whole number' "
            f"ELSE 'score ' || __score_text || ' is outside the ' || survey || ' scale ' "
            f"|| {lo} || '–' || {hi} END"
        )
        days = qs.response_window_days
        late = f"responded_at > sent_at + INTERVAL {days} DAY"
        window_detail = (
            "CASE WHEN responded_at < sent_at THEN 'responded_at is before sent_at' "
            "ELSE 'responded ' || printf('%.1f', date_diff('second', sent_at, responded_at) / 86400.0) "
            f"|| ' days after sent_at (window {days} days)' END"
        )
        m = qs.min_duration_seconds
        return [
            _Check("score_range", score_when, score_detail),
            _Check(
                "response_window",
                f"sent_at IS NOT NULL AND (responded_at < sent_at OR {late})",
                window_detail,
            ),
            _Check(
                "speeder",
                f"isfinite(duration_seconds) AND duration_seconds < {m!r}",
                f"'duration ' || printf('%g', duration_seconds) || ' s is under the {m:g} s minimum'",
            ),
        ]
    if table == "tickets":
        first = "first_response_at < opened_at"
        resolved = "resolved_at < opened_at"
        return [
            _Check(
                "time_order",
                f"{first} OR {resolved}",
                f"concat_ws('; ', CASE WHEN {first} THEN 'first_response_at is before opened_at' END, "
                f"CASE WHEN {resolved} THEN 'resolved_at is before opened_at' END)",
            )
        ]
    if table == "revenue" and not qs.allow_credit_notes:
        return [
            _Check(
                "negative_amount",
                "amount < 0",
                "'amount ' || printf('%g', amount) || ' is negative and allow_credit_notes is false'",
            )
        ]
    return []


# --------------------------------------------------------------------------- validation


def validate(
    project: Project, src: Source, period: str, accept_quality: str | None = None
) -> QualityResult:
    """Apply every rule of DOMAIN.md §7 to every table and decide the gate (nothing is written)."""
    qs = project.settings.quality
    levels = project.hierarchy.levels
    specs = {s.name: s for s in sources.table_specs(levels) if s.name in src.tables}
    has_aliases = "customer_aliases" in specs
    tables: dict[str, dict[str, Any]] = {}
    rejected: dict[str, pa.Table] = {}
    kept: dict[str, Any] = {}
    dropped: dict[str, Any] = {}
    for name in sources.TABLES:
        if name not in specs:
            continue
        spec = specs[name]
        typed = f"q_typed_{name}"
        _sql(
            src,
            f"CREATE OR REPLACE TEMP VIEW {typed} AS {_typed_sql(project, src, spec, _numbered(src, name))}",
        )
        if name == "customer_aliases":
            _check_ambiguous(src)
        checks = _checks(name, qs)
        _suspects(src, spec, levels, checks, qs.dedupe_days)
        capture = f"(SELECT n.* FROM {_numbered(src, name)} n SEMI JOIN q_sus s ON s.__rn = n.__rn)"
        _sql(
            src,
            f"CREATE OR REPLACE TEMP TABLE {_q('q_all_' + name)} AS "
            f"{_typed_sql(project, src, spec, capture)}",
        )
        _reject(src, spec, levels, checks, has_aliases=has_aliases)
        if name == "survey_responses":
            _repeat_responses(src, qs.dedupe_days)
        cols = ", ".join(_q(c) for c in src.tables[name].columns)
        _sql(
            src,
            f"CREATE OR REPLACE TEMP VIEW {_q('kept_' + name)} AS SELECT {cols} FROM {typed} a "
            f"ANTI JOIN {_q('q_rej_' + name)} r ON r.__rn = a.__rn",
        )
        _sql(
            src,
            f"CREATE OR REPLACE TEMP VIEW {_q('dropped_' + name)} AS SELECT {cols} FROM {_q('q_all_' + name)} "
            f"WHERE __rn IN (SELECT __rn FROM {_q('q_rej_' + name)})",
        )
        if name == "customers":
            _sql(
                src,
                "CREATE OR REPLACE TEMP TABLE q_known AS SELECT customer_id FROM kept_customers",
            )
            _sql(
                src,
                "CREATE OR REPLACE TEMP TABLE q_resolve AS SELECT customer_id AS id, customer_id AS canonical FROM q_known",
            )
        if name == "customer_aliases":
            # Every id the fact tables may use, to its customer: kept customers and kept aliases.
            # Unique per id, since an ambiguous mapping stopped the run above.
            _sql(
                src,
                "CREATE OR REPLACE TEMP TABLE q_resolve AS SELECT customer_id AS id, customer_id AS canonical "
                "FROM q_known UNION SELECT external_id, customer_id FROM kept_customer_aliases",
            )
            ids, distinct = _sql(
                src, "SELECT count(*), count(DISTINCT id) FROM q_resolve"
            ).fetchone()
            if ids != distinct:  # the fact tables' join would duplicate rows
                raise QualityGateError(
                    f"identity mapping is not one id to one customer ({ids - distinct} ids)"
                )
        kept[name] = src.con.table(f"kept_{name}")
        dropped[name] = src.con.table(
            "kept_customers" if name == "customers" else f"dropped_{name}"
        )
        tables[name], rejected[name] = _account(project, src, spec)
        _sql(src, "DROP TABLE IF EXISTS q_sus")
    gate = _gate(tables, qs.max_reject_share, accept_quality, specs)
    report = {
        "period": period,
        "as_of": src.as_of.isoformat(timespec="seconds"),
        "gate": gate,
        "tables": tables,
        "n_reduced": [],
    }
    log.info(
        "quality: %s; gate %s",
        ", ".join(f"{t} {r['rows_quarantined']}/{r['rows_in']}" for t, r in tables.items()),
        "passed" if gate["passed"] else "accepted" if gate["accepted"] else "failed",
    )
    return QualityResult(
        source=dataclasses.replace(src, tables={**src.tables, **kept}),
        quarantined=dataclasses.replace(src, tables={**src.tables, **dropped}),
        report=report,
        rejected=rejected,
    )


def _numbered(src: Source, name: str) -> str:
    """The raw rows with `__rn`, their 1-based position in the file.

    Parquet gives exact row numbers in parallel; other sources are numbered in scan
    order, which DuckDB keeps while `preserve_insertion_order` is on (its default).
    """
    path = src.files[name]
    if path.endswith(".parquet") and Path(path).is_file():
        cols = ", ".join(_q(c) for c in src.raw[name].columns)
        return (
            f"(SELECT file_row_number + 1 AS __rn, {cols} "
            f"FROM read_parquet({_lit(path)}, file_row_number = true))"
        )
    return f"(SELECT row_number() OVER () AS __rn, * FROM {_q('raw_' + name)})"


def _typed_sql(project: Project, src: Source, spec: TableSpec, rows: str) -> str:
    """Typed rows of `rows` (raw columns + __rn): raw values kept as __raw_<i>, ids resolved.

    A fact row's customer_id becomes its customer's id when it is a kept customer's or a
    kept alias's (one join with q_resolve); `__resolved` says whether it was either.
    """
    name = spec.name
    raw = ", ".join(f"{_q(c)} AS __raw_{i}" for i, c in enumerate(src.raw[name].columns))
    typed = sources.typed_select_sql(src.con, spec, f"raw_{name}", project.settings.timezone)
    extra = (
        ", NULLIF(TRIM(CAST(score AS VARCHAR)), '') AS __score_text"
        if name == "survey_responses"
        else ""
    )
    sql = f"SELECT __rn, {raw}, {typed}{extra} FROM {rows}"
    if name == "survey_responses":
        known = ", ".join(f"'{k}'" for k in SCALES)
        survey = f"CASE WHEN survey IN ({known}) THEN survey ELSE lower(trim(survey)) END"
        sql = f"SELECT * REPLACE ({survey} AS survey) FROM ({sql})"
    if name in FACTS:
        sql = (
            "SELECT b.* REPLACE (coalesce(r.canonical, b.customer_id) AS customer_id), "
            f"r.canonical IS NOT NULL AS __resolved FROM ({sql}) b "
            "LEFT JOIN q_resolve r ON r.id = b.customer_id"
        )
    return sql


def _suspects(
    src: Source, spec: TableSpec, levels: tuple[str, ...], checks: list[_Check], dedupe_days: int
) -> None:
    """q_sus(__rn): every row a rule could reject, found by narrow set-based passes.

    Rows whose key hash equals a neighbour's in hash order may be duplicates; a filter
    finds the row-local rules and unknown_customer, and for surveys it rides along a
    sort by customer+survey hash and time: responses within the dedupe window of a
    neighbour may be repeats. Hash collisions only add suspects: the rules then run
    exactly on them.
    """
    name = spec.name
    key = _key_columns(spec, levels)
    bad = [f"({c.when})" for c in checks]
    join = ""
    if name in FACTS:
        bad.append("NOT __resolved")
    elif name == "customer_aliases":
        join = (
            "LEFT JOIN (SELECT customer_id AS __known FROM q_known) k ON k.__known = a.customer_id"
        )
        bad.append("k.__known IS NULL")
    any_bad = " OR ".join(bad) or "false"
    parts = []
    if key:
        parts.append(
            "SELECT __rn FROM (SELECT __rn, __hk, lag(__hk) OVER w AS p, lead(__hk) OVER w AS nx FROM "
            f"(SELECT __rn, hash({', '.join(_q(k) for k in key)}) AS __hk FROM {_numbered(src, name)}) "
            "WINDOW w AS (ORDER BY __hk)) WHERE __hk = p OR __hk = nx"
        )
    if name == "survey_responses" and dedupe_days > 0:
        # One scan of the typed rows for both: the row-local verdict rides along the sort.
        d = f"INTERVAL {int(dedupe_days)} DAY"
        parts.append(
            "SELECT __rn FROM (SELECT __rn, __bad, __t, lag(__t) OVER w AS p, lead(__t) OVER w AS nx FROM "
            f"(SELECT __rn, hash(customer_id, survey) AS __g, responded_at AS __t, "
            f"coalesce({any_bad}, false) AS __bad FROM q_typed_{name} a {join}) "
            f"WINDOW w AS (PARTITION BY __g ORDER BY __t)) WHERE __bad OR __t - p < {d} OR nx - __t < {d}"
        )
    else:
        parts.append(f"SELECT __rn FROM q_typed_{name} a {join} WHERE {any_bad}")
    # UNION ALL: a row suspected twice is captured once all the same (a semi join).
    _sql(src, f"CREATE OR REPLACE TEMP TABLE q_sus AS {' UNION ALL '.join(parts)}")


def _check_ambiguous(src: Source) -> None:
    """One external id mapped to two customers is an error naming the ids (and lines)."""
    rows = _sql(
        src,
        "SELECT external_id, list(DISTINCT customer_id ORDER BY customer_id), list(__rn ORDER BY __rn), "
        "count(*) OVER () FROM q_typed_customer_aliases GROUP BY external_id "
        "HAVING count(DISTINCT customer_id) > 1 ORDER BY min(__rn) LIMIT 1",
    ).fetchall()
    shadow = _sql(
        src,
        "SELECT a.external_id, a.customer_id, a.__rn FROM q_typed_customer_aliases a "
        "JOIN q_known c ON c.customer_id = a.external_id "
        "WHERE a.customer_id <> a.external_id ORDER BY a.__rn LIMIT 3",
    ).fetchall()
    if not rows and not shadow:
        return
    path = src.files["customer_aliases"]
    total = _scalar(src, "SELECT count(*) FROM raw_customer_aliases")
    if rows:
        ext, customers, rns, n_ids = rows[0]
        lines = sources.line_numbers(
            path, list(rns), src.encodings.get("customer_aliases", "utf-8"), total
        )
        where = ", ".join(str(lines.get(r, r)) for r in rns[:5])
        more = f" (and {n_ids - 1} more external ids)" if n_ids > 1 else ""
        raise DataError(
            f"ambiguous identity mapping: external id {ext!r} maps to customers "
            f"{', '.join(repr(c) for c in customers)} (lines {where}){more}",
            file=path,
            column="external_id",
        )
    ext, customer, rn = shadow[0]
    line = sources.line_numbers(path, [rn], src.encodings.get("customer_aliases", "utf-8"), total)
    raise DataError(
        f"ambiguous identity mapping: external id {ext!r} (line {line.get(rn, rn)}) maps to "
        f"customer {customer!r} but is itself the id of another customer",
        file=path,
        column="external_id",
    )


def _reject(
    src: Source,
    spec: TableSpec,
    levels: tuple[str, ...],
    checks: list[_Check],
    *,
    has_aliases: bool,
) -> None:
    """q_rej_<t>(__rn, rule, detail, dup_ref, repeat_ref): one row per rejected row, all its rules."""
    name = spec.name
    all_t = _q("q_all_" + name)
    key = _key_columns(spec, levels)
    joins, extra = [], []
    flags = [(c.rule, c.when, c.detail) for c in checks]
    dup_ref = "NULL::BIGINT"
    if key:
        keys = ", ".join(_q(k) for k in key)
        on = " AND ".join(f"d.{_q(k)} IS NOT DISTINCT FROM a.{_q(k)}" for k in key)
        joins.append(
            f"LEFT JOIN (SELECT {keys}, min(__rn) AS __first FROM {all_t} GROUP BY {keys} "
            f"HAVING count(*) > 1) d ON {on}"
        )
        extra.append("d.__first AS __first")
        dup = "__first IS NOT NULL AND __rn > __first"
        shown = " || '/' || ".join(f"coalesce(CAST({_q(k)} AS VARCHAR), '')" for k in key)
        flags.append(
            (
                "duplicate_id",
                dup,
                f"'{'/'.join(key)} ' || {_shown(shown)} || ' repeats line {{dup_ref}} (the first is kept)'",
            )
        )
        dup_ref = f"CASE WHEN {dup} THEN __first END"
    if name in (*FACTS, "customer_aliases"):
        joins.append(
            "LEFT JOIN (SELECT customer_id AS __known FROM q_known) k ON k.__known = a.customer_id"
        )
        extra.append("k.__known AS __known")
        where = (
            "customers"
            if name == "customer_aliases" or not has_aliases
            else "customers or customer_aliases"
        )
        flags.append(
            (
                "unknown_customer",
                "__known IS NULL",
                f"'customer_id ' || {_shown('customer_id')} || ' is not in {where}' || "
                "CASE WHEN customer_id IN (SELECT customer_id FROM q_all_customers) "
                "THEN ' (its customers row is quarantined)' ELSE '' END",
            )
        )
    if not flags:
        _sql(
            src,
            f"CREATE OR REPLACE TEMP TABLE {_q('q_rej_' + name)} AS SELECT __rn, ''::VARCHAR AS rule, "
            "''::VARCHAR AS detail, NULL::BIGINT AS dup_ref, NULL::BIGINT AS repeat_ref "
            f"FROM {all_t} WHERE false",
        )
        return
    order = {r: i for i, r in enumerate(RULES)}
    flags.sort(key=lambda f: order[f[0]])
    rule = ", ".join(f"CASE WHEN {w} THEN '{r}' END" for r, w, _ in flags)
    detail = ", ".join(f"CASE WHEN {w} THEN '{r}: ' || ({d}) END" for r, w, d in flags)
    any_flag = " OR ".join(f"({w})" for _, w, _ in flags)
    row = f"SELECT a.*{''.join(', ' + e for e in extra)} FROM {all_t} a {' '.join(joins)}"
    _sql(
        src,
        f"CREATE OR REPLACE TEMP TABLE {_q('q_rej_' + name)} AS "
        f"SELECT __rn, concat_ws(';', {rule}) AS rule, concat_ws('; ', {detail}) AS detail, "
        f"{dup_ref} AS dup_ref, NULL::BIGINT AS repeat_ref FROM ({row}) WHERE {any_flag}",
    )


def _repeat_responses(src: Source, dedupe_days: int) -> None:
    """Add repeat_response to q_rej_survey_responses (greedy: the first kept response wins)."""
    if dedupe_days <= 0:
        return
    d = f"INTERVAL {int(dedupe_days)} DAY"
    # Otherwise clean responses; only groups where two come within the window need the greedy walk.
    _sql(
        src,
        "CREATE OR REPLACE TEMP VIEW q_cand AS SELECT __rn, customer_id, survey, responded_at AS t "
        "FROM q_all_survey_responses WHERE __rn NOT IN (SELECT __rn FROM q_rej_survey_responses)",
    )
    _sql(
        src,
        "CREATE OR REPLACE TEMP TABLE q_grp AS "
        "WITH near AS (SELECT DISTINCT customer_id, survey FROM ("
        "  SELECT customer_id, survey, t, lag(t) OVER (PARTITION BY customer_id, survey ORDER BY t, __rn) AS prev "
        f"  FROM q_cand) WHERE prev IS NOT NULL AND t < prev + {d}) "
        "SELECT c.*, dense_rank() OVER (ORDER BY c.customer_id, c.survey) AS gid, "
        "row_number() OVER (PARTITION BY c.customer_id, c.survey ORDER BY c.t, c.__rn) AS ord "
        "FROM q_cand c SEMI JOIN near n ON n.customer_id = c.customer_id AND n.survey = c.survey",
    )
    # next(ord): the first response at least the window after it; the kept ones are a chain of next.
    _sql(
        src,
        "CREATE OR REPLACE TEMP TABLE q_next AS "
        "WITH firsts AS (SELECT gid, t, min(ord) AS ord FROM q_grp GROUP BY gid, t) "
        "SELECT a.gid, a.ord, f.ord AS next_ord FROM q_grp a "
        f"ASOF LEFT JOIN firsts f ON a.gid = f.gid AND a.t + {d} <= f.t",
    )
    _sql(
        src,
        "CREATE OR REPLACE TEMP TABLE q_chain AS "
        "WITH RECURSIVE chain(gid, ord) AS (SELECT DISTINCT gid, 1::BIGINT FROM q_grp UNION ALL "
        "  SELECT n.gid, n.next_ord FROM chain c JOIN q_next n ON n.gid = c.gid AND n.ord = c.ord "
        "  WHERE n.next_ord IS NOT NULL) "
        "SELECT g.* FROM q_grp g SEMI JOIN chain c ON c.gid = g.gid AND c.ord = g.ord",
    )
    detail = (
        "'repeat_response: repeats the response on line {repeat_ref} ('"
        " || printf('%.1f', date_diff('second', k.t, r.t) / 86400.0) || "
        f"' days earlier, same customer and survey; dedupe window {int(dedupe_days)} days)'"
    )
    # Repeats among clean rows: every grouped row not on the chain, against the kept one before it.
    _sql(
        src,
        "CREATE OR REPLACE TEMP TABLE q_rep AS "
        "SELECT r.__rn, k.__rn AS ref, " + detail + " AS detail FROM "
        "(SELECT * FROM q_grp ANTI JOIN q_chain USING (__rn)) r "
        "ASOF JOIN q_chain k ON r.gid = k.gid AND r.ord >= k.ord",
    )
    # Rows already rejected for another reason that also fall in a kept response's window.
    _sql(
        src,
        "INSERT INTO q_rep "
        "WITH bad AS (SELECT a.__rn, a.customer_id, a.survey, a.responded_at AS t "
        "  FROM q_all_survey_responses a SEMI JOIN q_rej_survey_responses j ON j.__rn = a.__rn "
        "  WHERE a.responded_at IS NOT NULL), "
        "keptc AS (SELECT c.* FROM q_cand c SEMI JOIN bad b ON b.customer_id = c.customer_id AND b.survey = c.survey "
        "  ANTI JOIN (SELECT __rn FROM q_grp ANTI JOIN q_chain USING (__rn)) x ON x.__rn = c.__rn) "
        "SELECT r.__rn, k.__rn AS ref, " + detail + " AS detail FROM bad r "
        "ASOF JOIN keptc k ON r.customer_id = k.customer_id AND r.survey = k.survey AND r.t >= k.t "
        f"WHERE r.t < k.t + {d} AND k.__rn <> r.__rn",
    )
    _sql(
        src,
        "CREATE OR REPLACE TEMP TABLE q_rej_survey_responses AS "
        "SELECT coalesce(j.__rn, p.__rn) AS __rn, "
        "concat_ws(';', nullif(j.rule, ''), CASE WHEN p.__rn IS NOT NULL THEN 'repeat_response' END) AS rule, "
        "concat_ws('; ', nullif(j.detail, ''), p.detail) AS detail, j.dup_ref, p.ref AS repeat_ref "
        "FROM q_rej_survey_responses j FULL OUTER JOIN q_rep p ON p.__rn = j.__rn",
    )


# --------------------------------------------------------------------------- accounting and gate


def _relative(project: Project, path: str) -> str:
    try:
        return Path(path).resolve().relative_to(project.settings.root).as_posix()
    except (ValueError, OSError):
        return path


def _account(project: Project, src: Source, spec: TableSpec) -> tuple[dict[str, Any], pa.Table]:
    """Per-table counts and the rejected rows; refuses to go on unless in = kept + quarantined."""
    name = spec.name
    rej = _q("q_rej_" + name)
    rows_in = int(_scalar(src, f"SELECT count(*) FROM {_q('raw_' + name)}"))
    # Kept rows are counted apart from the quarantine: every row of the file whose number is
    # not quarantined. kept_<t> is those rows with one LEFT JOIN on a unique id (checked in
    # validate), so it holds the same number of rows without being scanned again here.
    kept = int(
        _scalar(
            src,
            f"SELECT count(*) FROM {_numbered(src, name)} n ANTI JOIN {rej} q ON q.__rn = n.__rn",
        )
    )
    late = 0
    if name in _DEFINING:
        as_of = f"TIMESTAMP '{src.as_of.isoformat(sep=' ', timespec='microseconds')}'"
        cut = f"CAST({as_of} AS DATE)" if name == "revenue" else as_of
        col = _q(_DEFINING[name])
        late = int(
            _scalar(src, f"SELECT count(*) FROM {_q('typed_' + name)} WHERE {col} > {cut}")
        ) - int(
            _scalar(
                src,
                f"SELECT count(*) FROM {_q('q_all_' + name)} SEMI JOIN {rej} USING (__rn) WHERE {col} > {cut}",
            )
        )
    quarantined, distinct = _sql(
        src, f"SELECT count(*), count(DISTINCT __rn) FROM {rej}"
    ).fetchone()
    if not rows_in == kept + quarantined or quarantined != distinct:
        raise QualityGateError(
            f"quality accounting does not add up for {name}: {rows_in} rows in, {kept} kept, "
            f"{quarantined} quarantined ({distinct} distinct rows); refusing to continue"
        )
    by_rule = {
        r: int(n)
        for r, n in _sql(
            src,
            f"SELECT r, count(*) FROM (SELECT unnest(string_split(rule, ';')) AS r FROM {_q('q_rej_' + name)}) "
            "GROUP BY r",
        ).fetchall()
    }
    by_rule = {r: by_rule[r] for r in RULES if r in by_rule}
    rows = (
        _rejected_rows(project, src, name, rows_in) if quarantined else _empty_rejected(src, name)
    )
    if rows.num_rows != quarantined:
        raise QualityGateError(
            f"quality accounting does not add up for {name}: {quarantined} rows quarantined but "
            f"{rows.num_rows} listed for the quarantine file; refusing to continue"
        )
    path = src.files[name]
    notes = _notes(src, spec, int(late))
    report = {
        "file": _relative(project, path),
        "rows_in": rows_in,
        "rows_kept": kept,
        "rows_quarantined": quarantined,
        "by_rule": by_rule,
        "reject_share": round(quarantined / rows_in, 6) if rows_in else 0.0,
        "rejected_file": f"quality/{name}.rejected.csv",
        "in_equals_kept_plus_quarantined": True,
        "notes": notes,
    }
    return report, rows


def _notes(src: Source, spec: TableSpec, late: int) -> list[str]:
    """Things worth saying that are not rejections: ignored columns, encoding, rows after as_of."""
    name = spec.name
    notes = []
    known = {c.name for c in spec.columns}
    extra = [c for c in src.raw[name].columns if c not in known]
    if extra:
        notes.append(f"column(s) {', '.join(extra)} not used by reportlib: ignored")
    if src.encodings.get(name, "utf-8") != "utf-8":
        notes.append(f"not valid UTF-8: read as {src.encodings[name]}")
    if late:
        notes.append(
            f"{late:,} row(s) with {_DEFINING[name]} after the cut-off as_of "
            f"{src.as_of:%Y-%m-%d %H:%M:%S} UTC: kept, but no KPI counts them"
        )
    return notes


def _empty_rejected(src: Source, name: str) -> pa.Table:
    return _arrow(
        src,
        f"SELECT *, NULL::VARCHAR AS source_file, NULL::BIGINT AS source_line, NULL::VARCHAR AS rule, "
        f"NULL::VARCHAR AS detail FROM {_q('raw_' + name)} LIMIT 0",
    )


def _rejected_rows(project: Project, src: Source, name: str, rows_in: int) -> pa.Table:
    """The rejected rows as read (raw text), in file order, with their file, line, rules and detail."""
    path = src.files[name]
    rej = _q("q_rej_" + name)
    if path.endswith(".csv") and not sources.rows_are_lines(path, rows_in):
        wanted = [
            int(r[0])
            for r in _sql(
                src,
                f"SELECT __rn FROM {rej} UNION SELECT dup_ref FROM {rej} WHERE dup_ref IS NOT NULL "
                f"UNION SELECT repeat_ref FROM {rej} WHERE repeat_ref IS NOT NULL",
            ).fetchall()
        ]
        lines = sources.line_numbers(path, wanted, src.encodings.get(name, "utf-8"))
        table = pa.table(
            {
                "rn": pa.array(list(lines), pa.int64()),
                "line": pa.array(list(lines.values()), pa.int64()),
            }
        )
        duck = src.con.con  # the DuckDB connection under Ibis: register the small arrow table
        duck.register("q_lines_arrow", table)
        try:
            _sql(src, "CREATE OR REPLACE TEMP TABLE q_lines AS SELECT * FROM q_lines_arrow")
        finally:
            duck.unregister("q_lines_arrow")

        def line(col: str) -> str:
            return f"(SELECT line FROM q_lines WHERE rn = {col})"
    else:
        offset = 1 if path.endswith(".csv") else 0

        def line(col: str) -> str:
            return f"({col} + {offset})"

    raw_cols = list(src.raw[name].columns)
    taken = set(raw_cols)
    out_names = [c if c not in taken else f"quality_{c}" for c in PROVENANCE]
    select_raw = ", ".join(f"r.__raw_{i} AS {_q(c)}" for i, c in enumerate(raw_cols))
    detail = (
        f"replace(replace(q.detail, '{{dup_ref}}', coalesce(CAST({line('q.dup_ref')} AS VARCHAR), '?')), "
        f"'{{repeat_ref}}', coalesce(CAST({line('q.repeat_ref')} AS VARCHAR), '?'))"
    )
    sql = (
        f"SELECT {select_raw}, {_lit(_relative(project, path))} AS {_q(out_names[0])}, "
        f"{line('q.__rn')} AS {_q(out_names[1])}, q.rule AS {_q(out_names[2])}, "
        f"{detail} AS {_q(out_names[3])} "
        f"FROM {_q('q_all_' + name)} r JOIN {rej} q ON q.__rn = r.__rn ORDER BY r.__rn"
    )
    return _arrow(src, sql)


def _gate(
    tables: dict[str, dict[str, Any]],
    max_share: float,
    accept: str | None,
    specs: Mapping[str, TableSpec],
) -> dict[str, Any]:
    """The gate of DOMAIN.md §7: an empty required table, or a quarantined share above the limit."""
    failures = []
    for name, t in tables.items():
        if t["rows_in"] == 0 and specs[name].required:
            failures.append(
                {
                    "table": name,
                    "problem": "empty",
                    "rows_in": 0,
                    "rejected_file": t["rejected_file"],
                }
            )
        elif t["reject_share"] > max_share:
            failures.append(
                {
                    "table": name,
                    "problem": "reject_share",
                    "rows_in": t["rows_in"],
                    "rows_quarantined": t["rows_quarantined"],
                    "reject_share": t["reject_share"],
                    "by_rule": t["by_rule"],
                    "rejected_file": t["rejected_file"],
                }
            )
    reason = accept.strip() if accept and accept.strip() else None
    return {
        "passed": not failures,
        "max_reject_share": max_share,
        "accepted": bool(failures) and reason is not None,
        "reason": reason,
        "failures": failures,
    }


def gate_message(report: Mapping[str, Any], quality_dir: Path) -> str:
    """One line: which tables failed, by which rules and how many rows, and where to look."""
    gate = report["gate"]
    parts = []
    for f in gate["failures"]:
        where = quality_dir / Path(f["rejected_file"]).name
        if f["problem"] == "empty":
            parts.append(f"{f['table']} has no data rows")
            continue
        rules = ", ".join(f"{r} {n:,}" for r, n in f["by_rule"].items())
        parts.append(
            f"{f['table']}: {f['rows_quarantined']:,} of {f['rows_in']:,} rows quarantined "
            f"({100 * f['reject_share']:.1f}% > {100 * gate['max_reject_share']:g}%; {rules}), see {where}"
        )
    return (
        "data-quality gate failed: "
        + "; ".join(parts)
        + f'; report {quality_dir / "report.json"}; to go on anyway pass --accept-quality "<reason>"'
    )


def enforce(result: QualityResult, quality_dir: Path) -> None:
    """Raise QualityGateError when the gate failed and was not accepted (files already written)."""
    if result.gate_failed:
        raise QualityGateError(gate_message(result.report, quality_dir))


def require_sendable(quality_dir: Path) -> dict[str, Any]:
    """The gate of a computed period, for `send`: refused unless it passed or was accepted (§7)."""
    path = quality_dir / "report.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        gate = report["gate"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise QualityGateError(
            f"{path}: no readable quality report, so the run cannot be sent ({e})"
        ) from e
    if not gate.get("passed") and not gate.get("accepted"):
        raise QualityGateError(
            f"the run failed the data-quality gate and cannot be sent: {gate_message(report, quality_dir)}"
        )
    return report


# --------------------------------------------------------------------------- n reduced, files


def n_reduced(
    kept: Mapping[str, pd.DataFrame],
    dropped: Mapping[str, pd.DataFrame],
    month: int,
    threshold: float = N_REDUCED_SHARE,
) -> list[dict[str, Any]]:
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
                    {
                        "node": str(node),
                        "kpi": kpi,
                        "share": round(float(n_lost) / total, 4),
                        "n": n_kept,
                        "n_all": total,
                    }
                )
    return out


def with_n_reduced(result: QualityResult, entries: list[dict[str, Any]]) -> QualityResult:
    """The same result with `n_reduced` filled in."""
    return dataclasses.replace(result, report={**result.report, "n_reduced": entries})


def write(
    quality_dir: Path, report: Mapping[str, Any], rejected: Mapping[str, pa.Table]
) -> tuple[Path, ...]:
    """Write <table>.rejected.csv for every table and report.json, each atomically."""
    files = []
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    for name, rows in rejected.items():
        path = quality_dir / f"{name}.rejected.csv"
        files.append(
            fileio.write_with(path, lambda p, rows=rows: pacsv.write_csv(rows, p, options))
        )
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
    files.append(fileio.write_text(quality_dir / "report.json", text))
    return tuple(files)
