"""The charts written directly as SVG: same figures as the history, few elements, text as text."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from reportlib import charts, chartseries, packdata, svgwriter
from reportlib.config import load_project
from reportlib.formatting import missing
from reportlib.packdata import PackContext, load_context
from reportlib.pipeline import compute

from .conftest import write_project

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    config = write_project(tmp_path_factory.mktemp("charts-svg"))
    p = load_project(config)
    compute(p, "2026-03", accept_quality="tiny fixture: the rows are planted on purpose")
    return p


@pytest.fixture(scope="module")
def ctx(project) -> PackContext:
    return load_context(project, "2026-03", "all")


def element(svg: str, gid: str) -> ET.Element:
    root = ET.fromstring(svg)
    (found,) = [el for el in root.iter() if el.get("id") == gid]
    return found


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", d)]


def test_numbers_are_short_and_stable() -> None:
    assert svgwriter.num(1.0) == "1"
    assert svgwriter.num(1 / 3) == "0.33"
    assert svgwriter.num(-0.001) == "0"
    assert svgwriter.num(12.5) == "12.5"


def test_text_is_escaped_and_measured_in_the_pack_font() -> None:
    svg = svgwriter.Svg(100, 50)
    svg.text(10, 20, "A < B & C", 6.5, "#000")
    root = ET.fromstring(svg.render())
    (text,) = root.iter(f"{SVG}text")
    assert text.text == "A < B & C"
    assert "IBM Plex Sans" in root.get("font-family", "")
    narrow, wide = svgwriter.text_width("iii", 10), svgwriter.text_width("WWW", 10)
    assert 0 < narrow < wide
    assert svgwriter.text_width("WWW", 20) == pytest.approx(2 * wide)
    # names in a script the shipped font lacks are drawn by a system font: CJK is wide
    assert svgwriter.text_width("東京", 10) >= 2 * 9.9


def test_an_open_group_is_refused() -> None:
    svg = svgwriter.Svg(10, 10)
    svg.group("g")
    with pytest.raises(ValueError, match="left open"):
        svg.render()


def test_ticks_follow_the_round_steps() -> None:
    assert svgwriter.ticks(0.0, 100.0) == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert all(3.0 <= t <= 9.0 for t in svgwriter.ticks(3.0, 9.0))


@pytest.mark.parametrize("kpi", ["nps", "fcr", "revenue", "first_response_hours", "enps"])
def test_the_index_reads_what_packdata_reads(ctx: PackContext, kpi: str) -> None:
    found = chartseries.index(ctx)
    for node in ("all", "ent", "smb"):
        for months in (13, 24, None):
            want = packdata.series(ctx, kpi, node, months)
            got = found.series(node, kpi, months)
            assert list(got.period) == [str(p) for p in want["period"]]
            for column in ("value", "target", "threshold", "ci_low", "ci_high", "n"):
                expected = pd.to_numeric(want[column], errors="coerce").astype("float64")
                np.testing.assert_array_equal(getattr(got, column), expected.to_numpy())
            statuses = [None if missing(s) else str(s) for s in want["status"]]
            assert list(got.status) == statuses
        row = packdata.row(ctx, kpi, node)
        current = found.current(node, kpi)
        assert (row is None) == (current is None)
        if row is not None and current is not None:
            assert str(current["status"]) == str(row["status"])


def test_the_stepped_target_is_drawn_at_its_two_levels(ctx: PackContext) -> None:
    # fcr's company target drops from 60 to 45 in March 2026 (targets.csv in conftest).
    data = charts.trend_data(ctx, "fcr")
    svg = charts.trend_chart(ctx, "fcr")
    points = path_points(element(svg, "target-line").get("d", ""))
    assert len({y for _, y in points}) == 2
    # 60 before March, 45 from March: the line steps down the page (y grows downwards)
    assert points[0][1] < points[-1][1]
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    assert {60.0, 45.0} == {float(t) for t in data.target[np.isfinite(data.target)]}
    lo, hi = data.ylim
    assert lo < 45.0 < 60.0 < hi


def test_every_tick_label_of_the_data_is_in_the_chart(ctx: PackContext) -> None:
    for kpi in ("nps", "revenue", "first_response_hours"):
        data = charts.trend_data(ctx, kpi)
        texts = {t.text for t in ET.fromstring(charts.trend_chart(ctx, kpi)).iter(f"{SVG}text")}
        assert {t for _, t in data.yticks} <= texts
        assert {t for _, t in data.xticks} <= texts
        assert len(data.yticks) >= 2


def test_charts_are_few_elements_without_clip_paths(ctx: PackContext) -> None:
    made = charts.all_charts(ctx)
    for svg in (*made.trends.values(), *made.sparklines.values(), *made.comparison.values()):
        root = ET.fromstring(svg)
        assert not list(root.iter(f"{SVG}clipPath"))
        assert len(list(root.iter())) < 120
    assert charts.all_charts(ctx) == made  # same inputs, same bytes


def test_a_definition_change_in_the_windows_first_month_is_drawn(ctx: PackContext) -> None:
    months = ctx.project.settings.trend_months
    first = charts.trend_data(ctx, "fcr").labels[0]
    history = ctx.history.copy()
    at = (history["kpi"] == "fcr") & (history["period"] >= first)
    history.loc[at, "kpi_version"] = "2"
    changed = dataclasses.replace(ctx, history=history)
    data = charts.trend_data(changed, "fcr")
    before_window = ctx.history[(ctx.history["kpi"] == "fcr") & (ctx.history["period"] < first)]
    if len(before_window):  # a month before the window holds version 1: the break is at 0
        assert data.breaks == ((0, "1", "2"),)
    else:
        assert data.breaks == ()
    assert len(data.labels) <= months


def test_comparison_rows_carry_the_children_and_the_parent(ctx: PackContext) -> None:
    from reportlib import comparison

    d = comparison.comparison_data(ctx, "nps")
    assert d is not None
    assert [r.gid for r in d.rows] == ["child-ent", "child-smb"]
    assert np.isfinite(d.parent)
    revenue = comparison.comparison_data(ctx, "revenue")
    assert revenue is not None and not np.isfinite(revenue.parent)
    svg = charts.comparison_chart(ctx, "nps")
    texts = {t.text for t in ET.fromstring(svg).iter(f"{SVG}text")}
    assert {r.label for r in d.rows} <= texts
