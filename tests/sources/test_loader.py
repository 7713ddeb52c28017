"""Loading: schema checks name file, column and row; timestamps follow the project zone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from reportlib import sources
from reportlib.config import load_project
from reportlib.errors import DataError

from ..conftest import CUSTOMERS, TICKETS, write_project


def test_loads_typed_tables_and_as_of(tiny: Path) -> None:
    src = sources.load(load_project(tiny))
    assert set(src.tables) == {"customers", "survey_responses", "tickets", "revenue", "workforce"}
    assert src.as_of == datetime(2026, 3, 31, 12, 0)  # configured
    t = src.tables["tickets"].execute()
    assert t["sla_hours"].tolist()[:3] == [4.0, 4.0, 8.0]
    assert t["opened_at_month"].iloc[0] == 2026 * 12 + 2  # March


def test_as_of_defaults_to_latest_timestamp(tmp_path: Path) -> None:
    config = write_project(tmp_path, settings='timezone = "UTC"\n')
    src = sources.load(load_project(config))
    # T7's first response at 2026-03-31 13:00 is the latest timestamp in the tiny project.
    assert src.as_of == datetime(2026, 3, 31, 13, 0)
    assert sources.latest_complete_period(src) == "2026-02"


def test_missing_required_table(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    (tmp_path / "data" / "src" / "tickets.csv").unlink()
    with pytest.raises(DataError, match=r"tickets.csv: required table tickets is missing"):
        sources.load(load_project(config))


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    config = write_project(tmp_path, tables={"tickets": TICKETS.replace(",sla_hours", ",sla")})
    with pytest.raises(DataError) as e:
        sources.load(load_project(config))
    msg = str(e.value)
    assert (
        "tickets.csv" in msg
        and "column sla_hours" in msg
        and "required column(s) missing: sla_hours" in msg
    )


def test_unparseable_value_names_first_bad_row(tmp_path: Path) -> None:
    bad = CUSTOMERS.replace("C4,smb,eu,2025-03-01", "C4,smb,eu,01/03/2025")
    config = write_project(tmp_path, tables={"customers": bad})
    with pytest.raises(DataError) as e:
        sources.load(load_project(config))
    msg = str(e.value)
    assert "customers.csv" in msg and "column acquired_on" in msg and "row 4" in msg
    assert "'01/03/2025'" in msg and "not a valid date" in msg


def test_empty_required_value(tmp_path: Path) -> None:
    bad = TICKETS.replace("T3,C3,chat,2026-03-10 00:00:00", "T3,C3,chat,")
    config = write_project(tmp_path, tables={"tickets": bad})
    with pytest.raises(DataError, match=r"column opened_at, row 3: value is empty"):
        sources.load(load_project(config))


def test_empty_file(tmp_path: Path) -> None:
    config = write_project(tmp_path, tables={"revenue": ""})
    with pytest.raises(DataError, match=r"revenue.csv: the file is empty"):
        sources.load(load_project(config))


def test_semicolon_file(tmp_path: Path) -> None:
    config = write_project(tmp_path, tables={"customers": CUSTOMERS.replace(",", ";")})
    with pytest.raises(DataError, match="semicolon-separated"):
        sources.load(load_project(config))


def test_missing_source_folder(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    config.write_text(config.read_text().replace('"data/src"', '"data/nowhere"'))
    with pytest.raises(DataError, match="source folder does not exist"):
        sources.load(load_project(config))


def test_parquet_source_is_read_the_same(tmp_path: Path) -> None:
    import pandas as pd

    config = write_project(tmp_path)
    folder = tmp_path / "data" / "src"
    # Parquet keeps its own types: write tickets with real timestamps and numbers.
    t = pd.read_csv(
        folder / "tickets.csv", parse_dates=["opened_at", "first_response_at", "resolved_at"]
    )
    t.to_parquet(folder / "tickets.parquet", index=False)
    (folder / "tickets.csv").unlink()
    src = sources.load(load_project(config))
    assert src.files["tickets"].endswith("tickets.parquet")
    assert src.tables["tickets"].count().execute() == 7


def test_duckdb_file_source(tmp_path: Path) -> None:
    import duckdb

    config = write_project(tmp_path)
    folder = tmp_path / "data" / "src"
    db = tmp_path / "data" / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    for name in ("customers", "survey_responses", "tickets", "revenue", "workforce"):
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv('{folder / name}.csv', all_varchar=true)"
        )
    con.close()
    text = config.read_text().replace('source = "data/src"', 'source = "data/warehouse.duckdb"')
    config.write_text(text)
    src = sources.load(load_project(config))
    assert src.tables["survey_responses"].count().execute() == 15


def test_parquet_naive_timestamps_follow_project_zone(tmp_path: Path) -> None:
    """A typed naive timestamp is wall-clock time in the project zone, as text is (§1)."""
    import pandas as pd

    config = write_project(
        tmp_path, settings='timezone = "America/New_York"\nas_of = "2026-04-02T00:00:00"\n'
    )
    folder = tmp_path / "data" / "src"
    t = pd.read_csv(
        folder / "tickets.csv", parse_dates=["opened_at", "first_response_at", "resolved_at"]
    )
    t.loc[0, "opened_at"] = pd.Timestamp("2026-03-31 23:30:00")  # local, still March
    t.to_parquet(folder / "tickets.parquet", index=False)
    (folder / "tickets.csv").unlink()
    rows = sources.load(load_project(config)).tables["tickets"].execute().set_index("ticket_id")
    assert rows.loc["T1", "opened_at_month"] == 2026 * 12 + 2  # March, local time
    # The instant is UTC: 23:30 EDT is 03:30 UTC the next day.
    assert rows.loc["T1", "opened_at"] == pd.Timestamp("2026-04-01 03:30:00")
    assert rows.loc["T2", "opened_at"] == pd.Timestamp("2026-03-05 13:00:00")  # EST, UTC−5
