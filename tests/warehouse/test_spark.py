"""The warehouse path on Spark in local mode (`make test-spark`; needs PySpark and Java 17).

The small sample company is written as tables of a local Spark catalog, each column in
Spark's own type, and computed there: the scorecard, the quality counts per rule and the
quarantined rows must be those of the CSV path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reportlib import pipeline
from reportlib.config import load_project

from .conftest import Sample, column_types, csv_tables, header_of
from .test_pushdown import _project, _same_result

pytestmark = pytest.mark.spark

SPARK_TYPES = {
    "text": "STRING",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "bigint": "BIGINT",
    "double precision": "DOUBLE",
    "boolean": "BOOLEAN",
}
DATABASE = "wh_sample"


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A local Spark session (two cores, UTC), its catalog's files in a temporary folder."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    folder = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("reportlib-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(folder / "warehouse"))
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


def _load(spark: object, folder: Path) -> None:
    """Each CSV table of `folder` as a table of the Spark catalog, in file order (one file)."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")  # type: ignore[attr-defined]
    for table, path in csv_tables(folder).items():
        types = column_types(table, header_of(path), "postgres")
        schema = ", ".join(f"`{h}` {SPARK_TYPES[t]}" for h, t in types.items())
        frame = spark.read.csv(str(path), header=True, schema=schema)  # type: ignore[attr-defined]
        frame.coalesce(1).write.mode("overwrite").saveAsTable(f"{DATABASE}.{table}")


def test_spark_gives_the_csv_figures(sample: Sample, spark: object, tmp_path: Path) -> None:
    _load(spark, sample.root / "data" / "sample")
    config = _project(sample, tmp_path, f"spark://local/{DATABASE}")
    project = load_project(config)
    from reportlib import sources

    src = sources.load(project)
    assert src.remote is not None and src.remote_kind == "spark"
    _same_result(pipeline.compute_scorecard(project, src=src), sample.result)
