"""Database sources against real engines: a DuckDB file, a SQLite file and a PostgreSQL server.

Each holds the tiny company of conftest.py (and its manual values) in its own types; the
scorecard computed from it must be the one computed from the CSV files, figure for figure.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pytest

from reportlib import pipeline, sources
from reportlib.config import load_project
from reportlib.errors import DataError
from reportlib.sources import database, engine

from ..conftest import load_postgres, write_project

PERIOD = "2026-03"
KPI_VALUES = (
    "period,node,kpi,value,n,author,reason\n"
    "2026-03,smb,logo_retention,50,2,Jane Analyst,Churn of C4 was reversed after the cut-off\n"
)
LEVELS = ("segment", "region")


def _tables(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob("*.csv"))}


def _types(name: str) -> dict[str, str]:
    specs = {s.name: s for s in sources.table_specs(LEVELS)}
    if name not in specs:
        return {}
    return {c.name: c.type for c in specs[name].columns}


def _rows(path: Path) -> tuple[list[str], list[list[str | None]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [[v if v != "" else None for v in row] for row in reader]


def _project(root: Path, source: str) -> Path:
    """The tiny project whose data is in `source` (its CSV copy stays under data/src)."""
    config = write_project(root, kpi_values=KPI_VALUES)
    text = config.read_text().replace('source = "data/src"', f'source = "{source}"')
    config.write_text(text)
    return config


def _scorecard(config: Path) -> pd.DataFrame:
    result = pipeline.compute_scorecard(load_project(config), PERIOD)
    return result.scorecard.frame


@pytest.fixture(scope="module")
def from_csv(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The scorecard computed from the CSV files: what every database must reproduce."""
    return _scorecard(write_project(tmp_path_factory.mktemp("csv"), kpi_values=KPI_VALUES))


def _same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert len(expected) > 0 and expected["value"].notna().any()
    pd.testing.assert_frame_equal(frame, expected)


# --------------------------------------------------------------------------- DuckDB


def _duckdb_file(root: Path, path: Path) -> None:
    """Each table typed by DuckDB's own CSV sniffing (timestamps, numbers, booleans)."""
    con = duckdb.connect(str(path))
    for name, csv_path in _tables(root / "data" / "src").items():
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{csv_path}')")
    con.close()


@pytest.mark.parametrize("form", ["path", "url"])
def test_a_duckdb_file_gives_the_csv_figures(
    tmp_path: Path, from_csv: pd.DataFrame, form: str
) -> None:
    db = tmp_path / "data" / "warehouse.duckdb"
    source = "data/warehouse.duckdb" if form == "path" else f"duckdb://{db}"
    config = _project(tmp_path, source)
    _duckdb_file(tmp_path, db)
    (tmp_path / "data" / "src").rename(tmp_path / "data" / "src-not-read")
    src = sources.load(load_project(config))
    assert src.files["tickets"] == f"{db}:tickets"
    assert src.manual is not None and src.manual[1] == f"{db}:kpi_values"
    _same(_scorecard(config), from_csv)


def test_a_duckdb_query_per_table_is_run_in_the_file(tmp_path: Path) -> None:
    db = tmp_path / "data" / "warehouse.duckdb"
    config = _project(tmp_path, "data/warehouse.duckdb")
    _duckdb_file(tmp_path, db)
    config.write_text(
        config.read_text()
        + '\n[tables.revenue]\nquery = "SELECT * FROM revenue WHERE amount > 0"\n'
    )
    src = sources.load(load_project(config))
    assert src.tables["revenue"].count().execute() == 6  # the credit note is left out


# --------------------------------------------------------------------------- SQLite


def _sqlite_file(root: Path, path: Path) -> None:
    """Text columns, numbers as REAL/INTEGER, empty cells as NULL."""
    con = sqlite3.connect(path)
    for name, csv_path in _tables(root / "data" / "src").items():
        header, rows = _rows(csv_path)
        types = _types(name)
        decl = {"int": "INTEGER", "float": "REAL", "score": "REAL"}
        cols = ", ".join(f'"{h}" {decl.get(types.get(h, ""), "TEXT")}' for h in header)
        con.execute(f'CREATE TABLE "{name}" ({cols})')
        marks = ", ".join("?" for _ in header)
        con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
    con.commit()
    con.close()


def test_a_sqlite_file_gives_the_csv_figures(tmp_path: Path, from_csv: pd.DataFrame) -> None:
    config = _project(tmp_path, "sqlite://data/warehouse.db")  # relative to the project
    _sqlite_file(tmp_path, tmp_path / "data" / "warehouse.db")
    (tmp_path / "data" / "src").rename(tmp_path / "data" / "src-not-read")
    _same(_scorecard(config), from_csv)


# --------------------------------------------------------------------------- PostgreSQL


def _db_name(tmp_path: Path) -> str:
    return "c_" + "".join(ch if ch.isalnum() else "_" for ch in tmp_path.name.lower())[:50]


@pytest.mark.slow  # starts a PostgreSQL server (subprocesses)
def test_a_postgresql_server_gives_the_csv_figures(
    tmp_path: Path, from_csv: pd.DataFrame, postgres_url: str
) -> None:
    config = write_project(tmp_path, kpi_values=KPI_VALUES)
    url = load_postgres(postgres_url, tmp_path / "data" / "src", _db_name(tmp_path))
    config.write_text(config.read_text().replace('source = "data/src"', f'source = "{url}"'))
    (tmp_path / "data" / "src").rename(tmp_path / "data" / "src-not-read")
    src = sources.load(load_project(config))
    assert src.files["customers"] == f"{url}:customers"
    assert src.manual is not None and src.manual[1] == f"{url}:kpi_values"
    _same(_scorecard(config), from_csv)


@pytest.mark.slow  # starts a PostgreSQL server (subprocesses)
def test_a_postgresql_query_and_renamed_columns(tmp_path: Path, postgres_url: str) -> None:
    """A per-table query over the user's own table, its columns named the user's way."""
    import psycopg

    config = write_project(tmp_path)
    url = load_postgres(postgres_url, tmp_path / "data" / "src", _db_name(tmp_path))
    with psycopg.connect(url, autocommit=True) as c:
        c.execute('ALTER TABLE revenue RENAME TO "Rechnungen"')
        c.execute('ALTER TABLE "Rechnungen" RENAME COLUMN amount TO "Betrag"')
    config.write_text(
        config.read_text().replace('source = "data/src"', f'source = "{url}"')
        + "\n[tables.revenue]\n"
        + 'query = "SELECT * FROM \\"Rechnungen\\" WHERE invoice_date >= \'2026-01-01\'"\n'
        + 'columns = { amount = "Betrag" }\n'
    )
    src = sources.load(load_project(config))
    revenue = src.tables["revenue"].execute()
    assert sorted(revenue["amount"]) == [-10.0, 80.0, 120.0, 150.0]
    assert src.files["revenue"] == f"{url}:revenue"


def test_an_unreachable_database_is_one_line_naming_it(tmp_path: Path) -> None:
    port = 1  # nothing listens on port 1
    config = _project(tmp_path, f"postgresql://someone:secret@127.0.0.1:{port}/nowhere")
    with pytest.raises(
        DataError, match=r"file postgresql://someone:\*\*\*@127.0.0.1:1/nowhere: cannot connect"
    ) as e:
        sources.load(load_project(config))
    assert "secret" not in str(e.value) and "\n" not in str(e.value)


# --------------------------------------------------------------------------- streaming in batches


def _streamed(
    remote: ibis.BaseBackend, table: str, chunk_rows: int
) -> tuple[list[int], int, object]:
    """Stream a remote table into a fresh DuckDB, watching each batch as DuckDB pulls it."""
    wanted = database.Wanted("revenue", table, {"invoice_id": "id", "amount": "amount"})
    stream = database.reader(remote, database.needed(remote.table(table), wanted), chunk_rows)
    sizes: list[int] = []

    def watched() -> Iterator[pa.RecordBatch]:
        for batch in stream:
            sizes.append(batch.num_rows)
            yield batch

    duck = engine.connect("UTC")
    rows = database.stream_into(
        duck, "raw_revenue", pa.RecordBatchReader.from_batches(stream.schema, watched())
    )
    assert list(engine.column_types(duck, "raw_revenue")) == ["invoice_id", "amount"]
    total = engine.scalar(duck, "SELECT sum(CAST(amount AS DOUBLE)) FROM raw_revenue")
    return sizes, rows, total


def test_a_sqlite_table_streams_in_bounded_batches(tmp_path: Path) -> None:
    """Never more than a batch of rows in Python: each batch is at most the chunk size."""
    db = tmp_path / "big.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (id INTEGER, amount REAL, unused TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?, 'x')", [(i, i / 2) for i in range(1000)])
    con.commit()
    con.close()
    sizes, rows, total = _streamed(ibis.connect(f"sqlite:///{db}"), "t", 64)
    assert rows == 1000 and total == sum(i / 2 for i in range(1000))
    assert max(sizes) <= 64 and len(sizes) == -(-1000 // 64)


@pytest.mark.slow  # starts a PostgreSQL server (subprocesses)
def test_a_postgresql_table_streams_in_bounded_batches(tmp_path: Path, postgres_url: str) -> None:
    import psycopg

    name = _db_name(tmp_path)
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE TABLE t AS SELECT i AS id, i / 2.0 AS amount, 'x' AS unused "
                  "FROM generate_series(0, 999) AS i")  # fmt: skip
    sizes, rows, total = _streamed(ibis.connect(url), "t", 64)
    assert rows == 1000 and total == sum(i / 2 for i in range(1000))
    assert max(sizes) <= 64 and len(sizes) == -(-1000 // 64)
