"""Helpers shared by the quality tests: a tiny project with some tables replaced, and views
of a validation's result as plain rows and as report.json's dict."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from reportlib import quality, sources
from reportlib.config import load_project

from ..conftest import write_project

HEADER = (
    "response_id,customer_id,survey,score,sent_at,responded_at,channel,duration_seconds,comment\n"
)


def project(root: Path, *, quality_toml: str = "", **tables: str) -> Path:
    """The tiny project with some tables replaced and extra [quality] settings."""
    config = write_project(root, tables={k: textwrap.dedent(v) for k, v in tables.items()})
    if quality_toml:
        text = config.read_text().replace("[quality]\n", "[quality]\n" + quality_toml + "\n")
        config.write_text(text)
    return config


def check(config: Path, period: str = "2026-03") -> quality.QualityResult:
    proj = load_project(config)
    return quality.validate(proj, sources.load(proj), period)


def report_of(result: quality.QualityResult) -> dict[str, Any]:
    """The report as report.json holds it."""
    return result.report.to_dict()


def rejected(result: quality.QualityResult, table: str) -> list[dict[str, object]]:
    return result.rejected[table].to_pylist()


def by_id(result: quality.QualityResult, table: str, key: str) -> dict[object, dict[str, object]]:
    return {r[key]: r for r in rejected(result, table)}


def kept_ids(result: quality.QualityResult, table: str, key: str) -> list[str]:
    return sorted(result.source.tables[table].execute()[key].tolist())


def surveys(*rows: str) -> str:
    return HEADER + "".join(r + "\n" for r in rows)


def speeders(n: int) -> str:
    return "".join(
        f"Z{i},C{1 + i % 5},csat,4,2026-03-{1 + i:02d} 09:00:00,2026-03-{1 + i:02d} 10:00:00,email,1,\n"
        for i in range(n)
    )
