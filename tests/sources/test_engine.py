"""The engine module: quoting, the month-index SQL, raw statements and Arrow registration."""

from __future__ import annotations

from datetime import datetime

import ibis
import pyarrow as pa
import pytest

from reportlib import periods
from reportlib.sources import engine


@pytest.fixture
def con() -> ibis.BaseBackend:
    return engine.connect("Europe/Berlin")


def test_quoting_survives_quotes_inside(con: ibis.BaseBackend) -> None:
    assert engine.quote('a"b') == '"a""b"'
    assert engine.literal("it's") == "'it''s'"
    weird = engine.quote('we"ird')
    engine.execute(con, f"CREATE TEMP TABLE {weird} AS SELECT 1 AS x")
    assert engine.scalar(con, f"SELECT {engine.literal(chr(39) * 2)} AS v") == "''"
    assert engine.rows(con, f"SELECT x FROM {weird}") == [(1,)]


def test_the_month_index_sql_is_the_periods_formula(con: ibis.BaseBackend) -> None:
    sql = engine.month_index("year(d)", "month(d)")
    assert sql == "(year(d) * 12 + month(d) - 1)"
    for year, month in ((2026, 1), (2026, 12), (1999, 7)):
        got = engine.scalar(con, f"SELECT {sql} FROM (SELECT DATE '{year}-{month:02d}-15' AS d)")
        assert got == periods.month_index(year, month) == periods.parse(f"{year}-{month:02d}")


def test_session_settings_and_results(con: ibis.BaseBackend) -> None:
    assert engine.scalar(con, "SELECT current_setting('TimeZone')") == "Europe/Berlin"
    assert engine.row(con, "SELECT 1, 'a'") == (1, "a")
    assert engine.arrow(con, "SELECT 2 AS n").to_pylist() == [{"n": 2}]
    engine.execute(
        con, "CREATE TEMP TABLE t AS SELECT 1::BIGINT AS a, 'x' AS b, DATE '2026-03-01' AS c"
    )
    assert engine.column_types(con, "t") == {"a": "BIGINT", "b": "VARCHAR", "c": "DATE"}
    assert (
        engine.timestamp(datetime(2026, 3, 1, 12, 30)) == "TIMESTAMP '2026-03-01 12:30:00.000000'"
    )


def test_a_registered_arrow_table_is_visible_only_inside_the_block(con: ibis.BaseBackend) -> None:
    table = pa.table({"rn": [1, 2], "line": [2, 4]})
    with engine.registered(con, "lines_arrow", table) as name:
        assert engine.rows(con, f"SELECT line FROM {name} ORDER BY rn") == [(2,), (4,)]
    with pytest.raises(engine.Error):
        engine.execute(con, "SELECT * FROM lines_arrow")


def test_error_messages_keep_the_useful_line() -> None:
    csv_error = Exception(
        "Invalid Input Error: CSV Error on Line: 7\nsomething\nExpected Number of Columns: 3 Found: 4"
    )
    assert engine.error_message(csv_error) == "line 7: Expected Number of Columns: 3 Found: 4"
    assert engine.error_message(Exception("Conversion Error: bad date")) == "bad date"
    assert engine.error_message(Exception("CSV Error on Line: 3\nnothing known")) == (
        "line 3: the row cannot be read as CSV"
    )


def test_the_memory_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(engine.MEMORY_LIMIT_VARIABLE, raising=False)
    assert engine.memory_limit() is None
    monkeypatch.setenv(engine.MEMORY_LIMIT_VARIABLE, " 300MB ")
    assert engine.memory_limit() == "300MB"
    con = engine.connect("UTC")
    # DuckDB reports the cap in MiB: 300 MB = 286.1 MiB.
    assert engine.scalar(con, "SELECT current_setting('memory_limit')") == "286.1 MiB"
    # A capped engine still answers (what does not fit spills to the temporary folder).
    assert (
        engine.scalar(
            con, "SELECT count(*) FROM (SELECT range FROM range(100000) ORDER BY random())"
        )
        == 100000
    )


def test_a_memory_limit_that_is_not_a_size_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reportlib.errors import ConfigError

    monkeypatch.setenv(engine.MEMORY_LIMIT_VARIABLE, "lots")
    with pytest.raises(ConfigError, match=r"REPORTLIB_MEMORY_LIMIT='lots' is not a memory size"):
        engine.connect("UTC")
