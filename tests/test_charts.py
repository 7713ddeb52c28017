"""Charts: valid, deterministic SVG with the target line, status bands, intervals and hollow months."""

from __future__ import annotations

import dataclasses
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from reportlib import charts, chartstyle, resources
from reportlib.config import load_project
from reportlib.packdata import PackContext, load_context
from reportlib.pipeline import compute

from .conftest import write_project

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    """The tiny project with its March 2026 scorecard computed and written."""
    config = write_project(tmp_path_factory.mktemp("charts"))
    p = load_project(config)
    compute(p, "2026-03", accept_quality="tiny fixture: the rows are planted on purpose")
    return p


@pytest.fixture(scope="module")
def ctx(project) -> PackContext:
    return load_context(project, "2026-03", "all")


def ids(svg: str) -> set[str]:
    """Every element id of an SVG document (artists carry their gid as id)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return {el.get("id") for el in root.iter() if el.get("id")}


@pytest.mark.parametrize("kpi", ["nps", "fcr", "revenue", "first_response_hours", "enps"])
def test_each_chart_is_valid_and_deterministic_svg(ctx: PackContext, kpi: str) -> None:
    for make in (charts.trend_chart, charts.sparkline, charts.comparison_chart):
        first, second = make(ctx, kpi), make(ctx, kpi)
        assert first == second, make.__name__
        ids(first)
        assert "<dc:date>" not in first
    ids(charts.overview_chart(ctx))


def test_trend_has_stepped_target_and_status_bands(ctx: PackContext) -> None:
    # fcr's company target drops from 60 to 45 in March 2026 (targets.csv in conftest).
    svg = charts.trend_chart(ctx, "fcr")
    found = ids(svg)
    assert {"target-line", "band-red", "band-amber", "band-green", "series", "latest"} <= found
    fig = charts.trend_figure(ctx, "fcr")
    (target,) = [line for line in fig.axes[0].get_lines() if line.get_gid() == "target-line"]
    ys = np.asarray(target.get_ydata(), dtype=float)
    assert set(ys[np.isfinite(ys)]) == {60.0, 45.0}


def test_months_below_min_n_are_hollow(ctx: PackContext) -> None:
    # NPS has 1 response in February and 7 in March, both below min n 30.
    fig = charts.trend_figure(ctx, "nps")
    lines = {line.get_gid(): line for line in fig.axes[0].get_lines()}
    hollow = lines["below-min-n"]
    assert len(hollow.get_xdata()) == 2
    assert hollow.get_markerfacecolor() == "white"
    # The main line skips them; a faint line still joins every month.
    assert np.isnan(np.asarray(lines["series"].get_ydata(), dtype=float)[-2:]).all()
    assert np.isfinite(np.asarray(lines["series-all"].get_ydata(), dtype=float)[-2:]).all()
    assert "below-min-n" in ids(charts.trend_chart(ctx, "nps"))
    assert "ci-band" in ids(charts.trend_chart(ctx, "nps"))
    # A census KPI has neither.
    assert not {"below-min-n", "ci-band"} & ids(charts.trend_chart(ctx, "fcr"))


def test_sparkline_marks_low_n_and_target(ctx: PackContext) -> None:
    assert {"below-min-n", "latest"} <= ids(charts.sparkline(ctx, "nps"))
    assert "target-line" in ids(charts.sparkline(ctx, "fcr"))


def test_definition_change_is_marked_in_the_trend(ctx: PackContext) -> None:
    history = ctx.history.copy()
    history.loc[(history["kpi"] == "fcr") & (history["period"] >= "2026-02"), "kpi_version"] = "2"
    changed = dataclasses.replace(ctx, history=history)
    assert "version-break-v1-v2" in ids(charts.trend_chart(changed, "fcr"))


def test_comparison_shows_children_and_parent_reference(ctx: PackContext, project) -> None:
    found = ids(charts.comparison_chart(ctx, "nps"))
    assert {"child-ent", "child-smb", "parent-line", "intervals"} <= found
    # Revenue at the parent is the children's sum: no reference line.
    assert "parent-line" not in ids(charts.comparison_chart(ctx, "revenue"))
    leaf = load_context(project, "2026-03", "ent/eu")
    assert charts.comparison_chart(leaf, "nps") == ""
    assert charts.all_charts(leaf).comparison == {}


def test_all_charts_cover_the_catalogue(ctx: PackContext) -> None:
    made = charts.all_charts(ctx)
    kpis = {k.id for k in ctx.project.kpis}
    assert set(made.trends) == set(made.sparklines) == set(made.comparison) == kpis
    assert made.overview.startswith("<?xml")


def test_chart_text_uses_the_pack_font(ctx: PackContext) -> None:
    assert "IBM Plex Sans" in charts.trend_chart(ctx, "fcr")
    assert resources.packaged("fonts").joinpath(chartstyle.FONT_FILES[0]).is_file()


@pytest.mark.parametrize(
    ("unit", "ticks", "labels"),
    [
        ("percent", [97.5, 98.0, 98.5, 99.0], ["97.5%", "98.0%", "98.5%", "99.0%"]),
        ("percent", [20, 40, 60], ["20%", "40%", "60%"]),
        ("currency", [0, 5e6, 10e6, 15e6], ["$0", "$5m", "$10m", "$15m"]),
        ("currency", [2.5e5, 5e5], ["$250k", "$500k"]),
        ("points", [-20, 0, 20], ["\u221220", "0", "20"]),
        ("hours", [2.5, 3.0], ["2.5 h", "3.0 h"]),
    ],
)
def test_tick_labels_tell_ticks_apart(unit: str, ticks: list[float], labels: list[str]) -> None:
    assert chartstyle.UnitFormatter(unit, "USD").format_ticks(ticks) == labels


def test_font_cache_is_written_once(ctx: PackContext) -> None:
    families = chartstyle.font_families()
    assert families[0] == chartstyle.FONT_FAMILY
    cached = list(Path(tempfile.gettempdir()).glob("reportlib-fonts-*/IBMPlexSans-Regular.ttf"))
    assert cached


def test_charts_record_is_read_only_and_replace_chart_returns_a_new_one(ctx: PackContext) -> None:
    made = charts.all_charts(ctx)
    with pytest.raises(TypeError):
        made.trends["nps"] = "<svg/>"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.overview = ""  # type: ignore[misc]
    fig = charts.trend_figure(ctx, "nps")
    fig.axes[0].set_title("adjusted in the notebook")
    changed = charts.replace_chart(made, "nps", fig)
    assert "adjusted in the notebook" in changed.trends["nps"]
    assert "adjusted in the notebook" not in made.trends["nps"]
    assert changed.trends["fcr"] == made.trends["fcr"] and changed.sparklines == made.sparklines
    spark = charts.replace_chart(made, "fcr", "<svg>spark</svg>", kind="sparkline")
    assert spark.sparklines["fcr"] == "<svg>spark</svg>" and spark.trends == made.trends
    assert (
        charts.replace_chart(made, "", "<svg>o</svg>", kind="overview").overview == "<svg>o</svg>"
    )
    with pytest.raises(ValueError, match="unknown chart kind"):
        charts.replace_chart(made, "nps", "<svg/>", kind="pie")  # type: ignore[arg-type]


def test_chart_style_travels_with_the_call(ctx: PackContext) -> None:
    plain = charts.trend_chart(ctx, "fcr")
    red = chartstyle.ChartStyle(series="#ff0000")
    styled = charts.trend_chart(ctx, "fcr", red)
    assert "#ff0000" in styled and "#ff0000" not in plain
    # The default is bound at definition: reassigning a module name changes nothing.
    assert charts.trend_chart(ctx, "fcr") == plain
