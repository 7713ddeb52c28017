"""Finding the rows a rule could reject (the suspects), with narrow set-based passes.

Tables are tens of millions of rows: nothing big is materialised or pulled into Python.
The typed rows are a view (`q_typed_<t>`); the suspects are found with one sort on a
hash of the key (duplicates are neighbours) and one pass over the typed rows for the
checks that have a `suspect` condition (DOMAIN.md §7 row rules and unknown_customer),
which for surveys rides along a sort by customer+survey hash and time (repeats are
neighbours). Only the suspects, a few percent of the rows, are then captured raw and
typed (`q_all_<t>`), and the rules run exactly on them (`reject.py`).
"""

from __future__ import annotations

from pathlib import Path

from ..sources import Source, TableSpec, engine, raw_view, typed_select_sql
from . import identity, names
from .rules import FACTS, SCALES, Check


def numbered(src: Source, table: str) -> str:
    """The raw rows with `__rn`, their 1-based position in the file (a subquery).

    Parquet gives exact row numbers in parallel; other sources are numbered in scan
    order, which DuckDB keeps while `preserve_insertion_order` is on (its default).
    """
    path = src.files[table]
    if path.endswith(".parquet") and Path(path).is_file():
        cols = ", ".join(
            f"{engine.quote(src.as_read(table, c))} AS {engine.quote(c)}"
            for c in src.raw[table].columns
        )
        return (
            f"(SELECT file_row_number + 1 AS {names.ROW}, {cols} "
            f"FROM read_parquet({engine.literal(path)}, file_row_number = true))"
        )
    return f"(SELECT row_number() OVER () AS {names.ROW}, * FROM {engine.quote(raw_view(table))})"


def typed_sql(src: Source, spec: TableSpec, rows: str, *, resolve: bool = True) -> str:
    """Typed rows of `rows` (raw columns + __rn): raw values kept as __raw_<i>, ids resolved.

    The `finite` columns are also read as DOUBLE (`names.number`) for the non_finite rule.

    A fact row's customer_id becomes its customer's id when it is a kept customer's or a
    kept alias's (`identity.resolved`); `__resolved` says whether it was either. With
    `resolve=False` the ids stay as read (`identity.by_row` resolves them later).
    """
    name = spec.name
    raw = ", ".join(f"{engine.quote(c)} AS __raw_{i}" for i, c in enumerate(src.raw[name].columns))
    typed = typed_select_sql(src.con, spec, raw_view(name), src.timezone)
    extra = (
        ", NULLIF(TRIM(CAST(score AS VARCHAR)), '') AS __score_text"
        if name == "survey_responses"
        else ""
    )
    extra += "".join(
        f", TRY_CAST({engine.quote(c.name)} AS DOUBLE) AS {names.number(c.name)}"
        for c in spec.columns
        if c.finite
    )
    sql = f"SELECT {names.ROW}, {raw}, {typed}{extra} FROM {rows}"
    if name == "survey_responses":
        known = ", ".join(f"'{k}'" for k in SCALES)
        survey = f"CASE WHEN survey IN ({known}) THEN survey ELSE lower(trim(survey)) END"
        sql = f"SELECT * REPLACE ({survey} AS survey) FROM ({sql})"
    if name in FACTS and resolve:
        sql = identity.resolved(sql)
    return sql


def create_typed(src: Source, spec: TableSpec) -> None:
    """The view `q_typed_<t>`: every row of the table, numbered, typed and resolved.

    It is `q_base_<t>` (ids as read) with, for a fact table, the ids resolved through
    `q_ids_<t>` (`identity.create_ids`, the one join on the ids' text).
    """
    rel = names.TableRelations(spec.name)
    rows = typed_sql(src, spec, numbered(src, spec.name), resolve=False)
    engine.execute(src.con, f"CREATE OR REPLACE TEMP VIEW {rel.base} AS {rows}")
    typed = f"SELECT * FROM {rel.base}"
    if spec.name in FACTS:
        identity.create_ids(src, spec.name)
        typed = identity.by_row(spec.name)
    engine.execute(src.con, f"CREATE OR REPLACE TEMP VIEW {rel.typed} AS {typed}")


def find(
    src: Source, spec: TableSpec, key: tuple[str, ...], checks: list[Check], dedupe_days: int
) -> None:
    """`q_sus(__rn)`: every row a rule could reject.

    Rows whose key hash equals a neighbour's in hash order may be duplicates; a filter
    finds the checks' suspects, and when `dedupe_days` is given (a table under
    repeat_response) it rides along a sort by customer+survey hash and time: responses
    within the dedupe window of a neighbour may be repeats.
    Hash collisions only add suspects: the rules then run exactly on them.
    """
    name = spec.name
    typed = names.TableRelations(name).typed
    bad = [f"({c.suspect})" for c in checks if c.suspect is not None]
    join = " ".join(dict.fromkeys(c.suspect_join for c in checks if c.suspect_join))
    any_bad = " OR ".join(bad) or "false"
    parts = []
    if key:
        parts.append(
            f"SELECT {names.ROW} FROM (SELECT {names.ROW}, __hk, lag(__hk) OVER w AS p, "
            f"lead(__hk) OVER w AS nx FROM (SELECT {names.ROW}, "
            f"hash({', '.join(engine.quote(k) for k in key)}) AS __hk FROM {numbered(src, name)}) "
            "WINDOW w AS (ORDER BY __hk)) WHERE __hk = p OR __hk = nx"
        )
    if dedupe_days > 0:
        # One scan of the typed rows for both: the row-local verdict rides along the sort.
        d = f"INTERVAL {int(dedupe_days)} DAY"
        parts.append(
            f"SELECT {names.ROW} FROM (SELECT {names.ROW}, __bad, __t, lag(__t) OVER w AS p, "
            f"lead(__t) OVER w AS nx FROM (SELECT {names.ROW}, hash(customer_id, survey) AS __g, "
            f"responded_at AS __t, coalesce({any_bad}, false) AS __bad FROM {typed} a {join}) "
            f"WINDOW w AS (PARTITION BY __g ORDER BY __t)) WHERE __bad OR __t - p < {d} OR nx - __t < {d}"
        )
    else:
        parts.append(f"SELECT {names.ROW} FROM {typed} a {join} WHERE {any_bad}")
    # UNION ALL: a row suspected twice is captured once all the same (a semi join).
    engine.execute(
        src.con, f"CREATE OR REPLACE TEMP TABLE {names.SUSPECTS} AS {' UNION ALL '.join(parts)}"
    )


def capture(src: Source, spec: TableSpec) -> None:
    """`q_all_<t>`: the suspects' rows, raw and typed, read once."""
    name = spec.name
    rows = (
        f"(SELECT n.* FROM {numbered(src, name)} n "
        f"SEMI JOIN {names.SUSPECTS} s ON s.{names.ROW} = n.{names.ROW})"
    )
    engine.execute(
        src.con,
        f"CREATE OR REPLACE TEMP TABLE {names.TableRelations(name).captured} AS "
        f"{typed_sql(src, spec, rows)}",
    )


def done(src: Source) -> None:
    """Drop the suspects of the table just validated."""
    engine.execute(src.con, f"DROP TABLE IF EXISTS {names.SUSPECTS}")
