"""Counted measures: children add up to their parent (DOMAIN.md §2 reconciliation)."""

from __future__ import annotations

from pathlib import Path

from reportlib import hierarchy, measures, periods, sources
from reportlib.config import load_project


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
    assert measures.reconcile(m, tree) == []


def test_reconciliation_catches_a_broken_parent(tiny: Path) -> None:
    m, tree = _measures(tiny)
    broken = m.frame.copy()
    broken.loc[("ent", periods.parse("2026-03")), "tickets_resolved"] += 1
    problems = measures.reconcile(
        measures.Measures(broken, m.first_month, m.last_month, m.tables), tree
    )
    # ent is now one more than ent/eu + ent/us, and all one less than ent + smb.
    assert any(
        p.startswith("ent 2026-03 tickets_resolved: parent 5 ≠ sum of children 4") for p in problems
    )
    assert any(
        p.startswith("all 2026-03 tickets_resolved: parent 4 ≠ sum of children 5") for p in problems
    )


def test_blank_segment_goes_to_unassigned_not_lost(tmp_path: Path) -> None:
    from .conftest import CUSTOMERS, write_project

    config = write_project(tmp_path, tables={"customers": CUSTOMERS.replace("C5,smb,us", "C5,,us")})
    m, tree = _measures(config)
    assert "unassigned/us" in tree.ids
    march = m.frame.xs(periods.parse("2026-03"), level="month")
    assert march.loc["unassigned", "nps_n"] == 2  # R5 and R7 from C5
    assert measures.reconcile(m, tree) == []
