"""Optional tables: a table is required only if a configured KPI needs it (kpis.tables_needed).

The tiny project without workforce.csv and without the three workforce KPIs: nothing about
workforce anywhere, the learning perspective left out, the overall score renormalised over
the perspectives present (DOMAIN.md §6).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from pypdf import PdfReader

from reportlib import commentary, kpis, render, sources
from reportlib.charts import Charts
from reportlib.config import Project, load_kpis, load_project
from reportlib.errors import ConfigError, DataError
from reportlib.pipeline import compute, compute_scorecard, validate

from .conftest import DEFAULTS, TARGETS, write_project

WORKFORCE_KPIS = ("enps", "training_hours_per_fte", "attrition_rate")

# Revenue 340 against 400/300 (§6: 10/3 + 0.4·10/3 = 14/3), revenue growth −10/350 =
# −20/7 % against 0/−5 (10/3 + (3/7)·10/3 = 100/21) and the process KPIs of conftest
# (process score 50/9, see test_kpis.py) are the only scored KPIs. Financial: revenue
# (weight 2) and growth (1) carry 3 of its weight 5, enough to be scored (§6).
TARGETS_WITH_REVENUE = TARGETS + "revenue,*,2025-01,400,300\nrevenue_growth_yoy,*,2025-01,0,-5\n"
FINANCIAL = (2 * 14 / 3 + 100 / 21) / 3

# Perspective weights: learning's 5 must not count once it has no KPIs.
WEIGHTED = """\
company: Tiny Co
levels: [segment, region]
perspectives:
  - {id: financial, name: Financial, weight: 3}
  - {id: customer, name: Customer, weight: 1}
  - {id: process, name: Internal process, weight: 1}
  - {id: learning, name: Learning and growth, weight: 5}
"""


def without_workforce_kpis() -> str:
    raw = yaml.safe_load((DEFAULTS / "kpis.yaml").read_text(encoding="utf-8"))
    raw["kpis"] = [k for k in raw["kpis"] if k["id"] not in WORKFORCE_KPIS]
    return yaml.safe_dump(raw, sort_keys=False)


def test_tables_needed_follow_the_kpis() -> None:
    catalogue = load_kpis(DEFAULTS / "kpis.yaml")
    assert kpis.tables_needed(catalogue) == {
        "customers",
        "survey_responses",
        "tickets",
        "revenue",
        "workforce",
    }
    process = tuple(k for k in catalogue if k.perspective == "process")
    assert kpis.tables_needed(process) == {"customers", "tickets"}
    # Customers always; aliases never.
    assert kpis.tables_needed(()) == {"customers"}


@pytest.fixture(scope="module")
def no_workforce(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("noworkforce"),
        tables={"workforce": None},
        kpis=without_workforce_kpis(),
        segments=WEIGHTED,
        targets=TARGETS_WITH_REVENUE,
    )


def test_compute_without_workforce_passes_the_gate(no_workforce: Path) -> None:
    project = load_project(no_workforce)
    assert project.perspective_ids == ("financial", "customer", "process")
    result = compute_scorecard(project, "2026-03")
    assert result.quality is not None
    assert result.quality.gate.passed
    assert "workforce" not in result.quality.tables
    march = result.scorecard.period("2026-03")
    assert not march["kpi"].isin([*WORKFORCE_KPIS, "score:learning"]).any()
    assert not (march["perspective"] == "learning").any()
    card = march.set_index(["node", "kpi"])
    assert card.loc[("all", "revenue_growth_yoy"), "value"] == pytest.approx(-20 / 7)
    assert card.loc[("all", "score:financial"), "value"] == pytest.approx(FINANCIAL)
    assert card.loc[("all", "score:process"), "value"] == pytest.approx(50 / 9)
    # Overall: (3·financial + 1·50/9) / (3 + 1); customer has no score, learning is gone:
    # the scored perspectives carry 4 of the weight 5, so the score stands (§6).
    assert card.loc[("all", "score:overall"), "value"] == pytest.approx(
        (3 * FINANCIAL + 50 / 9) / 4
    )
    assert card.loc[("all", "score:overall"), "coverage"] == pytest.approx(4 / 5)


def test_validate_without_workforce(no_workforce: Path) -> None:
    checked, files = validate(load_project(no_workforce), "2026-03")
    assert checked.report.gate.passed
    assert set(checked.report.tables) == {"customers", "survey_responses", "tickets", "revenue"}
    assert not any("workforce" in f.name for f in files)


def test_an_empty_table_no_kpi_needs_does_not_fail_the_gate(tmp_path: Path) -> None:
    header = "period,segment,region,headcount,leavers,training_hours,enps_promoters,enps_passives,enps_detractors\n"
    config = write_project(tmp_path, tables={"workforce": header}, kpis=without_workforce_kpis())
    result = compute_scorecard(load_project(config), "2026-03")
    assert result.quality is not None
    assert result.quality.gate.passed
    assert not result.quality.gate.accepted


def test_a_kpi_whose_table_is_missing_is_one_config_error(tmp_path: Path) -> None:
    config = write_project(tmp_path, tables={"workforce": None})
    with pytest.raises(ConfigError) as e:
        sources.load(load_project(config))
    message = str(e.value)
    assert (
        "workforce.csv: required table workforce is missing: KPI enps (and 2 more KPIs)" in message
    )
    assert "\n" not in message


def test_without_customers_the_old_message_stays(tmp_path: Path) -> None:
    config = write_project(tmp_path, tables={"customers": None})
    with pytest.raises(DataError, match="required table customers is missing"):
        sources.load(load_project(config))


def test_a_perspective_with_only_manual_kpis_stays(tmp_path: Path) -> None:
    """Left out is only a perspective with no KPI at all (a manual one counts)."""
    raw = yaml.safe_load(without_workforce_kpis())
    manual = {
        "id": "people_survey",
        "name": "People survey",
        "perspective": "learning",
        "unit": "points",
        "direction": "up",
        "owner": "CPO",
        "definition": "From the yearly survey.",
        "source": "manual",
    }
    raw["kpis"].append(manual)
    config = write_project(
        tmp_path, tables={"workforce": None}, kpis=yaml.safe_dump(raw, sort_keys=False)
    )
    project = load_project(config)
    assert "learning" in project.perspective_ids
    card = compute_scorecard(project, "2026-03").scorecard.period("2026-03")
    assert isinstance(card, pd.DataFrame)
    assert (card["kpi"] == "score:learning").any()


@pytest.fixture(scope="module")
def computed(no_workforce: Path) -> Project:
    project = load_project(no_workforce)
    compute(project, "2026-03")
    return project


def test_pack_html_leaves_out_the_perspective_without_kpis(computed: Project) -> None:
    ctx = render.load_context(computed, "2026-03", "all")
    notes = commentary.Commentary("all", "2026-03", None, {}, True)
    html = render.render_html(ctx, Charts({}, {}, {}), notes)
    assert "Internal process" in html and "Financial" in html
    assert "Learning and growth" not in html
    assert "workforce" not in html.lower()
    assert "eNPS" not in html


@pytest.mark.slow  # WeasyPrint
def test_pack_pdf_without_workforce(computed: Project) -> None:
    pdf = render.build_pack(computed, "2026-03", "all")
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Internal process" in text
    assert "Learning and growth" not in text
    assert "workforce" not in text.lower()
