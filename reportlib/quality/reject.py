"""The rejection: which captured rows break which rules, and the quarantined rows as read.

`rejections` runs every check of a table on its suspects (`q_all_<t>`) at once and keeps
one row per rejected row (`q_rej_<t>`: __rn, all its rules, their details, and the row
numbers the details refer to). `rejected_rows` gives those rows back exactly as read
(raw text, in file order) with their provenance (DOMAIN.md §7): source file, physical
line, rules and detail, the line numbers filled into the details.
"""

from __future__ import annotations

import pyarrow as pa

from ..sources import Source, engine, line_numbers, raw_view, rows_are_lines
from . import names
from .rules import Check, rule_ids

PROVENANCE = ("source_file", "source_line", "rule", "detail")
"""Columns appended to every rejected row."""


def rejections(src: Source, table: str, checks: list[Check]) -> None:
    """`q_rej_<t>(__rn, rule, detail, dup_ref, repeat_ref)`: one row per rejected row, all its rules."""
    rel = names.TableRelations(table)
    if not checks:
        engine.execute(
            src.con,
            f"CREATE OR REPLACE TEMP TABLE {rel.rejections} AS SELECT {names.ROW}, ''::VARCHAR AS rule, "
            "''::VARCHAR AS detail, NULL::BIGINT AS dup_ref, NULL::BIGINT AS repeat_ref "
            f"FROM {rel.captured} WHERE false",
        )
        return
    order = {r: i for i, r in enumerate(rule_ids())}
    flags = sorted(checks, key=lambda c: order[c.rule])
    joins = " ".join(dict.fromkeys(c.join for c in flags if c.join))
    columns = "".join(", " + col for c in flags for col in c.columns)
    rule = ", ".join(f"CASE WHEN {c.when} THEN '{c.rule}' END" for c in flags)
    detail = ", ".join(f"CASE WHEN {c.when} THEN '{c.rule}: ' || ({c.detail}) END" for c in flags)
    any_flag = " OR ".join(f"({c.when})" for c in flags)
    refs = [c for c in flags if c.ref is not None]
    dup_ref = f"CASE WHEN {refs[0].when} THEN {refs[0].ref} END" if refs else "NULL::BIGINT"
    row = f"SELECT a.*{columns} FROM {rel.captured} a {joins}"
    engine.execute(
        src.con,
        f"CREATE OR REPLACE TEMP TABLE {rel.rejections} AS "
        f"SELECT {names.ROW}, concat_ws(';', {rule}) AS rule, concat_ws('; ', {detail}) AS detail, "
        f"{dup_ref} AS dup_ref, NULL::BIGINT AS repeat_ref FROM ({row}) WHERE {any_flag}",
    )


def empty_rejected(src: Source, table: str) -> pa.Table:
    """No rejected rows, with the columns a quarantine file of this table has."""
    cols = ", ".join(
        f"{engine.quote(c)} AS {engine.quote(src.as_read(table, c))}"
        for c in src.raw[table].columns
    )
    return engine.arrow(
        src.con,
        f"SELECT {cols}, NULL::VARCHAR AS source_file, NULL::BIGINT AS source_line, "
        f"NULL::VARCHAR AS rule, NULL::VARCHAR AS detail FROM {engine.quote(raw_view(table))} LIMIT 0",
    )


def rejected_rows(src: Source, table: str, rows_in: int, shown_path: str) -> pa.Table:
    """The rejected rows as read (raw text), in file order, with their file, line, rules and detail.

    `shown_path` is the file as the quarantine names it (relative to the project).
    """
    path = src.files[table]
    rel = names.TableRelations(table)
    rej = rel.rejections
    encoding = src.encodings.get(table, "utf-8")
    if path.endswith(".csv") and not rows_are_lines(path, rows_in, encoding):
        wanted = [
            int(r[0])
            for r in engine.rows(
                src.con,
                f"SELECT {names.ROW} FROM {rej} UNION SELECT dup_ref FROM {rej} WHERE dup_ref IS NOT NULL "
                f"UNION SELECT repeat_ref FROM {rej} WHERE repeat_ref IS NOT NULL",
            )
        ]
        lines = line_numbers(path, wanted, encoding)
        numbers = pa.table(
            {
                "rn": pa.array(list(lines), pa.int64()),
                "line": pa.array(list(lines.values()), pa.int64()),
            }
        )
        with engine.registered(src.con, names.LINES_ARROW, numbers):
            engine.execute(
                src.con,
                f"CREATE OR REPLACE TEMP TABLE {names.LINES} AS SELECT * FROM {names.LINES_ARROW}",
            )

        def line(col: str) -> str:
            return f"(SELECT line FROM {names.LINES} WHERE rn = {col})"
    else:
        offset = 1 if path.endswith(".csv") else 0

        def line(col: str) -> str:
            return f"({col} + {offset})"

    raw_cols = list(src.raw[table].columns)
    taken = {src.as_read(table, c) for c in raw_cols}
    out_names = [c if c not in taken else f"quality_{c}" for c in PROVENANCE]
    select_raw = ", ".join(
        f"r.__raw_{i} AS {engine.quote(src.as_read(table, c))}" for i, c in enumerate(raw_cols)
    )
    detail = (
        f"replace(replace(q.detail, '{{dup_ref}}', coalesce(CAST({line('q.dup_ref')} AS VARCHAR), '?')), "
        f"'{{repeat_ref}}', coalesce(CAST({line('q.repeat_ref')} AS VARCHAR), '?'))"
    )
    if table in src.specs:  # the detail names the user's columns, as the file does
        detail = src.specs[table].worded(detail)
    sql = (
        f"SELECT {select_raw}, {engine.literal(shown_path)} AS {engine.quote(out_names[0])}, "
        f"{line('q.' + names.ROW)} AS {engine.quote(out_names[1])}, q.rule AS {engine.quote(out_names[2])}, "
        f"{detail} AS {engine.quote(out_names[3])} "
        f"FROM {rel.captured} r JOIN {rej} q ON q.{names.ROW} = r.{names.ROW} ORDER BY r.{names.ROW}"
    )
    return engine.arrow(src.con, sql)
