"""A real quarterly board pack: its words say quarter, its changes QoQ (DOMAIN.md §8)."""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from reportlib import render
from reportlib.config import load_project
from reportlib.pipeline import compute

from .conftest import write_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quarter_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    config = write_project(tmp_path_factory.mktemp("quarter_pack"))
    project = load_project(config)
    compute(project, "2026-Q1")
    pdf = render.build_pack(project, "2026-Q1", "all")
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


def test_the_quarterly_pack_names_its_quarter(quarter_text: str) -> None:
    assert "Q1 2026" in quarter_text
    assert "QoQ against Q4 2025" in quarter_text
    assert "YoY against the same quarter a year earlier" in quarter_text


def test_the_quarterly_pack_says_quarter_not_month(quarter_text: str) -> None:
    # The catalogue's definitions (after the appendix's last "Methodology" heading) are
    # monthly texts; the pack says how to read them. Everything before says quarter.
    pack, method = quarter_text.rsplit("Methodology", 1)
    assert "MoM" not in quarter_text
    assert "this month" not in pack
    assert "last month" not in pack
    assert "quarters in a row" in pack  # the escalation rule, in the contents' key
    assert "This pack covers a quarter" in " ".join(method.split())
