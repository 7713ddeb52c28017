"""Connecting to a warehouse: a DuckDB file's own engine takes the embedded engine's memory cap."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from reportlib.sources.engine import MEMORY_LIMIT_VARIABLE
from reportlib.warehouse import backend


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE customers AS SELECT 'C1' AS customer_id")
    con.close()
    return path


def _limit(remote: object) -> str:
    return str(remote.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0])  # type: ignore[attr-defined]


def test_a_duckdb_warehouse_takes_the_memory_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path)
    wh = backend.Warehouse(kind="duckdb", source=str(path), root=tmp_path)
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    uncapped = _limit(backend.connect(wh))
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "300MB")
    capped = _limit(backend.connect(wh))
    # DuckDB reports 300MB as 286.1 MiB (it reads MB as 10^6 bytes and shows MiB).
    assert capped == "286.1 MiB"
    assert uncapped != capped
