"""The warehouse path against a real PostgreSQL server and a DuckDB file (docs/warehouse.md).

The small sample company computed in its warehouse must give the scorecard, the quality
counts per rule and the quarantined rows of the CSV path; and no table may cross the
connection whole: every executed statement and every result set is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import sqlglot
import sqlglot.expressions as sge

from reportlib import pipeline
from reportlib.config import Settings, load_project
from reportlib.errors import ConfigError, DataError

from .conftest import Sample, write_config

pytestmark = pytest.mark.slow  # starts a PostgreSQL server (subprocesses)


KEYS = {
    "customers": "customer_id",
    "customer_aliases": "external_id",
    "survey_responses": "response_id",
    "tickets": "ticket_id",
    "revenue": "invoice_id",
}
"""The column naming a quarantined row of each table (workforce has none)."""


def _project(sample: Sample, root: Path, source: str, extra: str = "") -> Path:
    """A project over the sample's configuration whose tables are in `source`."""
    for name in ("kpis.yaml", "segments.yaml", "targets.csv"):
        (root / "data").mkdir(parents=True, exist_ok=True)
        (root / "data" / name).write_bytes((sample.root / "data" / name).read_bytes())
    return write_config(root, source, extra)


def _same_result(got: pipeline.ComputeResult, want: pipeline.ComputeResult) -> None:
    """The same scorecard, quality counts per table and rule, and quarantined rows (by id)."""
    assert len(want.scorecard.frame) > 0 and want.scorecard.frame["value"].notna().any()
    pd.testing.assert_frame_equal(got.scorecard.frame, want.scorecard.frame)
    assert got.quality is not None and want.quality is not None
    assert got.quality.gate.outcome == want.quality.gate.outcome
    for table, w in want.quality.tables.items():
        g = got.quality.tables[table]
        assert (g.rows_in, g.rows_kept, g.rows_quarantined) == (
            w.rows_in,
            w.rows_kept,
            w.rows_quarantined,
        ), table
        assert g.by_rule == w.by_rule, table
        if table not in KEYS:
            continue
        cols = [KEYS[table], "rule"]
        got_rows = got.quarantine[table].select(cols).to_pandas().sort_values(cols)
        want_rows = want.quarantine[table].select(cols).to_pandas().sort_values(cols)
        pd.testing.assert_frame_equal(
            got_rows.reset_index(drop=True), want_rows.reset_index(drop=True)
        )
    assert got.quality.n_reduced == want.quality.n_reduced


class Recorder:
    """Every statement sent to PostgreSQL and the rows each one brought back."""

    def __init__(self) -> None:
        self.fetched: list[list[object]] = []  # [statement, rows]
        self.by_cursor: dict[int, list[object]] = {}


@contextmanager
def recording() -> Iterator[Recorder]:
    """psycopg's cursors (plain and server-side) wrapped to record what crosses the connection."""
    import psycopg

    rec = Recorder()
    monkeypatch = pytest.MonkeyPatch()
    for cls in (psycopg.Cursor, psycopg.ServerCursor):
        execute = cls.execute

        def run(self: object, query: object, *args: object, _run=execute, **kw: object) -> object:
            entry: list[object] = [
                str(query.as_string(None) if hasattr(query, "as_string") else query),
                0,
            ]
            rec.fetched.append(entry)
            rec.by_cursor[id(self)] = entry
            return _run(self, query, *args, **kw)

        monkeypatch.setattr(cls, "execute", run)
        for method in ("fetchall", "fetchmany", "fetchone"):
            fetch = getattr(cls, method)

            def counted(self: object, *args: object, _fetch=fetch, **kw: object) -> object:
                out = _fetch(self, *args, **kw)
                n = (0 if out is None else 1) if not isinstance(out, list) else len(out)
                entry = rec.by_cursor.get(id(self))
                if entry is not None:
                    entry[1] = int(entry[1]) + n  # type: ignore[call-overload]
                return out

            monkeypatch.setattr(cls, method, counted)
    try:
        yield rec
    finally:
        monkeypatch.undo()


@dataclass(frozen=True)
class OnPostgres:
    """The sample computed on PostgreSQL, with what crossed the connection meanwhile."""

    config: Path
    result: pipeline.ComputeResult
    recorded: Recorder


@pytest.fixture(scope="module")
def on_postgres(
    sample: Sample, sample_postgres: str, tmp_path_factory: pytest.TempPathFactory
) -> OnPostgres:
    config = _project(sample, tmp_path_factory.mktemp("pg"), sample_postgres)
    with recording() as rec:
        result = pipeline.compute_scorecard(load_project(config))
    return OnPostgres(config, result, rec)


PLANTED = {
    "customers": {"duplicate_id"},
    "revenue": {"duplicate_id", "unknown_customer"},
    "survey_responses": {
        "duplicate_id",
        "repeat_response",
        "response_window",
        "score_range",
        "speeder",
        "unknown_customer",
    },
    "tickets": {"duplicate_id", "time_order", "unknown_customer"},
}
"""The rules the sample generator plants bad rows for (the comparisons below cover each)."""


def test_the_sample_plants_every_rule_the_comparisons_rely_on(sample: Sample) -> None:
    """The small sample still has a quarantined row of every planted rule and n-reduced KPIs,
    so comparing the warehouse's counts per rule with the CSV path's tests every rule."""
    assert sample.result.quality is not None
    hit = {
        t: {r for r, n in rep.by_rule.items() if n}
        for t, rep in sample.result.quality.tables.items()
    }
    assert {t: r for t, r in hit.items() if r} == PLANTED
    assert sample.result.quality.n_reduced


def test_postgres_warehouse_gives_the_csv_figures(
    sample: Sample, sample_postgres: str, on_postgres: OnPostgres
) -> None:
    result = on_postgres.result
    _same_result(result, sample.result)
    rows = result.quarantine["survey_responses"].to_pylist()
    assert rows and all(r["source_file"] == f"{sample_postgres}:survey_responses" for r in rows)
    assert all(isinstance(r["source_line"], int) and r["source_line"] > 0 for r in rows)
    details = {r["rule"]: r["detail"] for r in rows}
    assert details["duplicate_id"].endswith("(the first is kept)")
    assert "repeats the response on line" in details["repeat_response"]


def test_duckdb_file_warehouse_gives_the_csv_figures(
    sample: Sample, sample_duckdb: Path, tmp_path: Path
) -> None:
    config = _project(sample, tmp_path, str(sample_duckdb), 'compute = "warehouse"\n')
    project = load_project(config)
    from reportlib import sources

    src = sources.load(project)
    assert src.remote is not None and src.remote_kind == "duckdb"
    _same_result(pipeline.compute_scorecard(project, src=src), sample.result)


# --------------------------------------------------------------------------- nothing fetched whole


def test_no_table_crosses_the_connection_whole(sample: Sample, on_postgres: OnPostgres) -> None:
    recorder, config = on_postgres.recorded, on_postgres.config
    sizes = {t: r.rows_in for t, r in sample.result.quality.tables.items()}  # type: ignore[union-attr]
    project = load_project(config)
    cells = len(sample.result.tree.ids) * (project.settings.trend_months + 13)
    assert recorder.fetched and sum(int(n) for _, n in recorder.fetched) > 0  # type: ignore[call-overload]
    for statement, n in recorder.fetched:
        sql, rows = str(statement), int(n)  # type: ignore[call-overload]
        assert not _plain_select(sql, set(sizes)), sql[:300]
        read = _tables_read(sql) & set(sizes)
        if not read or rows == 0:
            continue
        if _aggregates(sql):  # figures per node x month (or fewer): never more than the cells
            assert rows <= cells, (rows, cells, sql[:300])
        else:  # rows as they are: only the suspects, a few percent of a table
            assert rows <= 0.1 * max(sizes[t] for t in read), (rows, sql[:300])


def _parsed(sql: str) -> sqlglot.expressions.Expression | None:
    try:
        return sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError:
        return None


def _tables_read(sql: str) -> set[str]:
    tree = _parsed(sql)
    return set() if tree is None else {t.name for t in tree.find_all(sge.Table)}


def _aggregates(sql: str) -> bool:
    """True when the result is grouped or aggregated rows: the outermost query groups, or
    projects or filters (no join) a query that does, or is a union of such queries."""
    return _grouped(_parsed(sql))


def _grouped(node: sge.Expression | None) -> bool:
    while isinstance(node, sge.Subquery | sge.Paren):
        node = node.this
    if isinstance(node, sge.Union):
        return _grouped(node.left) and _grouped(node.right)
    while isinstance(node, sge.Select):
        if node.args.get("group") or any(e.find(sge.AggFunc) for e in node.expressions):
            return True
        source = node.args.get("from") or node.args.get("from_")
        inner = source.this if source is not None else None
        # A projection or filter of one subquery has at most the subquery's rows.
        if not isinstance(inner, sge.Subquery) or node.args.get("joins"):
            return False
        return _grouped(inner)
    return False


def _plain_select(sql: str, tables: set[str]) -> bool:
    """True when `sql` returns an input table's rows as they are: no filter, group, join,
    aggregate or limit between the table and the result."""
    tree = _parsed(sql)

    def plain(node: sge.Expression | None) -> bool:
        if isinstance(node, sge.Subquery):
            return plain(node.this)
        if isinstance(node, sge.Table):
            return node.name in tables
        if not isinstance(node, sge.Select):
            return False
        if any(node.args.get(k) for k in ("where", "group", "joins", "limit", "having")):
            return False
        if any(e.find(sge.AggFunc) for e in node.expressions):
            return False
        source = node.args.get("from") or node.args.get("from_")
        return source is not None and plain(source.this)

    return plain(tree)


# --------------------------------------------------------------------------- settings and errors


def test_compute_defaults_by_source(tmp_path: Path) -> None:
    from reportlib import warehouse

    def chosen(source: str, compute: str | None = None) -> object:
        return warehouse.chosen(Settings(root=tmp_path, source=source, compute=compute))  # type: ignore[arg-type]

    wh = chosen("postgresql://u:secret@db/x")
    assert wh is not None and wh.kind == "postgres" and "secret" not in wh.shown  # type: ignore[attr-defined]
    assert chosen("postgresql://db/x", "local") is None
    assert chosen("data/x.duckdb") is None
    wh = chosen("data/x.duckdb", "warehouse")
    assert wh is not None and wh.kind == "duckdb"  # type: ignore[attr-defined]
    assert chosen("data/sample") is None
    assert chosen("sqlite://data/x.db") is None
    with pytest.raises(ConfigError, match="needs a PostgreSQL, Spark or DuckDB file source"):
        chosen("data/sample", "warehouse")


def test_a_wrongly_typed_column_is_one_error_naming_table_and_column(
    sample: Sample, tmp_path: Path
) -> None:
    import duckdb

    db = tmp_path / "wrong.duckdb"
    con = duckdb.connect(str(db))
    folder = sample.root / "data" / "sample"
    for name in ("customers", "survey_responses"):
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv('{folder / name}.csv', all_varchar = true)"
        )
    con.close()
    config = _project(sample, tmp_path, str(db), 'compute = "warehouse"\n')
    with pytest.raises(DataError) as e:
        pipeline.compute_scorecard(load_project(config))
    message = str(e.value)
    assert f"{db}:customers" in message and "column acquired_on" in message
    assert "natively typed" in message and "\n" not in message
