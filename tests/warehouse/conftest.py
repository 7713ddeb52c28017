"""Fixtures of the warehouse tests: a small sample company as CSV files, and the same rows
in a PostgreSQL database and a DuckDB file, each column in its native type."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from reportlib import pipeline, sources
from reportlib.config import load_project
from reportlib.sources.schema import MANUAL, MANUAL_COLUMNS

LEVELS = ("segment", "region")
SAMPLE = {"customers": 50, "months": 13, "seed": 5}
"""The smallest sample the generator makes (50 customers, 13 months): it still plants every
rule the 120-customer sample does (12 table-rule pairs) and some n-reduced KPIs."""

SQL_TYPES = {
    "postgres": {
        "string": "text",
        "period": "text",
        "date": "date",
        "timestamp": "timestamp",
        "int": "bigint",
        "float": "double precision",
        "score": "double precision",
        "bool": "boolean",
    },
    "duckdb": {
        "string": "VARCHAR",
        "period": "VARCHAR",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "int": "BIGINT",
        "float": "DOUBLE",
        "score": "DOUBLE",
        "bool": "BOOLEAN",
    },
}
SETTINGS = "[quality]\nallow_credit_notes = true\n"


@dataclass(frozen=True)
class Sample:
    """The sample project (CSV source) and what the embedded path computed from it."""

    root: Path
    config: Path
    result: pipeline.ComputeResult


def csv_tables(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob("*.csv"))}


def column_types(name: str, header: list[str], engine: str) -> dict[str, str]:
    """Each column of a sample table in the engine's native type (text when not canonical)."""
    specs = {s.name: s for s in sources.table_specs(LEVELS)}
    types = {c.name: c.type for c in specs[name].columns} if name in specs else {}
    if name == MANUAL:
        types = {c: "string" for c in MANUAL_COLUMNS}
    return {h: SQL_TYPES[engine][types.get(h, "string")] for h in header}


def header_of(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def write_config(root: Path, source: str, extra: str = "") -> Path:
    """A project over the sample's configuration files whose tables are in `source`."""
    config = root / "reportlib.toml"
    config.write_text(f'source = "{source}"\n{extra}{SETTINGS}', encoding="utf-8")
    return config


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """The small sample company, computed from its CSV files by the embedded DuckDB."""
    from reportlib.sample import generate_sample

    root = tmp_path_factory.mktemp("sample")
    generate_sample(root / "data" / "sample", config_dir=root / "data", **SAMPLE)
    config = write_config(root, "data/sample")
    return Sample(root, config, pipeline.compute_scorecard(load_project(config)))


def load_postgres(server: str, folder: Path, name: str) -> str:
    """A new database of the server holding the CSV tables of `folder`; its URL."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    url = server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url, autocommit=True) as c:
        for table, path in csv_tables(folder).items():
            types = column_types(table, header_of(path), "postgres")
            cols = ", ".join(f'"{h}" {t}' for h, t in types.items())
            c.execute(f'CREATE TABLE "{table}" ({cols})')
            with c.cursor().copy(f'COPY "{table}" FROM STDIN WITH (FORMAT csv, HEADER true)') as cp:
                cp.write(path.read_bytes())
    return url


def load_duckdb(folder: Path, path: Path) -> Path:
    """A DuckDB file holding the CSV tables of `folder`, natively typed."""
    con = duckdb.connect(str(path))
    for table, csv_path in csv_tables(folder).items():
        types = column_types(table, header_of(csv_path), "duckdb")
        spec = "{" + ", ".join(f"'{h}': '{t}'" for h, t in types.items()) + "}"
        con.execute(
            f"CREATE TABLE \"{table}\" AS SELECT * FROM read_csv('{csv_path}', header = true, "
            f"columns = {spec})"
        )
    con.close()
    return path


@pytest.fixture(scope="session")
def sample_postgres(sample: Sample, postgres_url: str) -> Iterator[str]:
    """The sample company in a database of the test PostgreSQL server; its URL."""
    yield load_postgres(postgres_url, sample.root / "data" / "sample", "wh_sample")


@pytest.fixture(scope="session")
def sample_duckdb(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample company in a DuckDB file."""
    folder = tmp_path_factory.mktemp("duckdb")
    return load_duckdb(sample.root / "data" / "sample", folder / "warehouse.duckdb")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Spark tests run only when asked for (`make test-spark`: `-m spark`): deselected otherwise."""
    if "spark" in (config.getoption("markexpr") or ""):
        return
    spark = [i for i in items if i.get_closest_marker("spark") is not None]
    if spark:
        config.hook.pytest_deselected(items=spark)
        items[:] = [i for i in items if i.get_closest_marker("spark") is None]
