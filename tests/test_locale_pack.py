"""A German-speaking company with regions in three scripts: the pack and the email in de_DE.

Node ids are ASCII (folders, CSV `node`), names keep the data's text, figures and months follow
the locale, and the scorecard CSV stays machine-readable.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from reportlib import commentary, layout, packdata, render
from reportlib.charts import Charts, comparison_chart, trend_chart
from reportlib.config import Project, load_project
from reportlib.deliver.message import email_view
from reportlib.pipeline import compute

from .conftest import CUSTOMERS, WORKFORCE, write_project

PERIOD = "2026-03"
NBSP = "\u00a0"
REGIONS = {",ent,eu,": ",ent,München,", ",ent,us,": ",ent,中国,", ",smb,eu,": ",smb,日本,"}


def _regions(text: str) -> str:
    for old, new in REGIONS.items():
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    config = write_project(
        tmp_path_factory.mktemp("locale"),
        tables={"customers": _regions(CUSTOMERS), "workforce": _regions(WORKFORCE)},
        settings='timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\n'
        'locale = "de_DE"\ncurrency = "EUR"\n',
    )
    p = load_project(config)
    compute(p, PERIOD)
    return p


def test_node_ids_are_ascii_and_names_keep_the_text(project: Project) -> None:
    card = pd.read_csv(layout.PeriodOutput(project.settings.output_path, PERIOD).scorecard_csv)
    names = dict(zip(card["node"], card["node_name"], strict=False))
    assert names["ent/munchen"] == "Enterprise · München"
    assert names["ent/zhongguo"] == "Enterprise · 中国"
    assert names["smb/riben"] == "Small business · 日本"
    assert all(re.fullmatch(r"all|[a-z0-9-]+(/[a-z0-9-]+)?", n) for n in card["node"])


def test_scorecard_csv_stays_machine_readable(project: Project) -> None:
    out = layout.PeriodOutput(project.settings.output_path, PERIOD)
    text = out.scorecard_csv.read_text(encoding="utf-8")
    assert "2026-03,all,Tiny Co,financial,revenue,340.0," in text
    assert "340,0" not in text and "€" not in text


@pytest.fixture(scope="module")
def pack_html(project: Project) -> str:
    ctx = packdata.load_context(project, PERIOD, "ent")
    no_charts = Charts({}, {}, {})  # the charts are checked on their own below
    notes = commentary.load(project, PERIOD, "ent")
    return html.unescape(render.render_html(ctx, no_charts, notes))


def test_pack_figures_and_months_in_german(pack_html: str) -> None:
    assert "März 2026" in pack_html
    assert "Februar 2026" in pack_html
    assert "March 2026" not in pack_html
    assert "31. März 2026, 12:00" in pack_html  # data as of
    assert f"260,00{NBSP}€" in pack_html  # Enterprise revenue: 120 + 150 − 10
    assert re.search(rf"\d,\d{NBSP}%", pack_html)  # percentages: decimal comma, spaced sign
    assert not re.search(r"\d\.\d%", pack_html)


def test_pack_of_a_non_latin_node_keeps_its_name(project: Project) -> None:
    ctx = packdata.load_context(project, PERIOD, "ent/zhongguo")
    notes = commentary.load(project, PERIOD, "ent/zhongguo")
    text = html.unescape(render.render_html(ctx, Charts({}, {}, {}), notes))
    assert "<title>Enterprise · 中国: customer-experience scorecard, März 2026</title>" in text
    assert "Board pack for Enterprise · 中国, part of Tiny Co" in text


def test_chart_axes_in_german(project: Project) -> None:
    ctx = packdata.load_context(project, PERIOD, "ent")
    text = html.unescape(trend_chart(ctx, "first_response_hours"))  # chart text stays text
    assert "Okt ’25" in text  # ticks every quarter: Apr, Jul, Okt, Jan
    assert "Oct ’25" not in text
    assert "1,5 h" in text
    children = html.unescape(comparison_chart(ctx, "revenue"))
    assert "München" in children and "中国" in children
    assert f"140{NBSP}€" in children


def test_email_in_german(project: Project) -> None:
    view = email_view(project, PERIOD, ["all", "ent/munchen", "ent/zhongguo"])
    assert view.period_name == "März 2026"
    assert [n.name for n in view.nodes] == ["Tiny Co", "Enterprise · München", "Enterprise · 中国"]
    assert all(re.fullmatch(r"–|\d+,\d", n.score) for n in view.nodes)
    assert view.movers
    for m in view.movers:  # no English decimal point (1.5); a German one is a comma (1,5)
        assert not re.search(r"\d\.\d{1,2}(?!\d)", m.prev + m.value + m.delta), m


def test_pack_folders_are_the_ascii_ids(project: Project) -> None:
    out = layout.PeriodOutput(project.settings.output_path, PERIOD)
    for node in ("ent/munchen", "ent/zhongguo", "smb/riben"):
        folder = out.node_dir(node)
        assert folder.relative_to(out.node_dir("all").parent).as_posix().isascii()
    assert isinstance(out.pack_pdf("ent/zhongguo"), Path)


def test_added_pages_in_the_locale_and_with_ascii_anchors() -> None:
    table = pd.DataFrame({"tickets": [1234, 56], "share %": [95.5, 4.5]}, index=["電話", "mail"])
    table.index.name = "channel"
    grid = render.page_table(table, "de_DE")
    assert [[c.text for c in r] for r in grid.rows] == [
        ["電話", "1.234", "95,5"],
        ["mail", "56", "4,5"],
    ]
    first = render.page_table(table).rows[0]
    assert [c.text for c in first] == ["電話", "1,234", "95.5"]  # en_US as before
    pages = render.add_page((), "売上の内訳", table=table, locale="de_DE")
    assert pages[0].id == "page-maishangnoneiyi"
    assert pages[0].table is not None and pages[0].table.rows[0][1].text == "1.234"
