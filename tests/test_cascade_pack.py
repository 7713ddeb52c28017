"""The cascade in a real pack: heat-map page, escalations below the node, where a change came from.

The tiny project is computed for real; its history then gets, by hand, an escalation at
one region (FCR of Enterprise · United States red since January) and a company-wide FCR
fall whose split over the segments is worked out below, so the rendered PDF's text can
be checked against figures computed with a pencil.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from reportlib import commentary, render
from reportlib.charts import all_charts
from reportlib.commentary import drafts
from reportlib.config import Project, load_project
from reportlib.packdata import PackContext
from reportlib.pipeline import compute

from .conftest import write_project

PERIOD = "2026-03"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    p = load_project(write_project(tmp_path_factory.mktemp("cascade_pack")))
    compute(p, PERIOD, accept_quality="tiny fixture")
    return p


def _set(frame: pd.DataFrame, period: str, node: str, kpi: str, **values: object) -> pd.DataFrame:
    hit = (frame["period"] == period) & (frame["node"] == node) & (frame["kpi"] == kpi)
    assert hit.sum() == 1, (period, node, kpi)
    frame = frame.copy()
    for col, v in values.items():
        frame.loc[hit, col] = v
    return frame


def planted(ctx: PackContext) -> PackContext:
    """The tiny company with an escalation at ent/us and an FCR fall split over the segments.

    FCR, February -> March: Enterprise 80% of 2 -> 50% of 2, Small business 60% of 2 -> 50%
    of 2, so the company 70% of 4 -> 50% of 4: -20 pp. Weights stay 0.5, so all rate, no mix:
    Enterprise 0.5 * -30 = -15 pp, Small business 0.5 * -10 = -5 pp.
    """
    h = ctx.history
    for p in ("2026-01", "2026-02"):
        h = _set(h, p, "ent/us", "fcr", status="red", value=40.0, n=2)
    figures = {
        ("2026-02", "all"): (70.0, 4),
        ("2026-02", "ent"): (80.0, 2),
        ("2026-02", "smb"): (60.0, 2),
        (PERIOD, "all"): (50.0, 4),
        (PERIOD, "ent"): (50.0, 2),
        (PERIOD, "smb"): (50.0, 2),
    }
    for (p, node), (value, n) in figures.items():
        h = _set(h, p, node, "fcr", value=value, n=n)
    h = _set(
        h,
        PERIOD,
        "all",
        "fcr",
        prev_value=70.0,
        mom_delta=-20.0,
        status="green",
        target=45.0,
        threshold=30.0,
    )
    return dataclasses.replace(ctx, history=h, current=h[h["period"] == PERIOD].copy())


def text_of(pdf: Path) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(pdf).pages]


@pytest.mark.slow
def test_company_pack_surfaces_the_cascade(project: Project, tmp_path: Path) -> None:
    ctx = planted(render.load_context(project, PERIOD, "all"))
    assert ctx.escalations.empty  # the company itself: nothing escalated
    html = render.render_html(ctx, all_charts(ctx), commentary.load(project, PERIOD, "all"))
    pdf = render.write_pdf(html, tmp_path / "all.pdf", ctx=ctx)
    pages = text_of(pdf)

    # The heat-map opens the pack (after the cover and contents), worst first.
    heat = pages[2]
    assert "Scores by segment and region" in heat
    order = [heat.index(n) for n in ("Enterprise · United States", "Enterprise · Europe")]
    assert order == sorted(order)  # ent/us (overall 0.8, red) above ent/eu (4.5)
    assert "Scores by segment and region" in pages[1]  # listed in the contents
    # a map of 6 rows also shows every KPI at each segment, on the same page (no half page)
    grid = heat[heat.index("Every KPI by segment") :]
    assert grid.index("Revenue") < grid.index("First contact resolution") < grid.index("Attrition")
    assert "ENTERPRISE SMALL BUSINESS" in grid.upper()

    summary = next(p for p in pages if "Executive summary" in p and "Below this node" in p)
    assert "No escalations at this node itself." in summary
    assert "1 escalation below this node: 1 in Enterprise · United States" in summary
    assert (
        "First contact resolution −20.0 pp: Enterprise −15.0 pp, Small business −5.0 pp." in summary
    )

    esc = next(p for p in pages if "Escalations below this node" in p)
    below = esc[esc.index("Escalations below this node") :]
    assert "Enterprise · United States 1 escalation" in below
    assert "First contact resolution" in below
    assert "January 2026" in below  # red since

    # Headlines (reportlib/headlines.py): each page's point under its short name, which
    # stays the PDF bookmark.
    # No region has enough of its weight scored for an overall score: none is ranked.
    assert "Scores by segment and region None of the 4 regions has an overall score" in heat
    assert (
        "Escalations No escalation here; 1 KPI off target, not yet escalated; 1 below, "
        "in Enterprise · United States" in esc
    )
    assert "Executive summary Overall " in summary
    outline = [o.title for o in PdfReader(pdf).outline if not isinstance(o, list)]
    assert outline[:4] == ["Cover", "Contents", "Scores by segment and region", "Executive summary"]
    assert "Escalations" in outline


@pytest.mark.slow
def test_leaf_pack_has_no_heatmap_or_below(project: Project, tmp_path: Path) -> None:
    ctx = render.load_context(project, PERIOD, "ent/us")
    html = render.render_html(ctx, all_charts(ctx), commentary.load(project, PERIOD, "ent/us"))
    text = " ".join(text_of(render.write_pdf(html, tmp_path / "leaf.pdf", ctx=ctx)))
    assert "Scores by" not in text
    assert "Below this node" not in text
    assert "Escalations below this node" not in text


def test_draft_commentary_says_where_the_change_came_from(project: Project) -> None:
    ctx = planted(render.load_context(project, PERIOD, "all"))
    text = drafts.draft(ctx)
    assert "Where the changes came from (contributions of the nodes below):" in text
    assert (
        "- First contact resolution −20.0 pp: Enterprise −15.0 pp, Small business −5.0 pp." in text
    )
    assert "Below this node: 1 escalation (1 in Enterprise · United States);" in text


def test_draft_of_a_leaf_has_no_cascade(project: Project) -> None:
    text = drafts.draft(render.load_context(project, PERIOD, "ent/us"))
    assert "Where the changes came from" not in text
    assert "Below this node" not in text
