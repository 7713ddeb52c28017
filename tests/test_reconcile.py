"""Reconciliation (DOMAIN.md §2, §8): company totals equal the kept input rows, table by table.

The tiny project's March 2026 figures (see conftest.py): 7 NPS, 4 CSAT, 3 CES responses;
tickets opened T1 T2 T3 T4 T5 T7 (6), resolved T1 T2 T3 T6 (4); invoices I4 I5 I6 I7
(4, 340.00); customers active on 1 March C1 C2 C3 C5 (4), still active at its end
C1 C3 C5 (3); workforce headcount 35, leavers 2, training 40 h, eNPS 11/6/4.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reportlib import hierarchy, measures, periods, pipeline, reconcile, sources
from reportlib.config import load_project
from reportlib.errors import ReconciliationError

from .conftest import REVENUE, TICKETS, write_project

PERIOD = "2026-03"
MARCH = periods.parse(PERIOD)
HEAD = "company totals do not match the kept input rows: "


def _computed(
    config: Path, accept_quality: str | None = None
) -> tuple[sources.Source, measures.Measures, hierarchy.Hierarchy]:
    """The kept (post-quarantine) source, its tree and measures from March 2025 to March 2026."""
    project = load_project(config)
    src = sources.load(project)
    src = pipeline.validate_source(project, src, PERIOD, accept_quality).source
    tree = hierarchy.build(project.hierarchy, measures.combos(src, project.hierarchy.levels))
    return src, measures.compute(src, tree, MARCH - 12, MARCH), tree


def _altered(m: measures.Measures, column: str, by: float) -> measures.Measures:
    frame = m.frame.copy()
    frame.loc[("all", MARCH), column] += by
    return dataclasses.replace(m, frame=frame)


def _without_c5(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break the customers' level mapping so that it loses C5 (smb/us) on the way into the tree."""
    mapped = measures._customers_levels

    def broken(src: sources.Source, levels: tuple[str, ...]) -> sources.Source:
        s = mapped(src, levels)
        c = s.tables["customers"]
        return dataclasses.replace(
            s, tables={**s.tables, "customers": c.filter(c.customer_id != "C5")}
        )

    monkeypatch.setattr(measures, "_customers_levels", broken)


def test_every_check_passes_on_clean_data(tiny: Path) -> None:
    src, m, tree = _computed(tiny)
    assert reconcile.company_total_problems(src, m) == []
    for check in reconcile.COMPANY_CHECKS.values():
        assert check(src, m) is None
    reconcile.check(src, m, tree)
    march = m.frame.loc[("all", MARCH)]
    assert (march["tickets_opened"], march["tickets_resolved"]) == (6, 4)
    assert (march["revenue"], march["invoices"]) == (340.0, 4)
    assert (march["customers_active_start"], march["customers_retained"]) == (4, 3)
    assert (march["headcount"], march["leavers"], march["training_hours"]) == (35, 2, 40)


def test_checks_count_the_kept_rows_not_the_raw_ones(tmp_path: Path) -> None:
    """Quarantined rows (unknown customer C9) and events after the cut-off count nowhere."""
    late = "T8,C1,email,2026-03-31 13:00:00,,,1,false,4\n"  # opened after as_of: kept, not counted
    unknown = "T9,C9,email,2026-03-03 09:00:00,2026-03-03 10:00:00,2026-03-03 11:00:00,1,false,4\n"
    config = write_project(
        tmp_path,
        tables={
            "tickets": TICKETS + late + unknown,
            "revenue": REVENUE + "I8,C9,2026-03-05,500.00\n",
        },
    )
    src, m, tree = _computed(config, accept_quality="test: C9 is not a customer")
    assert src.tables["tickets"].count().execute() == 8  # T9 quarantined, T8 kept
    reconcile.check(src, m, tree)
    march = m.frame.loc[("all", MARCH)]
    assert (march["tickets_opened"], march["tickets_resolved"], march["revenue"]) == (6, 4, 340.0)


def test_survey_counts(tiny: Path) -> None:
    src, m, _ = _computed(tiny)
    assert reconcile.survey_total_problem(src, m) is None
    # R0 (February) + 14 in March, all before the cut-off.
    company = m.frame.xs("all", level="node")
    assert int(company[list(reconcile.SURVEY_COUNTS)].to_numpy().sum()) == 15
    assert reconcile.survey_total_problem(src, _altered(m, "nps_n", 1)) == (
        HEAD + "survey_responses nps_n 2026-03: node all has 8 but the kept rows give 7"
    )


@pytest.mark.parametrize(
    ("table", "column", "by", "line"),
    [
        ("survey_responses", "csat_n", -1, "csat_n 2026-03: node all has 3 but the kept rows give 4"),
        ("tickets", "tickets_opened", 1, "tickets_opened 2026-03: node all has 7 but the kept rows give 6"),
        ("tickets", "tickets_resolved", -1, "tickets_resolved 2026-03: node all has 3 but the kept rows give 4"),
        ("revenue", "revenue", 0.5, "revenue 2026-03: node all has 340.5 but the kept rows give 340"),
        ("revenue", "invoices", 1, "invoices 2026-03: node all has 5 but the kept rows give 4"),
        ("customers", "customers_active_start", 1, "customers_active_start 2026-03: node all has 5 but the kept rows give 4"),
        ("customers", "customers_retained", -1, "customers_retained 2026-03: node all has 2 but the kept rows give 3"),
        ("workforce", "headcount", 1, "headcount 2026-03: node all has 36 but the kept rows give 35"),
        ("workforce", "leavers", 1, "leavers 2026-03: node all has 3 but the kept rows give 2"),
        ("workforce", "training_hours", 2.5, "training_hours 2026-03: node all has 42.5 but the kept rows give 40"),
        ("workforce", "enps_promoters", 1, "enps_promoters 2026-03: node all has 12 but the kept rows give 11"),
        ("workforce", "enps_passives", 1, "enps_passives 2026-03: node all has 7 but the kept rows give 6"),
        ("workforce", "enps_detractors", 1, "enps_detractors 2026-03: node all has 5 but the kept rows give 4"),
    ],
)  # fmt: skip
def test_each_table_catches_an_altered_count(
    tiny: Path, table: str, column: str, by: float, line: str
) -> None:
    src, m, tree = _computed(tiny)
    broken = _altered(m, column, by)
    assert reconcile.COMPANY_CHECKS[table](src, broken) == f"{HEAD}{table} {line}"
    # Only that table's check sees it.
    assert reconcile.company_total_problems(src, broken) == [f"{HEAD}{table} {line}"]
    with pytest.raises(ReconciliationError) as e:
        reconcile.check(src, broken, tree)
    # The company node alone was altered, so the children's check stops the run first.
    assert str(e.value).startswith("children do not add up to their parent")


def test_company_totals_stop_the_run_when_children_add_up(tiny: Path) -> None:
    src, m, tree = _computed(tiny)
    frame = m.frame.copy()
    for node in ("all", "ent", "ent/eu"):  # a consistent tree, one invoice off its rows
        frame.loc[(node, MARCH), "invoices"] += 1
    with pytest.raises(ReconciliationError) as e:
        reconcile.check(src, dataclasses.replace(m, frame=frame), tree)
    assert (
        str(e.value) == HEAD + "revenue invoices 2026-03: node all has 5 but the kept rows give 4"
    )


def test_a_customer_lost_by_the_level_mapping_is_caught(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, _, _ = _computed(tiny)
    _without_c5(monkeypatch)
    tree = hierarchy.build(
        load_project(tiny).hierarchy, measures.combos(src, ("segment", "region"))
    )
    m = measures.compute(src, tree, MARCH - 12, MARCH)
    assert (
        reconcile.children_problems(m, tree) == []
    )  # the tree still adds up: only the totals see it
    # C5 was acquired on 2026-02-10: active on 1 March and still at its end.
    assert reconcile.customer_total_problem(src, m) == (
        HEAD + "customers customers_active_start 2026-03: node all has 3 but the kept rows give 4"
        " (and 1 more)"
    )
    # Its survey answers (R5 R7 R11 R14) and tickets (T5) are lost with it.
    assert "survey_responses nps_n 2026-03: node all has 5 but the kept rows give 7" in (
        reconcile.survey_total_problem(src, m) or ""
    )
    assert "tickets tickets_opened 2026-03: node all has 5 but the kept rows give 6" in (
        reconcile.ticket_total_problem(src, m) or ""
    )


BROKEN_MAPPING = """\
import dataclasses, sys
from reportlib import measures
mapped = measures._customers_levels
def broken(src, levels):
    s = mapped(src, levels)
    c = s.tables["customers"]
    return dataclasses.replace(s, tables={**s.tables, "customers": c.filter(c.customer_id != "C5")})
measures._customers_levels = broken
from reportlib.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_compute_stops_with_exit_2_and_one_line(tiny: Path) -> None:
    """`reportlib compute` in a real process, with the customers' level mapping broken in it."""
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            BROKEN_MAPPING,
            "compute",
            "--period",
            PERIOD,
            "--config",
            str(tiny),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: "
        + HEAD
        + "customers customers_active_start 2026-03: node all has 3 but the kept rows give 4"
        " (and 1 more)"
    ]
    assert not (tiny.parent / "output" / PERIOD / "scorecard.csv").exists()


def test_children_check_catches_a_broken_parent(tiny: Path) -> None:
    _src, m, tree = _computed(tiny)
    broken = m.frame.copy()
    broken.loc[("ent", periods.parse("2026-03")), "tickets_resolved"] += 1
    problems = reconcile.children_problems(
        measures.Measures(broken, m.first_month, m.last_month, m.tables), tree
    )
    # ent is now one more than ent/eu + ent/us, and all one less than ent + smb.
    assert any(
        p.startswith("ent 2026-03 tickets_resolved: parent 5 ≠ sum of children 4") for p in problems
    )
    assert any(
        p.startswith("all 2026-03 tickets_resolved: parent 4 ≠ sum of children 5") for p in problems
    )
