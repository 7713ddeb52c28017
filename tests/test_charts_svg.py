"""The charts written directly as SVG: same figures as the history, few elements, text as text."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from reportlib import charts, chartseries, chartsvg, packdata, svgwriter
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


def texts_by_id(svg: str) -> dict[str, str]:
    return {
        el.get("id", ""): el.text or ""
        for el in ET.fromstring(svg).iter(f"{SVG}text")
        if el.get("id")
    }


def small_trend(value: list[float], target: float, threshold: float, **extra: object):
    n = len(value)
    v = np.array(value, dtype="float64")
    tg, th = np.full(n, target), np.full(n, threshold)
    ylim = charts.value_range("percent", v, tg, th)
    return charts.TrendData(
        labels=tuple(f"2026-0{i + 1}" for i in range(n)),
        xticks=(),
        value=v,
        ci_low=np.full(n, np.nan),
        ci_high=np.full(n, np.nan),
        show_ci=False,
        target=tg,
        threshold=th,
        below=np.zeros(n, dtype=bool),
        direction="up",
        ylim=ylim,
        yticks=tuple((t, f"{t:g}") for t in svgwriter.ticks(*ylim)),
        breaks=(),
        latest=("#1e7b34", "#1e7b34"),
        colours=(("red", "#f00"), ("amber", "#fa0"), ("green", "#0a0")),
        **extra,  # type: ignore[arg-type]
    )


def test_the_axis_holds_the_target_and_the_red_line_with_headroom(ctx: PackContext) -> None:
    # values far below both lines: the axis still reaches up to the target, with room above
    d = small_trend([20.0, 22.0, 21.0], target=80.0, threshold=60.0)
    lo, hi = d.ylim
    assert lo < 20.0 and hi > 80.0
    assert hi - 80.0 >= 0.05 * (80.0 - 20.0)
    # the same on every KPI of a real pack: target and red line inside the axis, not on its edge
    for k in ctx.project.kpis:
        data = charts.trend_data(ctx, k.id)
        lo, hi = data.ylim
        for line in (data.target, data.threshold, data.value):
            finite = line[np.isfinite(line)]
            if finite.size:
                assert lo < finite.min() and finite.max() < hi, k.id


def test_the_end_value_and_the_target_are_written_on_the_trend(ctx: PackContext) -> None:
    data = charts.trend_data(ctx, "fcr")
    assert data.target_text == "target 45.0%"  # March's target, after the step down
    labels = texts_by_id(charts.trend_chart(ctx, "fcr"))
    assert labels["target-label"] == "target 45.0%"
    assert labels["end-label"] == data.end_text
    assert data.end_text.endswith("%") and data.end_text[0].isdigit()
    revenue = charts.trend_data(ctx, "revenue")
    assert revenue.target_text == "" or revenue.target_text.startswith("target $")
    assert texts_by_id(charts.trend_chart(ctx, "revenue"))["end-label"].startswith("$")


def test_end_labels_that_would_overlap_are_pushed_apart() -> None:
    d = small_trend([70.0, 75.0, 80.0], target=80.0, threshold=60.0)
    d = dataclasses.replace(d, end_text="80.0%", target_text="target 80.0%")
    svg = charts.trend_svg(d, charts.DEFAULT_STYLE)
    root = ET.fromstring(svg)
    ys = {el.get("id"): float(el.get("y", "nan")) for el in root.iter(f"{SVG}text") if el.get("id")}
    assert abs(ys["end-label"] - ys["target-label"]) >= 6.5
    width = float(root.get("width", "0").removesuffix("pt"))
    for el in root.iter(f"{SVG}text"):
        if el.get("id") in ("end-label", "target-label"):
            right = float(el.get("x", "0")) + svgwriter.text_width(el.text or "", 6.5) * 1.06
            assert right <= width + 0.01
    # no value, no target: nothing written
    bare = dataclasses.replace(d, value=np.full(3, np.nan), latest=None, target_text="")
    assert texts_by_id(charts.trend_svg(bare, charts.DEFAULT_STYLE)) == {}


def test_comparison_dots_carry_their_values_and_own_targets(ctx: PackContext) -> None:
    from reportlib import comparison

    d = comparison.comparison_data(ctx, "fcr")
    assert d is not None
    labels = texts_by_id(charts.comparison_chart(ctx, "fcr"))
    svg = charts.comparison_chart(ctx, "fcr")
    for r in d.rows:
        if r.gid is None:
            continue
        row = chartseries.index(ctx).current(r.gid.removeprefix("child-"), "fcr")
        assert row is not None
        assert labels[f"value-{r.gid}"] == r.value_text
        if missing(row["target"]):
            assert f"target-text-{r.gid}" not in labels
            continue
        assert r.target == pytest.approx(float(row["target"]))
        assert labels[f"target-text-{r.gid}"] == r.target_text
        assert r.target_text.startswith("tgt ") and r.target_text.endswith("%")
        tick = element(svg, f"target-{r.gid}")
        assert tick is not None
        assert d.xlim[0] < r.target < d.xlim[1]


def test_the_sparkline_is_broken_at_a_definition_change(ctx: PackContext) -> None:
    history = ctx.history.copy()
    history.loc[history["kpi"] == "fcr", "kpi_version"] = "1"
    history.loc[(history["kpi"] == "fcr") & (history["period"] == ctx.period), "kpi_version"] = "2"
    data = charts.sparkline_data(dataclasses.replace(ctx, history=history), "fcr")
    assert data.breaks == (len(data.value) - 1,)
    assert charts.sparkline_data(ctx, "fcr").breaks == ()
    # drawn on a small series: two pieces, the second starting at the month of the change
    spark = chartsvg.SparkData(
        value=np.array([50.0, 52.0, 51.0, 40.0, 41.0]),
        target=np.full(5, 45.0),
        below=np.zeros(5, dtype=bool),
        xlim=(-0.5, 4.5),
        ylim=(35.0, 55.0),
        latest=None,
        breaks=(3,),
    )
    d = element(chartsvg.sparkline_svg(spark, charts.DEFAULT_STYLE), "series").get("d", "")
    first, second = d.split("M")[1:]
    assert first.count("L") == 2 and second.count("L") == 1
    whole = element(
        chartsvg.sparkline_svg(dataclasses.replace(spark, breaks=()), charts.DEFAULT_STYLE),
        "series",
    ).get("d", "")
    assert whole.count("M") == 1 and path_points(whole)[3] == path_points(d)[3]
