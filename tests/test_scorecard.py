"""Targets (§5), status (§5), scores and roll-up (§6), escalation streaks (§8)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from reportlib.config import Target
from reportlib.scorecard import escalations, red_streaks, resolve_target, status
from reportlib.scores import SCORE_AT_TARGET, SCORE_AT_THRESHOLD, band, roll_up, score


def t(node: str, eff: str, target: float, threshold: float, kpi: str = "nps") -> Target:
    return Target(
        kpi=kpi, node=node, effective_from=eff, target=target, threshold=threshold, line=0
    )


TARGETS = (
    t("*", "2025-01", 30, 20),
    t("*", "2025-07", 35, 25),
    t("ent", "2025-04", 50, 40),
    t("ent/eu", "2026-01", 60, 45),
    t("*", "2025-01", 80, 70, kpi="csat"),
)


class TestResolveTarget:
    def test_latest_effective_row_of_the_default(self) -> None:
        assert resolve_target(TARGETS, "nps", ("smb", "all"), "2025-06").target == 30
        assert resolve_target(TARGETS, "nps", ("smb", "all"), "2025-07").target == 35
        assert resolve_target(TARGETS, "nps", ("smb", "all"), "2026-10").target == 35

    def test_node_then_ancestor_then_star(self) -> None:
        chain = ("ent/eu", "ent", "all")
        assert resolve_target(TARGETS, "nps", chain, "2026-02").target == 60  # the node itself
        assert resolve_target(TARGETS, "nps", chain, "2025-12").target == 50  # its parent
        assert resolve_target(TARGETS, "nps", chain, "2025-03").target == 30  # `*`

    def test_never_retroactive(self) -> None:
        assert resolve_target(TARGETS, "nps", ("smb", "all"), "2024-12") is None

    def test_other_kpi(self) -> None:
        assert resolve_target(TARGETS, "csat", ("ent", "all"), "2026-01").target == 80
        assert resolve_target(TARGETS, "ces", ("ent", "all"), "2026-01") is None


class TestStatus:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(31, "green"), (30, "green"), (29.9, "amber"), (20, "amber"), (19.99, "red")],
    )
    def test_up(self, value: float, expected: str) -> None:
        assert status(value, 100, direction="up", min_n=30, target=30, threshold=20) == expected

    @pytest.mark.parametrize(
        ("value", "expected"),
        [(3, "green"), (4, "green"), (4.01, "amber"), (8, "amber"), (8.5, "red")],
    )
    def test_down(self, value: float, expected: str) -> None:
        assert status(value, None, direction="down", min_n=None, target=4, threshold=8) == expected

    def test_other_statuses(self) -> None:
        kw = {"direction": "up", "min_n": 30, "target": 30.0, "threshold": 20.0}
        assert status(float("nan"), 0, **kw) == "no-data"
        assert status(None, 0, **kw) == "no-data"
        assert status(50, 29, **kw) == "insufficient"
        assert status(50, 30, **kw) == "green"
        assert status(50, 30, direction="up", min_n=30, target=None, threshold=None) == "no-target"


class TestScore:
    def test_anchor_points(self) -> None:
        assert score(20, 30, 20, "up") == pytest.approx(SCORE_AT_THRESHOLD)
        assert score(30, 30, 20, "up") == pytest.approx(SCORE_AT_TARGET)
        assert score(8, 4, 8, "down") == pytest.approx(SCORE_AT_THRESHOLD)
        assert score(4, 4, 8, "down") == pytest.approx(SCORE_AT_TARGET)

    def test_same_slope_beyond_and_clipping(self) -> None:
        # Slope 10/3 per 10 points: 35 -> 20/3 + 5/3 = 25/3; 10 -> 0.
        assert score(35, 30, 20, "up") == pytest.approx(25 / 3)
        assert score(10, 30, 20, "up") == 0.0
        assert score(5, 30, 20, "up") == 0.0
        assert score(45, 30, 20, "up") == 10.0
        assert score(2, 4, 8, "down") == pytest.approx(20 / 3 + 5 / 3)
        assert score(0, 4, 8, "down") == 10.0

    def test_target_equal_to_threshold(self) -> None:
        assert score(5, 5, 5, "up") == pytest.approx(SCORE_AT_TARGET)
        assert score(6, 5, 5, "up") == 10.0
        assert score(4, 5, 5, "up") == 0.0
        assert score(4, 5, 5, "down") == 10.0

    @given(
        a=st.floats(-1000, 1000),
        b=st.floats(-1000, 1000),
        target=st.floats(-500, 500),
        gap=st.floats(0.01, 500),
        direction=st.sampled_from(["up", "down"]),
    )
    def test_monotone_in_value_and_in_bounds(
        self, a: float, b: float, target: float, gap: float, direction: str
    ) -> None:
        threshold = target - gap if direction == "up" else target + gap
        lo, hi = sorted((a, b))
        s_lo, s_hi = (
            score(lo, target, threshold, direction),
            score(hi, target, threshold, direction),
        )
        assert 0.0 <= s_lo <= 10.0 and 0.0 <= s_hi <= 10.0
        if direction == "up":
            assert s_lo <= s_hi + 1e-12
        else:
            assert s_lo >= s_hi - 1e-12

    @given(
        value=st.floats(-1000, 1000),
        target=st.floats(-500, 500),
        gap=st.floats(0.01, 500),
        direction=st.sampled_from(["up", "down"]),
    )
    def test_score_band_agrees_with_status(
        self, value: float, target: float, gap: float, direction: str
    ) -> None:
        threshold = target - gap if direction == "up" else target + gap
        s = score(value, target, threshold, direction)
        # Floating point at the exact boundaries is the one place they may differ.
        assume(abs(s - SCORE_AT_TARGET) > 1e-9 and abs(s - SCORE_AT_THRESHOLD) > 1e-9)
        st_ = status(
            value, None, direction=direction, min_n=None, target=target, threshold=threshold
        )
        assert band(s) == st_


def test_band() -> None:
    assert band(7.0) == "green"
    assert band(20 / 3) == "green"
    assert band(5.0) == "amber"
    assert band(10 / 3) == "amber"
    assert band(3.3) == "red"
    assert band(float("nan")) == "no-data"


def test_roll_up_ignores_missing_scores_and_renormalises() -> None:
    rows = pd.DataFrame(
        {
            "node": ["a", "a", "a", "b"],
            "score": [9.0, 3.0, float("nan"), float("nan")],
            "w": [2.0, 1.0, 5.0, 1.0],
        }
    )
    out = roll_up(rows, ["node"], "w").set_index("node")
    # a: (2·9 + 1·3) / 3 = 7, the NaN's weight 5 dropped; b: nothing scored.
    assert out.loc["a", "value"] == pytest.approx(7.0)
    assert out.loc["a", "n"] == 2
    assert math.isnan(out.loc["b", "value"]) and out.loc["b", "n"] == 0


def _frame(statuses: list[str], start: str = "2026-01") -> pd.DataFrame:
    from reportlib import periods

    return pd.DataFrame(
        {
            "period": [periods.shift(start, i) for i in range(len(statuses))],
            "node": "all",
            "kpi": "nps",
            "status": statuses,
        }
    )


def test_escalation_after_exactly_n_reds() -> None:
    f = _frame(["green", "red", "red", "red"])  # Jan..Apr
    assert escalations(f, "2026-03", 3).empty  # two reds so far
    esc = escalations(f, "2026-04", 3)
    assert esc.to_dict("records") == [
        {"node": "all", "kpi": "nps", "streak": 3, "since": "2026-02"}
    ]


def test_streak_broken_by_amber_or_missing_month() -> None:
    f = _frame(["red", "amber", "red", "red"])
    assert red_streaks(f, "2026-04")["streak"].tolist() == [2]
    gap = _frame(["red", "red"]).iloc[[0, 1]]
    gap = pd.concat([gap, _frame(["red"], start="2026-04")])  # March missing
    assert red_streaks(gap, "2026-04")["streak"].tolist() == [1]


def test_resolved_escalation_for_one_period_only() -> None:
    from reportlib.scorecard import resolved_escalations

    f = _frame(["green", "red", "red", "red", "amber", "green"])  # Jan..Jun
    assert resolved_escalations(f, "2026-04", 3).empty  # escalated (exactly 3 reds), not resolved
    assert len(escalations(f, "2026-04", 3)) == 1
    res = resolved_escalations(f, "2026-05", 3)
    assert res.to_dict("records") == [
        {"node": "all", "kpi": "nps", "streak": 3, "since": "2026-02", "status": "amber"}
    ]
    assert resolved_escalations(f, "2026-06", 3).empty  # one period only
    assert resolved_escalations(f, "2026-03", 3).empty  # not before


def test_not_resolved_without_escalation_or_data() -> None:
    from reportlib.scorecard import resolved_escalations

    short = _frame(["red", "red", "green"])  # two reds never escalated
    assert resolved_escalations(short, "2026-03", 3).empty
    gap = _frame(["red", "red", "red"])  # April has no row: not known to be resolved
    assert resolved_escalations(gap, "2026-04", 3).empty
    still = _frame(["red", "red", "red", "red"])
    assert resolved_escalations(still, "2026-04", 3).empty
