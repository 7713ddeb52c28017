"""The same inputs give the same bytes: scorecard.csv, scorecard.parquet, history.parquet.

Amounts are summed as decimals and the finest groups in a fixed order (measures.py), so
two computes on the same inputs write identical files, whichever order DuckDB's threads
add the rows in. The sample (5000 customers, thousands of invoices a month) is large enough
for DuckDB to sum in parallel.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from reportlib import fileio, hierarchy, measures, periods, pipeline, sources
from reportlib.config import load_project
from reportlib.layout import PeriodOutput
from reportlib.sample import generate_sample

from .conftest import write_project

PERIOD = "2026-03"


def _computed_hashes(config: Path, period: str | None) -> tuple[str, dict[str, str]]:
    project = load_project(config)
    result = pipeline.compute(project, period, accept_quality="fixture: the planted errors")
    out = PeriodOutput(project.settings.output_path, result.period)
    return result.period, {p.name: fileio.sha256(p) for p in out.scorecard_files}


def test_two_computes_of_the_tiny_project_give_identical_bytes(tiny: Path) -> None:
    _, first = _computed_hashes(tiny, PERIOD)
    _, second = _computed_hashes(tiny, PERIOD)
    assert sorted(first) == ["history.parquet", "scorecard.csv", "scorecard.parquet"]
    assert first == second


@pytest.mark.slow
@pytest.mark.long
def test_two_computes_of_the_sample_give_identical_bytes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate_sample(data / "sample", config_dir=data)
    config = tmp_path / "reportlib.toml"
    config.write_text(
        'data_dir = "data"\nsource = "data/sample"\noutput_dir = "output"\n', encoding="utf-8"
    )
    period, first = _computed_hashes(config, None)
    # A second output folder: a fresh compute, not a re-run that finds its own files.
    moved = tmp_path / "reportlib2.toml"
    moved.write_text(
        'data_dir = "data"\nsource = "data/sample"\noutput_dir = "output2"\n', encoding="utf-8"
    )
    period2, second = _computed_hashes(moved, period)
    _, third = _computed_hashes(config, period)
    assert period == period2
    assert first == second == third
    # No write-time metadata in the Parquet files: only pandas' schema and pyarrow's version.
    out = PeriodOutput(tmp_path / "output", period)
    meta = pq.read_metadata(out.scorecard_parquet)
    assert set(meta.metadata or {}) <= {b"pandas", b"ARROW:schema"}
    assert meta.created_by.startswith("parquet-cpp-arrow")


def test_sums_of_amounts_are_exact_to_the_cent(tmp_path: Path) -> None:
    """Decimal sums: invoices of 0.10 and 0.20 are 0.30, not 0.30000000000000004."""
    revenue = "invoice_id,customer_id,invoice_date,amount\n"
    revenue += "I1,C1,2026-03-05,0.10\nI2,C1,2026-03-20,0.20\n"
    config = write_project(tmp_path, tables={"revenue": revenue})
    project = load_project(config)
    src = sources.load(project)
    tree = hierarchy.build(project.hierarchy, measures.combos(src, project.hierarchy.levels))
    month = periods.month_index(2026, 3)
    m = measures.compute(src, tree, month, month)
    assert 0.1 + 0.2 != 0.3  # what float addition gives
    assert m.frame.loc[("all", month), "revenue"] == 0.3
    assert m.frame.loc[("all", month), "invoices"] == 2


@pytest.mark.slow
@pytest.mark.long
def test_two_renders_of_a_pack_give_identical_bytes(tiny: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from reportlib import render

    project = load_project(tiny)
    pipeline.compute(project, PERIOD, accept_quality="fixture: the planted errors")
    first = render.build_pack(project, PERIOD, "all", tmp_path / "first.pdf")
    second = render.build_pack(project, PERIOD, "all", tmp_path / "second.pdf")
    assert fileio.sha256(first) == fileio.sha256(second)
    # The dates are the data cut-off (settings as_of 2026-03-31 12:00 UTC), not the render time.
    info = PdfReader(first).metadata
    assert info is not None
    assert info["/CreationDate"].startswith("D:20260331120000")
    assert info["/ModDate"].startswith("D:20260331120000")
