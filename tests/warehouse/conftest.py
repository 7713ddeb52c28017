"""Fixtures of the warehouse tests: a small sample company as CSV files, and the same rows
in a PostgreSQL database and a DuckDB file, each column in its native type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from reportlib import pipeline
from reportlib.config import load_project

from ..conftest import column_types, csv_tables, header_of, load_postgres

SAMPLE = {"customers": 50, "months": 13, "seed": 5}
"""The smallest sample the generator makes (50 customers, 13 months): it still plants every
rule the 120-customer sample does (12 table-rule pairs) and some n-reduced KPIs."""

SETTINGS = "[quality]\nallow_credit_notes = true\n"


@dataclass(frozen=True)
class Sample:
    """The sample project (CSV source) and what the embedded path computed from it."""

    root: Path
    config: Path
    result: pipeline.ComputeResult


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
