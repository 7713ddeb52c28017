"""The comparison page at scale: which children a chart draws, and what the page says.

The selection tests put a synthetic node with many children into a real pack context of
the tiny project (its rows written here, so every rank is known); the slow test computes
a small three-level sample company and renders one region's real pack.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from reportlib import comparison as cmp
from reportlib.config import load_project
from reportlib.hierarchy import Hierarchy, Node
from reportlib.packdata import PackContext, load_context
from reportlib.pipeline import compute

from .conftest import write_project

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> PackContext:
    """The tiny project's company-wide context (real project, KPIs and settings)."""
    config = write_project(tmp_path_factory.mktemp("comparison"))
    project = load_project(config)
    compute(project, "2026-03", accept_quality="tiny fixture: the rows are planted on purpose")
    return load_context(project, "2026-03", "all")


def _tree(n: int) -> Hierarchy:
    """`all` with n segments named Branch 00.. (ids b00..), so the tiny project's levels fit."""
    root = Node(id="all", name="Tiny Co", level=0, keys=(), parent=None)
    children = tuple(
        Node(id=f"b{i:02d}", name=f"Branch {i:02d}", level=1, keys=(f"b{i:02d}",), parent="all")
        for i in range(n)
    )
    return Hierarchy(levels=("segment", "region"), nodes=(root, *children))


def _context(base: PackContext, rows: list[dict[str, object]], n: int) -> PackContext:
    """`base` with a tree of n children and exactly `rows` as this period's figures."""
    tree = _tree(n)
    frame = pd.DataFrame(rows)
    current = frame.reindex(columns=base.current.columns)
    current["period"] = base.period
    return dataclasses.replace(base, tree=tree, node=tree.node("all"), current=current)


def _row(node: str, kpi: str, value: float | None, status: str, score: float | None) -> dict:
    return {
        "node": node,
        "kpi": kpi,
        "value": value,
        "n": 100,
        "status": status,
        "score": score,
        "ci_low": None,
        "ci_high": None,
    }


def _nps_rows(n: int = 40) -> list[dict[str, object]]:
    """NPS of n children: b00..b34 ranked (scores fall with the index, b10/b11 tie),
    b35..b37 with too few answers, b38..b39 without data."""
    rows = []
    for i in range(n):
        node = f"b{i:02d}"
        if i >= 38:
            rows.append(_row(node, "nps", None, "no-data", None))
        elif i >= 35:
            rows.append(_row(node, "nps", 50.0 + i, "insufficient", None))
        else:
            value = 60.0 - i if i != 11 else 50.0  # b11 ties b10 (value 50, score equal)
            score = min(10.0, max(0.0, (value - 25) / 3))
            status = "green" if score >= 20 / 3 else "amber" if score >= 10 / 3 else "red"
            rows.append(_row(node, "nps", value, status, score))
    return rows


def _ids(nodes: tuple[Node, ...]) -> list[str]:
    return [n.id for n in nodes]


def _svg_ids(svg: str) -> set[str]:
    return {el.get("id", "") for el in ET.fromstring(svg).iter()}


def _svg_text(svg: str) -> list[str]:
    return ["".join(el.itertext()) for el in ET.fromstring(svg).iter(f"{SVG}text")]


def test_up_to_the_limit_every_child_in_tree_order(base: PackContext) -> None:
    ctx = _context(base, _nps_rows(cmp.LIMIT)[: cmp.LIMIT], cmp.LIMIT)
    sel = cmp.select(ctx, "nps")
    assert not sel.limited
    assert _ids(sel.top) == [f"b{i:02d}" for i in range(cmp.LIMIT)]
    assert (sel.bottom, sel.others, sel.unranked) == ((), (), ())
    assert cmp.note(ctx, "nps") == cmp.lede(ctx) == ""
    assert {f"child-b{i:02d}" for i in range(cmp.LIMIT)} <= _svg_ids(
        cmp.comparison_chart(ctx, "nps")
    )


def test_beyond_the_limit_top_and_bottom_by_score_then_value_ties_by_id(
    base: PackContext,
) -> None:
    rows = _nps_rows()
    ctx = _context(base, rows, 40)
    sel = cmp.select(ctx, "nps")
    assert sel.limited and sel.total == 40
    assert _ids(sel.top) == ["b00", "b01", "b02", "b03", "b04"]
    assert _ids(sel.bottom) == ["b30", "b31", "b32", "b33", "b34"]  # worst last
    # b10 and b11 tie on score and value: the node id orders them.
    assert _ids(sel.others)[5:7] == ["b10", "b11"]
    assert len(sel.others) == 25
    assert _ids(sel.unranked) == ["b35", "b36", "b37", "b38", "b39"]
    # The same choice whatever the order of the scorecard's rows.
    shuffled = [rows[i] for i in np.random.default_rng(3).permutation(len(rows))]
    again = cmp.select(_context(base, shuffled, 40), "nps")
    assert (again.top, again.bottom, again.others, again.unranked) == (
        sel.top,
        sel.bottom,
        sel.others,
        sel.unranked,
    )


def test_status_ranks_before_value_and_direction_down_prefers_low_values(
    base: PackContext,
) -> None:
    # first_response_hours: lower is better. A green child with a higher value than an
    # amber one still ranks above it (its target differs), and among greens lower wins.
    rows = [
        _row(f"b{i:02d}", "first_response_hours", 2.0 + i / 10, "green", 8.0) for i in range(13)
    ]
    rows[0] = _row("b00", "first_response_hours", 1.0, "amber", 5.0)
    rows[12] = _row("b12", "first_response_hours", 9.0, "green", 9.5)
    sel = cmp.select(_context(base, rows, 13), "first_response_hours")
    assert _ids(sel.top) == ["b12", "b01", "b02", "b03", "b04"]
    assert _ids(sel.bottom)[-1] == "b00"


def test_chart_draws_only_the_top_and_bottom_and_the_page_says_so(base: PackContext) -> None:
    ctx = _context(base, _nps_rows(), 40)
    svg = cmp.comparison_chart(ctx, "nps")
    drawn = {i for i in _svg_ids(svg) if i.startswith("child-")}
    assert drawn == {f"child-b{i:02d}" for i in (0, 1, 2, 3, 4, 30, 31, 32, 33, 34)}
    assert {"group-range", "group-median"} <= _svg_ids(svg)
    text = _svg_text(svg)
    assert "1. Branch 00" in text and "35. Branch 34" in text and "25 others" in text
    assert "5 not ranked" in text
    assert not any("Branch 20" in t for t in text)
    note = cmp.note(ctx, "nps")
    assert note.startswith("Top 5 and bottom 5 of 40 segments; the other 25: median ")
    assert "5 not ranked (too few answers or no data), 3 of them with a value" in note
    assert cmp.lede(ctx).startswith("The 40 segments of Tiny Co: for each KPI the 5 best")


def test_no_child_ranked_is_said_not_drawn_as_dots(base: PackContext) -> None:
    rows = [_row(f"b{i:02d}", "nps", 10.0 + i, "insufficient", None) for i in range(20)]
    ctx = _context(base, rows, 20)
    svg = cmp.comparison_chart(ctx, "nps")
    assert not {i for i in _svg_ids(svg) if i.startswith("child-")}
    assert "20 not ranked" in _svg_text(svg)
    assert cmp.note(ctx, "nps").startswith("None of the 20 segments ranked; 20 not ranked")


def test_plural_of_level_names() -> None:
    assert [cmp.plural(w) for w in ("branch", "region", "country", "business_unit", "day")] == [
        "branches",
        "regions",
        "countries",
        "business units",
        "days",
    ]


@pytest.mark.slow
@pytest.mark.long
def test_three_level_company_region_pack_names_its_top_and_bottom_branches(
    tmp_path: Path,
) -> None:
    """A small three-level sample (13 branches per region, so regions pass the limit):
    computed, then one region's pack rendered; its comparison page names the branches."""
    from reportlib import notebook as rl
    from reportlib.sample import generate_sample

    root = tmp_path / "co"
    generate_sample(
        root / "data" / "sample",
        config_dir=root / "data",
        customers=2600,
        months=13,
        levels=3,
        branches=13,
    )
    config = root / "reportlib.toml"
    config.write_text(
        'data_dir = "data"\nsource = "data/sample"\noutput_dir = "output"\ntimezone = "UTC"\n',
        encoding="utf-8",
    )
    project = load_project(config)
    result = compute(project, None)
    node = "mid-market/emea"
    ctx = load_context(project, result.period, node)
    assert len(ctx.tree.children(node)) == 13
    assert len(ctx.tree.nodes) == 16 + 12 * 13
    sel = cmp.select(ctx, "revenue")
    assert sel.limited and len(sel.top) == 5 and len(sel.bottom) == 5

    figures = rl.all_charts(ctx)
    html = rl.render_html(ctx, figures, rl.commentary(ctx), ())
    pdf = rl.write_pdf(html, tmp_path / "pack.pdf", ctx=ctx)
    pages = [re.sub(r"\s+", " ", p.extract_text()) for p in PdfReader(pdf).pages]
    page = next(p for p in pages if p.startswith("Branch comparison"))
    following = " ".join(pages[pages.index(page) :])
    assert "The 13 branches of Mid-market · EMEA: for each KPI the 5 best" in page
    assert "Top 5 and bottom 5 of 13 branches" in following
    first, last = sel.top[0].name.split(" · ")[-1], sel.bottom[-1].name.split(" · ")[-1]
    rank_of_last = len(sel.top) + len(sel.others) + len(sel.bottom)
    assert f"1. {first}" in following and f"{rank_of_last}. {last}" in following
