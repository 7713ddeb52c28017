"""Honest statistics (DOMAIN.md §4–§6), each rule against values worked out by hand:
the half-of-the-weight coverage rule, `uncertain` statuses, changes `not tested` or across
a `definition changed`, targets lapsing at a definition change, annualised attrition and
the trend line broken at a definition change."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from reportlib import hierarchy, periods
from reportlib import scorecard as sc
from reportlib.chartsvg import broken
from reportlib.config import ManualValue, Project, Target, load_project
from reportlib.kpis import annualised
from reportlib.scores import covered, score_rows

from .conftest import DEFAULTS, write_project

# --- the coverage rule (§6) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("scored", "weight", "expected"),
    [
        (3.0, 6.0, True),  # exactly half: scored
        (2.999, 6.0, False),  # just under
        (1 / 3 + 1 / 3 + 1 / 3, 2.0, True),  # half, from thirds
        (0.1 + 0.2, 0.6, True),  # half, 0.30000000000000004 of 0.6
        (0.9999, 2.0, False),
        (0.0, 4.0, False),  # nothing scored
        (0.0, 0.0, False),  # no weight at all
        (4.0, 4.0, True),
    ],
)
def test_covered(scored: float, weight: float, expected: bool) -> None:
    assert covered(scored, weight) is expected


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The default catalogue (15 KPIs, four equal perspectives) on the tiny project."""
    return load_project(write_project(tmp_path_factory.mktemp("honest")))


def _kpi_rows(project: Project, scores: dict[str, float], no_data: set[str]) -> pd.DataFrame:
    """One node × month of KPI rows: the given scores, the listed KPIs without data,
    every other KPI with a value but no score (no target)."""
    rows = []
    for k in project.kpis:
        s = scores.get(k.id, np.nan)
        st = "no-data" if k.id in no_data else ("green" if k.id in scores else "no-target")
        rows.append(("all", 0, "2026-03", k.perspective, k.id, s, st))
    return pd.DataFrame(
        rows, columns=["node", "month", "period", "perspective", "kpi", "score", "status"]
    )


def test_coverage_rule_by_hand(project: Project) -> None:
    """Catalogue weights: financial revenue 2, growth 1, nrr 2 (5); customer nps 2, csat 1,
    ces 1, logo retention 2 (6); process 7; learning enps 2, training 1, attrition 1 (4)."""
    process = {k.id for k in project.kpis if k.perspective == "process"}
    rows = _kpi_rows(
        project,
        {"revenue": 9.0, "nps": 6.0, "csat": 3.0, "enps": 8.0},
        no_data=process,
    )
    out = score_rows(rows, project).set_index("kpi")

    # Financial: revenue's 2 of 5 scored, below half: insufficient, no score.
    fin = out.loc["score:financial"]
    assert math.isnan(fin["value"]) and fin["status"] == "insufficient"
    assert (fin["scored"], fin["total"]) == (1, 3)
    assert fin["coverage"] == pytest.approx(2 / 5)
    # Customer: nps (2) and csat (1) carry 3 of 6, exactly half: scored, (2·6 + 1·3)/3 = 5.
    cus = out.loc["score:customer"]
    assert cus["value"] == pytest.approx(5.0) and cus["status"] == "amber"
    assert (cus["scored"], cus["total"], cus["coverage"]) == (2, 4, pytest.approx(0.5))
    # Process: no KPI has data: no-data, not insufficient.
    pro = out.loc["score:process"]
    assert math.isnan(pro["value"]) and pro["status"] == "no-data"
    assert (pro["scored"], pro["total"]) == (0, 5)
    # Learning: eNPS alone carries 2 of 4, exactly half: 8.0, green.
    lea = out.loc["score:learning"]
    assert lea["value"] == pytest.approx(8.0) and lea["status"] == "green"
    # Overall: customer and learning, 2 of the 4 equal weights, exactly half: (5 + 8)/2.
    ov = out.loc["score:overall"]
    assert ov["value"] == pytest.approx(6.5) and ov["status"] == "amber"
    assert (ov["scored"], ov["total"], ov["coverage"]) == (2, 4, pytest.approx(0.5))


def test_overall_below_half_is_insufficient(project: Project) -> None:
    # Only learning scored (eNPS, 2 of 4): 1 of 4 perspectives, below half.
    out = score_rows(_kpi_rows(project, {"enps": 9.0}, set()), project).set_index("kpi")
    assert out.loc["score:learning", "value"] == pytest.approx(9.0)
    ov = out.loc["score:overall"]
    assert math.isnan(ov["value"]) and ov["status"] == "insufficient"
    assert (ov["scored"], ov["total"], ov["coverage"]) == (1, 4, pytest.approx(0.25))


def test_all_unscored(project: Project) -> None:
    # Every KPI has a value and none a target: every perspective and the overall insufficient.
    out = score_rows(_kpi_rows(project, {}, set()), project).set_index("kpi")
    assert set(out["status"]) == {"insufficient"}
    assert out["value"].isna().all() and (out["scored"] == 0).all()
    # And with no data anywhere, no-data throughout.
    none = {k.id for k in project.kpis}
    out = score_rows(_kpi_rows(project, {}, none), project).set_index("kpi")
    assert set(out["status"]) == {"no-data"}


# --- uncertain statuses and change tests (§4) ----------------------------------------------


@pytest.mark.parametrize(
    ("status", "low", "high", "expected"),
    [
        ("green", 28.0, 40.0, True),  # the interval reaches below the target 30
        ("green", 30.0, 40.0, True),  # touches it: contains it
        ("green", 31.0, 40.0, False),
        ("red", 10.0, 20.0, True),  # reaches the threshold 20
        ("red", 10.0, 19.0, False),
        ("amber", 21.0, 29.0, False),  # strictly between the lines
        ("amber", 21.0, 31.0, True),  # crosses the target
        ("amber", 19.0, 25.0, True),  # crosses the threshold
        ("green", float("nan"), float("nan"), False),  # a census: no interval
        ("no-target", 0.0, 100.0, False),
        ("insufficient", 0.0, 100.0, False),
    ],
)
def test_uncertain(status: str, low: float, high: float, expected: bool) -> None:
    assert sc.uncertain(status, low, high, target=30.0, threshold=20.0) is expected


def test_uncertain_direction_down() -> None:
    # Hours, lower is better: target 24, threshold 48; green 20 with interval 18–25 crosses 24.
    assert sc.uncertain("green", 18.0, 25.0, target=24.0, threshold=48.0)
    assert not sc.uncertain("green", 18.0, 23.0, target=24.0, threshold=48.0)


def test_change_test_labels() -> None:
    kw = {"manual": False, "same_definition": True}
    assert sc.change_test(1.5, sample=True, **kw) == sc.TESTED
    assert sc.change_test(1.5, sample=False, **kw) == sc.NOT_TESTED
    assert sc.change_test(1.5, sample=True, manual=True, same_definition=True) == sc.NOT_TESTED
    assert sc.change_test(1.5, sample=True, manual=False, same_definition=False) == (
        sc.DEFINITION_CHANGED
    )
    assert sc.change_test(float("nan"), sample=True, **kw) == ""
    # No second side, nothing to compare, whatever the definitions.
    assert sc.change_test(float("nan"), sample=True, manual=False, same_definition=False) == ""


# --- targets across a definition change (§5) -------------------------------------------------


def _t(node: str, eff: str, target: float, threshold: float) -> Target:
    return Target(
        kpi="csat", node=node, effective_from=eff, target=target, threshold=threshold, line=0
    )


def test_target_before_a_definition_change_lapses() -> None:
    targets = (_t("*", "2025-01", 80, 70), _t("ent", "2025-06", 85, 75))
    chain = ("ent", "all")
    assert sc.resolve_target(targets, "csat", chain, "2026-03").target == 85
    # The definition changed in 2026-02: neither row applies any more.
    assert sc.resolve_target(targets, "csat", chain, "2026-03", since="2026-02") is None
    # A row stated for the new definition applies, at any level of the chain.
    restated = (*targets, _t("*", "2026-02", 82, 72))
    assert sc.resolve_target(restated, "csat", chain, "2026-03", since="2026-02").target == 82


HISTORY = [
    {"version": 1, "effective_from": "2025-01", "change_note": "top box 4 and 5"},
    {"version": 2, "effective_from": "2026-03", "change_note": "top box 5 only"},
]


def _catalogue(ids: tuple[str, ...], history_for: str) -> str:
    raw = yaml.safe_load((DEFAULTS / "kpis.yaml").read_text(encoding="utf-8"))
    raw["kpis"] = [k for k in raw["kpis"] if k["id"] in ids]
    for k in raw["kpis"]:
        if k["id"] == history_for:
            k["version"] = 2
            k["history"] = HISTORY
    return yaml.safe_dump(raw, sort_keys=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """CSAT (a survey KPI, definition changed in March 2026) and reopen rate (a census)."""
    targets = (
        "kpi,node,effective_from,target,threshold\n"
        "csat,*,2025-01,80,70\n"
        "reopen_rate,*,2025-01,10,20\n"
    )
    config = write_project(
        tmp_path_factory.mktemp("small"),
        kpis=_catalogue(("csat", "reopen_rate"), "csat"),
        targets=targets,
    )
    return load_project(config)


def test_changed_since(small: Project) -> None:
    k = small.kpi("csat")
    assert k.changed_since("2025-06") is None  # the first definition
    assert k.changed_since("2026-02") is None
    assert k.changed_since("2026-03") == "2026-03"
    assert k.changed_since("2027-01") == "2026-03"
    assert small.kpi("reopen_rate").changed_since("2026-03") is None


def _values(rows: dict[int, tuple[float, float, float]], proportion: bool) -> pd.DataFrame:
    """Per month (index): value, n, x; the interval from Wilson for a proportion."""
    from reportlib import stats

    out = []
    for month, (value, n, x) in rows.items():
        lo, hi = stats.wilson_interval(x, n) if proportion else (np.nan, np.nan)
        out.append(
            {
                "node": "all",
                "month": month,
                "value": value,
                "n": n,
                "ci_low": float(lo),
                "ci_high": float(hi),
                "se": np.nan,
                "x": x if proportion else np.nan,
            }
        )
    return pd.DataFrame(out).set_index(["node", "month"])


def test_build_across_a_definition_change(small: Project) -> None:
    """All months at the company node only (a tree without segments' rows here)."""
    tree = hierarchy.build(small.hierarchy, [])
    jan, feb, mar = (periods.parse(p) for p in ("2026-01", "2026-02", "2026-03"))
    index = pd.MultiIndex.from_product([["all"], [jan, feb, mar]], names=["node", "month"])
    values = {
        # CSAT: 180/200 = 90% (Jan), 150/200 = 75% (Feb), 60/100 = 60% (Mar, new definition).
        "csat": _values({jan: (90.0, 200, 180), feb: (75.0, 200, 150), mar: (60.0, 100, 60)}, True),
        # Reopen: 5%, 8%, 25% of resolved tickets (a census).
        "reopen_rate": _values(
            {jan: (5.0, 100, 5), feb: (8.0, 100, 8), mar: (25.0, 100, 25)}, False
        ),
    }
    manual = (
        ManualValue(
            period="2026-02",
            node="all",
            kpi="reopen_rate",
            value=8.0,
            n=100,
            author="A",
            reason="r",
            line=2,
        ),
    )
    card = sc.build(small, tree, values, index, manual).frame.set_index(["kpi", "period"])

    # February CSAT 75% against 80/70: amber. Wilson 95% for 150/200 is 68.57%–80.49%:
    # it contains the target 80, so the status is uncertain.
    feb_csat = card.loc[("csat", "2026-02")]
    assert feb_csat["status"] == "amber"
    assert feb_csat["ci_low"] == pytest.approx(68.57, abs=0.01)
    assert feb_csat["ci_high"] == pytest.approx(80.49, abs=0.01)
    assert bool(feb_csat["uncertain"]) is True
    # January 90% (85.06%–93.43%) is green and clear of the target: not uncertain.
    assert card.loc[("csat", "2026-01"), "status"] == "green"
    assert bool(card.loc[("csat", "2026-01"), "uncertain"]) is False
    # February's MoM −15 pp is tested (two proportions, pooled): pooled p 0.825, z = −0.15/0.0380 = −3.95, significant.
    assert feb_csat["mom_delta"] == pytest.approx(-15.0)
    assert feb_csat["mom_test"] == sc.TESTED and bool(feb_csat["mom_significant"]) is True

    # March: a new definition. The 2025 target row lapses: no-target, no score, and the
    # MoM would compare two definitions: not computed.
    mar_csat = card.loc[("csat", "2026-03")]
    assert mar_csat["kpi_version"] == "2"
    assert mar_csat["status"] == "no-target" and math.isnan(mar_csat["target"])
    assert math.isnan(mar_csat["score"])
    assert math.isnan(mar_csat["mom_delta"]) and mar_csat["mom_test"] == sc.DEFINITION_CHANGED
    assert pd.isna(mar_csat["mom_significant"])
    assert mar_csat["prev_value"] == 75.0  # last month's figure is still reported

    # Reopen rate, a census: every change is `not-tested`, never significant or not.
    assert card.loc[("reopen_rate", "2026-03"), "mom_delta"] == pytest.approx(17.0)
    assert card.loc[("reopen_rate", "2026-03"), "mom_test"] == sc.NOT_TESTED
    assert pd.isna(card.loc[("reopen_rate", "2026-03"), "mom_significant"])
    # 25% against 10/20 (down): red, and no interval, so never uncertain.
    assert card.loc[("reopen_rate", "2026-03"), "status"] == "red"
    assert bool(card.loc[("reopen_rate", "2026-03"), "uncertain"]) is False
    # January has no month before it: no change, no label.
    assert pd.isna(card.loc[("reopen_rate", "2026-01"), "mom_test"])

    # Scores: March's customer perspective has only CSAT (no target now): insufficient.
    assert card.loc[("score:customer", "2026-03"), "status"] == "insufficient"
    assert card.loc[("score:customer", "2026-02"), "status"] == "amber"
    assert pd.isna(card.loc[("score:customer", "2026-03"), "mom_test"])  # no score to compare


def test_a_manual_value_on_either_side_is_not_tested(small: Project) -> None:
    tree = hierarchy.build(small.hierarchy, [])
    jan, feb = periods.parse("2026-01"), periods.parse("2026-02")
    index = pd.MultiIndex.from_product([["all"], [jan, feb]], names=["node", "month"])
    values = {
        "csat": _values({jan: (90.0, 200, 180), feb: (75.0, 200, 150)}, True),
        "reopen_rate": _values({jan: (5.0, 100, 5), feb: (8.0, 100, 8)}, False),
    }
    manual = (
        ManualValue(
            period="2026-01",
            node="all",
            kpi="csat",
            value=92.0,
            n=200,
            author="A",
            reason="paper survey",
            line=2,
        ),
    )
    card = sc.build(small, tree, values, index, manual).frame.set_index(["kpi", "period"])
    feb_csat = card.loc[("csat", "2026-02")]
    # 75 − 92 = −17 against the manual January: a change, but not tested.
    assert feb_csat["mom_delta"] == pytest.approx(-17.0)
    assert feb_csat["mom_test"] == sc.NOT_TESTED and pd.isna(feb_csat["mom_significant"])


# --- annualised attrition and the broken trend line ----------------------------------------


def test_annualised() -> None:
    # 1 − (1 − 0.02)^12 = 0.21527...; 1% a month is 11.36%, not 12%.
    assert annualised(2.0) == pytest.approx(100 * (1 - 0.98**12))
    assert annualised(1.0) == pytest.approx(11.3615, abs=1e-4)
    assert annualised(0.0) == 0.0
    assert annualised(100.0) == 100.0
    assert annualised(2 / 35 * 100) == pytest.approx(50.64, abs=0.01)  # the tiny company, 2 of 35


def test_broken_line() -> None:
    pts = [(0.0, 1.0), (1.0, 2.0), None, (3.0, 4.0), (4.0, 5.0)]
    assert broken(pts, [4]) == [(0.0, 1.0), (1.0, 2.0), None, (3.0, 4.0), None, (4.0, 5.0)]
    assert broken(pts, []) == pts


def test_trend_line_has_a_gap_at_a_definition_change() -> None:
    """Six months, the definition changed in the fourth: two runs of line, none across."""
    import xml.etree.ElementTree as ET

    from reportlib.chartstyle import DEFAULT_STYLE
    from reportlib.chartsvg import TrendData, trend_svg

    n = 6
    v = np.array([50.0, 52.0, 51.0, 70.0, 71.0, 72.0])
    nan = np.full(n, np.nan)  # no target

    def data(breaks: tuple[tuple[int, str, str], ...]) -> TrendData:
        return TrendData(
            labels=tuple(f"2026-0{i + 1}" for i in range(n)),
            xticks=((0, "Jan"), (3, "Apr")),
            value=v,
            ci_low=v - 5,
            ci_high=v + 5,
            show_ci=True,
            target=nan,
            threshold=nan,
            below=np.zeros(n, dtype=bool),
            direction="up",
            ylim=(40.0, 80.0),
            yticks=((40.0, "40"), (60.0, "60"), (80.0, "80")),
            breaks=breaks,
            latest=None,
            colours=(("red", "#c00"), ("amber", "#f90"), ("green", "#090")),
        )

    def runs(svg: str, gid: str) -> list[str]:
        root = ET.fromstring(svg)
        path = next(e for e in root.iter() if e.get("id") == gid)
        return re.findall(r"M[^M]+", path.get("d", ""))

    split = trend_svg(data(((3, "1", "2"),)), DEFAULT_STYLE)
    whole = trend_svg(data(()), DEFAULT_STYLE)
    for gid in ("series", "series-all"):
        parts = runs(split, gid)
        assert len(parts) == 2  # March's point ends one run, April's starts the next
        assert [p.count("L") for p in parts] == [2, 2]
        assert len(runs(whole, gid)) == 1
    assert "version-break-v1-v2" in split

    def bands(svg: str) -> int:
        return sum(1 for e in ET.fromstring(svg).iter() if e.get("id") == "ci-band")

    assert (bands(split), bands(whole)) == (2, 1)  # the interval is split there too
