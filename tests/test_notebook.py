"""The notebook API (`reportlib.notebook`): what the notebooks call, and the warm-kernel reset."""

from __future__ import annotations

import dataclasses

import matplotlib
import pytest

from reportlib import charts, chartstyle, formatting, layout
from reportlib import notebook as rl

from .conftest import write_project

PERIOD = "2026-03"


def test_pack_period_computes_the_scorecard_when_missing(tmp_path) -> None:
    project = rl.open_project(write_project(tmp_path), tmp_path / "elsewhere")
    assert project.settings.output_path == tmp_path / "elsewhere"
    out = layout.PeriodOutput(project.settings.output_path, PERIOD)
    assert not out.scorecard_parquet.exists()
    assert rl.pack_period(project, PERIOD) == PERIOD
    assert all(f.is_file() for f in out.scorecard_files) and out.manifest.is_file()
    gate, table = rl.quality_summary(project, PERIOD)
    assert gate.startswith("quality gate passed") and "survey_responses" in table.index
    assert rl.quality_summary(project, "2026-02") is None
    ctx = rl.pack_context(project, PERIOD, "ent")
    summary = rl.summary_table(project, ctx.current)
    assert list(summary.index[:2]) == ["all", "ent"]
    assert rl.pdf_path(ctx) == out.pack_pdf("ent")
    assert rl.commentary(ctx).missing and rl.commentary_path(ctx).name == "ent.md"


def test_chart_style_changes_a_copy() -> None:
    style = rl.chart_style(series="#7b2d26")
    assert style.series == "#7b2d26" and rl.DEFAULT_STYLE.series == chartstyle.ChartStyle().series
    with pytest.raises(TypeError):
        rl.chart_style(colour="red")


def test_restore_module_state_puts_back_what_a_notebook_changed() -> None:
    rl.remember_module_state()
    dash, sketch = formatting.DASH, matplotlib.rcParams["path.sketch"]
    style = chartstyle.DEFAULT_STYLE
    try:
        formatting.DASH = "n/a"
        chartstyle.DEFAULT_STYLE = dataclasses.replace(style, series="#ff0000")
        charts.SERIES = "#ff0000"  # type: ignore[attr-defined]
        matplotlib.rcParams["path.sketch"] = (3, 20, 2)
        rl.restore_module_state()
        assert dash == formatting.DASH and chartstyle.DEFAULT_STYLE is style
        assert not hasattr(charts, "SERIES")
        assert matplotlib.rcParams["path.sketch"] == sketch
        # Submodules imported since are kept (the package's attribute is the module).
        import reportlib

        assert reportlib.charts is charts
    finally:
        formatting.DASH = dash
        chartstyle.DEFAULT_STYLE = style
        matplotlib.rcParams["path.sketch"] = sketch


def test_every_name_of_the_api_exists() -> None:
    assert [name for name in rl.__all__ if not hasattr(rl, name)] == []
