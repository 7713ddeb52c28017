"""Headlines (reportlib/headlines.py): every branch of the sentences, on records made by hand.

The rules under test: significance only where the scorecard records a tested, significant
change, and never on a KPI with too few responses; "not scored" and "insufficient" said
plainly; "uncertain" where the status's interval crosses its line (DOMAIN.md §4–§6).
"""

from __future__ import annotations

from reportlib import headlines as hl
from reportlib.formatting import status_style
from reportlib.render.records import (
    ActionsView,
    ActionView,
    Cell,
    Escalations,
    EscalationView,
    KpiView,
    NodeEscalations,
    PerspectiveView,
    Score,
    Status,
)

NONE = Cell("–", "none", "")


def kpi(
    name: str,
    status: Status = "green",
    *,
    mom: Cell = NONE,
    yoy: Cell = NONE,
    uncertain: bool = False,
    low_n: bool = False,
) -> KpiView:
    return KpiView(
        id=name.lower(), name=name, kind="survey", owner="o", responsible="", sample=True,
        min_n=30, manual=False, breaks=(), spark="", trend="", comparison="", additive=False,
        value="1", target="1", has_target=status != "no-target", threshold="",
        status=status_style(status), status_id=status, mom=mom, yoy=yoy, n="100",
        low_n=low_n, interval="", uncertain=uncertain,
    )  # fmt: skip


def score(value: str, status: Status, coverage: str = "3 of 3 KPIs scored") -> Score:
    return Score(value, status_style(status), status, "", coverage)


def group(name: str, s: Score, *kpis: KpiView) -> PerspectiveView:
    return PerspectiveView(name.lower(), name, 1.0, s, tuple(kpis), None)


SIG_UP = Cell("+7.8", "good", "", significant=True)
SIG_DOWN = Cell("−3.1 pp", "bad", "", significant=True)
NOT_SIG = Cell("+9.0", "ns", "n.s.")
UNTESTED = Cell("+2.0 pp", "good", "n.t.")


def test_short_names_and_lists() -> None:
    assert hl.short_name("Customer satisfaction (CSAT)") == "CSAT"
    assert hl.short_name("Employee NPS (eNPS)") == "eNPS"
    assert hl.short_name("Revenue growth (YoY)") == "Revenue growth"
    assert hl.short_name("Reopen rate") == "Reopen rate"
    assert hl.names(["A"]) == "A"
    assert hl.names(["A", "B"]) == "A and B"
    assert hl.names(["A", "B", "C"]) == "A, B and C"
    assert hl.names(["A", "B", "C", "D", "E"]) == "A, B, C and 2 more"


def test_perspective_lists_off_and_below_target_and_a_significant_change() -> None:
    g = group(
        "Customer",
        score("5.9", "amber"),
        kpi("Customer satisfaction (CSAT)", "amber"),
        kpi("Customer effort (CES)", "amber"),
        kpi("Net Promoter Score (NPS)", "green", yoy=SIG_UP),
    )
    assert hl.perspective(g) == "CSAT and CES below target; NPS +7.8 YoY, significant"
    assert (
        hl.perspective_sentence(g)
        == "Customer: CSAT and CES below target; NPS +7.8 YoY, significant"
    )


def test_perspective_change_rules() -> None:
    # Unfavourable before favourable, MoM before YoY; n.s. and n.t. changes are never news.
    g = group(
        "Customer",
        score("7.0", "green"),
        kpi("A", mom=NOT_SIG),
        kpi("B", mom=UNTESTED),
        kpi("C", yoy=SIG_DOWN),
        kpi("D", mom=SIG_UP),
    )
    assert hl.perspective(g) == "All KPIs with a target on target; D +7.8 MoM, significant"
    # A quarterly pack names the change on the previous quarter.
    assert hl.perspective(g, "QoQ") == "All KPIs with a target on target; D +7.8 QoQ, significant"
    g = group("Customer", score("7.0", "green"), kpi("A", yoy=SIG_UP), kpi("C", yoy=SIG_DOWN))
    assert hl.perspective(g).endswith("; C −3.1 pp YoY, significant")
    g = group("Customer", score("7.0", "green"), kpi("A", mom=NOT_SIG), kpi("B", mom=UNTESTED))
    assert hl.perspective(g) == "All KPIs with a target on target"
    # A significant change on too few responses is not claimed (the movers' rule).
    g = group(
        "Customer",
        score("–", "insufficient", "0 of 2 KPIs scored"),
        kpi("Net Promoter Score", "insufficient", mom=SIG_UP, low_n=True),
        kpi("B", "no-target"),
    )
    assert hl.perspective(g) == "Net Promoter Score insufficient (too few responses)"
    assert hl.perspective_sentence(g) == (
        "Customer: not scored (0 of 2 KPIs scored); Net Promoter Score insufficient "
        "(too few responses)"
    )


def test_perspective_uncertain_single_and_nothing_judged() -> None:
    g = group(
        "Process",
        score("2.0", "red"),
        kpi("Reopen rate", "red", uncertain=True),
        kpi("FCR", "red"),
        kpi("SLA", "amber", uncertain=True),
    )
    assert hl.perspective(g) == (
        "Reopen rate and FCR off target (Reopen rate uncertain); SLA below target (uncertain)"
    )
    assert hl.perspective(group("P", score("8.0", "green"), kpi("FCR"))) == "FCR on target"
    people = group("People", score("1.8", "red"), kpi("Employee NPS (eNPS)", "red"))
    assert hl.perspective(people) == "eNPS off target"  # not "ENPS"
    nothing = group("People", score("–", "no-data", ""), kpi("eNPS", "no-target"))
    assert hl.perspective(nothing) == "No KPI judged against a target"


def test_summary_sentences() -> None:
    amber = score("6.8", "amber", "4 of 4 perspectives scored")
    assert hl.summary(amber, 3) == "Overall 6.8, below target; 3 KPIs escalated"
    assert (
        hl.summary(amber, 1, below=9, below_top=("SMB · LATAM", 7), overdue=2)
        == "Overall 6.8, below target; 1 KPI escalated, 2 actions overdue; 9 below, "
        "7 in SMB · LATAM"
    )
    assert (
        hl.summary(score("8.1", "green"), 0, below=2, below_top=("SMB · LATAM", 2))
        == "Overall 8.1, on target; no escalation here; 2 below, in SMB · LATAM"
    )
    assert hl.summary(score("2.1", "red"), 0) == "Overall 2.1, off target; no escalations"
    unscored = score("–", "insufficient", "1 of 4 perspectives scored")
    assert hl.summary(unscored, 0) == (
        "Overall not scored (1 of 4 perspectives scored); no escalations"
    )
    assert hl.summary(score("–", "no-data", ""), 0) == "Overall no score; no escalations"


def test_scorecard_sentences() -> None:
    c = group("C", score("5", "amber"), kpi("Reopen rate", "red"), kpi("X", "amber"), kpi("Y"))
    p = group("P", score("5", "amber"), kpi("SLA", "red"), kpi("N", "insufficient"))
    assert hl.scorecard((c, p)) == (
        "2 of 5 KPIs off target (Reopen rate and SLA), 1 below target; "
        "1 KPI with too few responses to judge"
    )
    assert hl.scorecard((group("C", score("5", "amber"), kpi("X", "amber"), kpi("Y")),)) == (
        "No KPI off target; 1 of 2 below target"
    )
    assert hl.scorecard((group("C", score("9", "green"), kpi("Y")),)) == (
        "No KPI off target or below target; 1 of 1 on target"
    )
    assert hl.scorecard((group("C", score("–", "no-data"), kpi("Y", "no-target")),)) == (
        "None of the 1 KPIs is judged against a target"
    )


def test_weakest_and_ranking() -> None:
    figures = [
        hl.Figure("SMB · LATAM", 3.1, "3.1", "red"),
        hl.Figure("SMB · EMEA", 6.0, "6.0", "amber"),
        hl.Figure("Enterprise · US", 8.0, "8.0", "green"),
        hl.Figure("Enterprise · LATAM", None, "not scored", "insufficient"),
    ]
    assert hl.weakest(figures, "region") == (
        "SMB · LATAM is the weakest of 4 regions (3.1, off target); 1 region off target, "
        "1 not scored"
    )
    assert hl.weakest(figures[1:3], "segment") == (
        "SMB · EMEA is the weakest of 2 segments (6.0, below target); none off target"
    )
    assert hl.weakest(figures[3:], "country", "countries") == (
        "None of the 1 country has an overall score"
    )
    assert hl.ranking(figures) == (
        "Enterprise · US leads on overall score (8.0, on target); SMB · LATAM trails "
        "(3.1, off target); Enterprise · LATAM not scored"
    )
    assert hl.ranking(figures[2:]) == (
        "Enterprise · US is the only one scored (8.0, on target); Enterprise · LATAM not scored"
    )
    assert hl.ranking(figures[3:]) == "No overall score to compare; Enterprise · LATAM not scored"
    level = [hl.Figure("A", 5.0, "5.0", "amber"), hl.Figure("B", 5.0, "5.0", "amber")]
    assert hl.ranking(level) == "All at the same overall score (5.0, below target)"


def test_channels_say_whether_the_gap_is_more_than_chance() -> None:
    apart = [
        hl.Figure("Email", 35.0, "+35.0", low=30.0, high=40.0),
        hl.Figure("Chat", 12.0, "+12.0", low=5.0, high=19.0),
    ]
    assert hl.channels("NPS", apart) == (
        "NPS from +12.0 (Chat) to +35.0 (Email); their 95% intervals do not overlap"
    )
    overlap = [apart[0], hl.Figure("Chat", 28.0, "+28.0", low=20.0, high=36.0)]
    assert hl.channels("NPS", overlap).endswith("overlap, so the gap may be chance")
    no_ci = [hl.Figure("Email", 80.0, "80.0%"), hl.Figure("Chat", 70.0, "70.0%")]
    assert hl.channels("FCR", no_ci) == "FCR from 70.0% (Chat) to 80.0% (Email)"
    assert hl.channels("NPS", apart[:1]) == (
        "NPS: too few responses in the channels to compare them"
    )


def test_verbatims_sentence() -> None:
    assert hl.verbatims(12, 30, "March 2026") == (
        "12 detractors and 30 promoters left a comment in March 2026"
    )
    assert hl.verbatims(1, 1, "March 2026") == (
        "1 detractor and 1 promoter left a comment in March 2026"
    )
    assert hl.verbatims(0, 0, "March 2026") == (
        "No detractor or promoter left a comment in March 2026"
    )


def _esc(name: str, *items: ActionView, none: str = "") -> EscalationView:
    return EscalationView(
        kpi=name, perspective="P", owner="o", responsible="", since="January 2026", streak=3,
        value="1", target="2", threshold="1",
        actions=ActionsView(items=items, source="Actions", none=none, count=""),
    )  # fmt: skip


def _escalations(mine=(), approaching=(), below=()) -> Escalations:
    return Escalations("March 2026", 3, tuple(mine), tuple(approaching), (), (), (), tuple(below))


def test_escalations_sentences() -> None:
    late = ActionView("Fix", "Dana", "2026-03-01", "Open", "open", overdue=True)
    ok = ActionView("Fix", "Dana", "2026-06-01", "Open", "open", overdue=False)
    esc = _escalations(
        [
            _esc("Customer satisfaction (CSAT)", late, ok),
            _esc("Reopen rate", none="No action recorded"),
        ]
    )
    assert hl.escalations(esc) == (
        "2 KPIs escalated: CSAT and Reopen rate; 1 action overdue, 1 KPI without an action"
    )
    assert hl.escalations(_escalations([_esc("Reopen rate", ok)])) == (
        "1 KPI escalated: Reopen rate"
    )
    assert hl.escalations(_escalations()) == "No escalations"
    assert hl.escalations(_escalations(approaching=[_esc("FCR")])) == (
        "No escalations; 1 KPI off target, not yet escalated"
    )
    below = [NodeEscalations("smb/latam", "SMB · LATAM", (_esc("A"), _esc("B")))]
    assert hl.escalations(_escalations(below=below), 11, ("SMB · LATAM", 9)) == (
        "No escalation here; 11 below, 9 in SMB · LATAM"
    )
    assert hl.escalations(_escalations(), 2, ("SMB · LATAM", 2)) == (
        "No escalation here; 2 below, in SMB · LATAM"
    )
    assert hl.escalations(_escalations(), 2, None) == "No escalation here; 2 below"
