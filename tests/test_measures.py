"""Counted measures: children add up to their parent (DOMAIN.md §2 reconciliation)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from reportlib import hierarchy, measures, periods, reconcile, sources
from reportlib.config import load_project
from reportlib.pipeline import compute_scorecard

from .conftest import DEFAULTS, SURVEYS, write_project


def _measures(config: Path) -> tuple[measures.Measures, hierarchy.Hierarchy]:
    project = load_project(config)
    src = sources.load(project)
    tree = hierarchy.build(project.hierarchy, measures.combos(src, project.hierarchy.levels))
    march = periods.parse("2026-03")
    return measures.compute(src, tree, march - 14, march), tree


def test_counts_and_children_add_up(tiny: Path) -> None:
    m, tree = _measures(tiny)
    march = m.frame.xs(periods.parse("2026-03"), level="month")
    assert march.loc["all", "nps_n"] == 7
    assert march.loc["ent", "nps_n"] + march.loc["smb", "nps_n"] == 7
    assert march.loc["all", "tickets_opened"] == 6  # T1 T2 T3 T4 T5 T7
    assert march.loc["all", "revenue"] == 340.0
    assert march.loc["ent/eu", "headcount"] == 10
    assert reconcile.children_problems(m, tree) == []


def test_blank_segment_goes_to_unassigned_not_lost(tmp_path: Path) -> None:
    from .conftest import CUSTOMERS, write_project

    config = write_project(tmp_path, tables={"customers": CUSTOMERS.replace("C5,smb,us", "C5,,us")})
    m, tree = _measures(config)
    assert "unassigned/us" in tree.ids
    march = m.frame.xs(periods.parse("2026-03"), level="month")
    assert march.loc["unassigned", "nps_n"] == 2  # R5 and R7 from C5
    assert reconcile.children_problems(m, tree) == []


# February CSAT added to the tiny surveys: 4 5 4 3 (March is 5 4 3 1, see conftest).
FEB_CSAT = """\
R20,C1,csat,4,2026-02-10 10:00:00,2026-02-10 11:00:00,in-app,20,
R21,C3,csat,5,2026-02-10 10:00:00,2026-02-10 11:00:00,in-app,20,
R22,C4,csat,4,2026-02-10 10:00:00,2026-02-10 11:00:00,in-app,20,
R23,C2,csat,3,2026-02-10 10:00:00,2026-02-10 11:00:00,in-app,20,
"""


def _versioned(kpi_id: str, v2: dict) -> str:
    """The default catalogue where `kpi_id` has v1 from 2024-01 and `v2` from March 2026."""
    raw = yaml.safe_load((DEFAULTS / "kpis.yaml").read_text(encoding="utf-8"))
    k = next(k for k in raw["kpis"] if k["id"] == kpi_id)
    k["version"] = 2
    k["history"] = [
        {"version": 1, "effective_from": "2024-01", "change_note": "First"},
        {"version": 2, "effective_from": "2026-03", "change_note": "Changed", **v2},
    ]
    return yaml.safe_dump(raw, sort_keys=False)


def _month_rows(config: Path, kpi_id: str) -> pd.DataFrame:
    """The company's rows of `kpi_id` for February and March, as the scorecard computes them."""
    card = compute_scorecard(load_project(config), "2026-03").scorecard.frame
    rows = card[(card["node"] == "all") & (card["kpi"] == kpi_id)].set_index("period")
    return rows.loc[["2026-02", "2026-03"]]


def test_top_box_cut_follows_the_version_in_force(tmp_path: Path) -> None:
    config = write_project(
        tmp_path,
        tables={"survey_responses": SURVEYS + FEB_CSAT},
        kpis=_versioned("csat", {"top_box_min": 5}),
    )
    project = load_project(config)
    rules = measures.rules(project.kpis)
    assert rules.csat_top_box_min == measures.Piecewise(4, ((periods.parse("2026-03"), 5),))
    assert rules.ces_top_box_min == measures.Piecewise(5)
    csat = _month_rows(config, "csat")
    # February under v1 (≥ 4): 4 5 4 3 → 3 of 4. March under v2 (≥ 5): 5 4 3 1 → 1 of 4.
    assert list(csat["value"]) == [75.0, 25.0]
    assert list(csat["n"]) == [4, 4]
    assert list(csat["kpi_version"]) == ["1", "2"]


def test_sla_deadline_for_every_ticket_from_its_effective_month(tmp_path: Path) -> None:
    config = write_project(tmp_path, kpis=_versioned("sla_compliance", {"sla_hours": 8}))
    sla = _month_rows(config, "sla_compliance")
    # February (v1, own deadlines): T6 answered in 1 h of 8 → 1 of 1.
    # March (v2, 8 h for all, first response): considered T1 T2 T3 T4 T7 (T5 pending);
    # met T1 (1 h), T2 (6 h, missed its own 4 h), T3 (2 h) → 3 of 5 (v1 gave 2 of 5).
    assert list(sla["value"]) == [100.0, 60.0]
    assert list(sla["n"]) == [1, 5]


def test_sla_met_by_resolution(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, kpis=_versioned("sla_compliance", {"sla_hours": 8, "sla_met_by": "resolution"})
    )
    sla = _month_rows(config, "sla_compliance")
    # March, resolved within 8 h: T1 (3 h) yes; T2 (24 h), T3 (48 h) no; T4 and T7 unresolved
    # past their deadline; T5's deadline (18:00 on the 31st) is after as_of: pending.
    assert list(sla["value"]) == [100.0, 20.0]
    assert list(sla["n"]) == [1, 5]
