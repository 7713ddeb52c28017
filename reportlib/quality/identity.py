"""Identity mapping (DOMAIN.md §7, `customer_aliases`): every id a fact table may use → its customer.

Fact tables carry no `source` column, so every alias maps its external_id whatever its
source. One external id mapped to two customers (also via an id that is itself a
different customer) is ambiguous and a DataError naming the ids and lines.

Two relations hold the mapping (`names.KNOWN`, `names.RESOLVE`): the kept customer ids,
made once `customers` is validated, and the resolution id → canonical customer id, made
from the kept customers and then widened with the kept aliases. A fact row's
customer_id is resolved with one LEFT JOIN (`resolved`).
"""

from __future__ import annotations

from ..errors import DataError, QualityGateError
from ..sources import Source, engine, line_numbers, raw_view
from . import names

ALIASES = "customer_aliases"


def resolved(rows_sql: str) -> str:
    """`rows_sql` with customer_id replaced by its customer's id, and `__resolved` saying
    whether it was a kept customer's or a kept alias's id."""
    return (
        "SELECT b.* REPLACE (coalesce(r.canonical, b.customer_id) AS customer_id), "
        f"r.canonical IS NOT NULL AS __resolved FROM ({rows_sql}) b "
        f"LEFT JOIN {names.RESOLVE} r ON r.id = b.customer_id"
    )


def create_ids(src: Source, table: str) -> None:
    """`q_ids_<t>`: the rows of `q_base_<t>` whose customer_id does not resolve to itself,
    with the customer it resolves to (NULL: unknown). The one join on the id's text."""
    rel = names.TableRelations(table)
    engine.execute(
        src.con,
        f"CREATE OR REPLACE TEMP TABLE {rel.ids} AS SELECT b.{names.ROW}, r.canonical "
        f"FROM (SELECT {names.ROW}, customer_id FROM {rel.base}) b "
        f"LEFT JOIN {names.RESOLVE} r ON r.id = b.customer_id "
        "WHERE r.canonical IS DISTINCT FROM b.customer_id",
    )


def by_row(table: str) -> str:
    """`q_base_<t>` with customer_id resolved as `resolved` does, through `q_ids_<t>`.

    A row not in `q_ids_<t>` has a kept customer's own id, which resolves to itself.
    """
    rel = names.TableRelations(table)
    return (
        "SELECT b.* REPLACE (coalesce(i.canonical, b.customer_id) AS customer_id), "
        f"i.{names.ROW} IS NULL OR i.canonical IS NOT NULL AS __resolved FROM {rel.base} b "
        f"LEFT JOIN {rel.ids} i ON i.{names.ROW} = b.{names.ROW}"
    )


def keep_customers(src: Source) -> None:
    """Record the kept customers (after `customers` is validated): every id resolves to itself."""
    kept = names.TableRelations("customers").kept
    engine.execute(
        src.con, f"CREATE OR REPLACE TEMP TABLE {names.KNOWN} AS SELECT customer_id FROM {kept}"
    )
    engine.execute(
        src.con,
        f"CREATE OR REPLACE TEMP TABLE {names.RESOLVE} AS "
        f"SELECT customer_id AS id, customer_id AS canonical FROM {names.KNOWN}",
    )


def keep_aliases(src: Source) -> None:
    """Add the kept aliases to the resolution; raise when an id would map to two customers."""
    # Every id the fact tables may use, to its customer: kept customers and kept aliases.
    # Unique per id, since an ambiguous mapping stopped the run in `check_ambiguous`.
    kept = names.TableRelations(ALIASES).kept
    engine.execute(
        src.con,
        f"CREATE OR REPLACE TEMP TABLE {names.RESOLVE} AS SELECT customer_id AS id, customer_id AS canonical "
        f"FROM {names.KNOWN} UNION SELECT external_id, customer_id FROM {kept}",
    )
    ids, distinct = engine.row(src.con, f"SELECT count(*), count(DISTINCT id) FROM {names.RESOLVE}")
    if ids != distinct:  # the fact tables' join would duplicate rows
        raise QualityGateError(
            f"identity mapping is not one id to one customer ({ids - distinct} ids)"
        )


def check_ambiguous(src: Source) -> None:
    """One external id mapped to two customers is an error naming the ids (and lines)."""
    typed = names.TableRelations(ALIASES).typed
    found = engine.rows(
        src.con,
        "SELECT external_id, list(DISTINCT customer_id ORDER BY customer_id), list(__rn ORDER BY __rn), "
        f"count(*) OVER () FROM {typed} GROUP BY external_id "
        "HAVING count(DISTINCT customer_id) > 1 ORDER BY min(__rn) LIMIT 1",
    )
    shadow = engine.rows(
        src.con,
        f"SELECT a.external_id, a.customer_id, a.__rn FROM {typed} a "
        f"JOIN {names.KNOWN} c ON c.customer_id = a.external_id "
        "WHERE a.customer_id <> a.external_id ORDER BY a.__rn LIMIT 3",
    )
    if not found and not shadow:
        return
    path = src.files[ALIASES]
    encoding = src.encodings.get(ALIASES, "utf-8")
    total = engine.scalar(src.con, f"SELECT count(*) FROM {engine.quote(raw_view(ALIASES))}")
    if found:
        ext, customers, rns, n_ids = found[0]
        lines = line_numbers(path, list(rns), encoding, total)
        where = ", ".join(str(lines.get(r, r)) for r in rns[:5])
        more = f" (and {n_ids - 1} more external ids)" if n_ids > 1 else ""
        raise DataError(
            f"ambiguous identity mapping: external id {ext!r} maps to customers "
            f"{', '.join(repr(c) for c in customers)} (lines {where}){more}",
            file=path,
            column="external_id",
        )
    ext, customer, rn = shadow[0]
    line = line_numbers(path, [rn], encoding, total)
    raise DataError(
        f"ambiguous identity mapping: external id {ext!r} (line {line.get(rn, rn)}) maps to "
        f"customer {customer!r} but is itself the id of another customer",
        file=path,
        column="external_id",
    )
