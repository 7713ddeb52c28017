"""The restatement page and the cover's flag on a period restated after a late response (§8)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from reportlib import commentary, layout, packdata, pipeline, render
from reportlib.charts import Charts
from reportlib.config import load_project
from reportlib.formatting import format_value
from reportlib.render import restatement_views

from .conftest import write_project
from .test_restate import LATE, PERIOD


@pytest.fixture(scope="module")
def restated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project computed, then recomputed after a late NPS response from C2 (ent/eu)."""
    root = tmp_path_factory.mktemp("restated-page")
    config = write_project(root)
    project = load_project(config)
    pipeline.compute(project, PERIOD)
    with (root / "data" / "src" / "survey_responses.csv").open("a", encoding="utf-8") as fh:
        fh.write(LATE)
    pipeline.compute(project, PERIOD)
    return config


def flat(outline: list) -> list:
    """A PDF's bookmarks at every level, in order."""
    out = []
    for item in outline:
        out += flat(item) if isinstance(item, list) else [item]
    return out


def notes() -> commentary.Commentary:
    return commentary.Commentary("all", PERIOD, None, {}, True)


def kept_and_now(config: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    project = load_project(config)
    out = layout.PeriodOutput(project.settings.output_path, PERIOD)
    old = pd.read_csv(out.version_dir(1) / out.scorecard_csv.name, dtype={"node": str})
    return old, pd.read_csv(out.scorecard_csv, dtype={"node": str})


def test_the_page_lists_every_changed_figure_with_both_statuses(restated: Path) -> None:
    project = load_project(restated)
    ctx = packdata.load_context(project, PERIOD, "all")
    view = restatement_views.restatement_view(ctx)
    assert view.shown and view.title == "Restatement: version 2"
    old, now = kept_and_now(restated)
    both = old.merge(now, on=["node", "kpi"], suffixes=("_old", "_new"))
    changed = both[
        (both["value_old"].fillna(-1e9) != both["value_new"].fillna(-1e9))
        | (both["n_old"].fillna(-1) != both["n_new"].fillna(-1))
        | (both["status_old"].fillna("") != both["status_new"].fillna(""))
    ]
    # the late response is C2's (ent/eu): NPS changes at the company, Enterprise and Europe
    assert {"all", "ent", "ent/eu"} <= set(changed[changed["kpi"] == "nps"]["node"])
    assert len(view.rows) == len(changed)
    names = {n: ctx.tree.node(n).name for n in changed["node"]}
    nps = [r for r in view.rows if r.kpi == "Net Promoter Score"]
    assert {r.node for r in nps} >= {names["all"], names["ent"], names["ent/eu"]}
    company = changed[(changed["node"] == "all") & (changed["kpi"] == "nps")].iloc[0]
    (row,) = [r for r in nps if r.node == names["all"]]
    assert row.before == format_value(company["value_old"], "points")
    assert row.after == format_value(company["value_new"], "points")
    assert row.change.startswith(("+", "−"))
    assert row.before_id == company["status_old"] and row.after_id == company["status_new"]
    assert "recomputed" in view.reason and "version 2" in view.reason
    # a pack below sees only its own subtree: Small business had no change
    small = restatement_views.restatement_view(packdata.load_context(project, PERIOD, "smb"))
    assert small.shown and small.rows == ()
    assert "None of the figures of Small business" in small.reason, small.reason


def test_the_listing_is_capped_and_counts_the_rest(restated: Path) -> None:
    ctx = packdata.load_context(load_project(restated), PERIOD, "all")
    full = restatement_views.restatement_view(ctx)
    capped = restatement_views.restatement_view(ctx, limit=2)
    assert capped.rows == full.rows[:2]
    assert capped.more == len(full.rows) - 2 > 0


def test_a_status_change_alone_is_listed(restated: Path) -> None:
    project = load_project(restated)
    ctx = packdata.load_context(project, PERIOD, "smb")
    current = ctx.current.copy()
    at = (current["node"] == "smb") & (current["kpi"] == "fcr")
    before = str(current.loc[at, "status"].iloc[0])
    current.loc[at, "status"] = "red" if before != "red" else "green"
    view = restatement_views.restatement_view(dataclasses.replace(ctx, current=current))
    (row,) = view.rows
    assert row.kpi == "First contact resolution" and row.before == row.after
    assert row.before_id == before and row.after_id != before


def test_a_never_restated_period_has_no_page(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path))
    pipeline.compute(project, PERIOD)
    ctx = packdata.load_context(project, PERIOD, "all")
    assert not restatement_views.restatement_view(ctx).shown
    html = render.render_section(ctx, Charts({}, {}, {}), notes(), "restatement")
    assert 'id="restatement"' not in html
    view = render.pack_view(ctx, Charts({}, {}, {}), notes())
    assert "#restatement" not in [e.href for e in view.contents.entries]
    assert not [f for f in view.cover.flags if f.kind == "restated"]


def test_the_section_contents_and_cover_of_a_restated_pack(restated: Path) -> None:
    ctx = packdata.load_context(load_project(restated), PERIOD, "all")
    html = render.render_section(ctx, Charts({}, {}, {}), notes(), "restatement")
    assert "Restatement: version 2" in html and "Net Promoter Score" in html
    view = render.pack_view(ctx, Charts({}, {}, {}), notes())
    assert view.contents.entries[0].href == "#restatement"
    (flag,) = [f for f in view.cover.flags if f.kind == "restated"]
    assert f"v2, restated on {ctx.restated_on}" in flag.text


@pytest.mark.slow
def test_the_restated_pdf_has_the_page_and_the_flag(restated: Path, tmp_path: Path) -> None:
    project = load_project(restated)
    pdf = render.build_pack(project, PERIOD, "all", tmp_path / "all.pdf")
    reader = PdfReader(pdf)
    pages = [p.extract_text() for p in reader.pages]
    assert "Restated: figures v2" in pages[0]
    (page,) = [t for t in pages if "Restatement: version 2" in t]
    assert "Net Promoter Score" in page and "status before" in page.lower()
    assert pages.index(page) == 2  # right after the contents
    titles = [o.title for o in flat(reader.outline)]
    assert "Restatement: version 2" in titles
    assert "Responsibilities (RACI)" in titles  # a bookmark under the appendix
