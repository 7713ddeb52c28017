"""The cover's key messages and flags (render/cover_views.py), on the tiny project's figures."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from reportlib import commentary, packdata
from reportlib.charts import Charts
from reportlib.config import load_project
from reportlib.formatting import status_style
from reportlib.packdata import PackContext
from reportlib.pipeline import compute
from reportlib.render import cover_views, pack_view, render_section
from reportlib.render.records import Score

from .conftest import write_project

PERIOD = "2026-03"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    p = load_project(write_project(tmp_path_factory.mktemp("cover-messages")))
    compute(p, PERIOD, accept_quality="tiny fixture: the rows are planted on purpose")
    return p


def context(project, node: str) -> PackContext:
    return packdata.load_context(project, PERIOD, node)


def score(status: str, value: str = "7.5", change: str = "", reason: str = "") -> Score:
    return Score(value, status_style(status), status, change, "", reason)  # type: ignore[arg-type]


def test_the_overall_message_says_status_change_and_weakest_perspective() -> None:
    weakest = "the weakest perspective: Customer 6.4 (watch)"
    assert (
        cover_views.overall_message(score("green", change="−0.8 on last month"), weakest)
        == "Overall 7.5 / 10, on target, −0.8 on last month; "
        "the weakest perspective: Customer 6.4 (watch)."
    )
    assert cover_views.overall_message(score("amber", "5.0")) == (
        "Overall 5.0 / 10, below target, above the red line."
    )
    assert cover_views.overall_message(score("red", "2.1")).startswith(
        "Overall 2.1 / 10, off target"
    )
    reason = "Not scored: 1 of 4 perspectives scored, carrying 25% of the weight; at least half is needed"
    assert cover_views.overall_message(score("insufficient", "–", reason=reason)) == (
        "No overall score this month (insufficient coverage): 1 of 4 perspectives scored, "
        "carrying 25% of the weight; at least half is needed."
    )
    assert cover_views.overall_message(score("no-data", "–")) == (
        "No overall score this month: no scored KPIs."
    )


def test_the_weakest_perspective_needs_two_scored(project) -> None:
    ctx = context(project, "all")
    assert cover_views.weakest_perspective(ctx) == ""  # the tiny company scores one perspective
    current = ctx.current.copy()
    for key, value, status in (("score:customer", 4.0, "amber"), ("score:process", 8.0, "green")):
        at = (current["node"] == "all") & (current["kpi"] == key)
        current.loc[at, ["value", "status"]] = [value, status]
    text = cover_views.weakest_perspective(dataclasses.replace(ctx, current=current))
    assert text == "the weakest perspective: Customer 4.0 (watch)"


def test_the_problem_is_the_longest_escalation_here_or_below(project) -> None:
    ctx = context(project, "all")
    history = ctx.history.copy()
    for node, kpi, months in (("ent/eu", "fcr", 4), ("smb", "reopen_rate", 3)):
        recent = sorted(history["period"].unique())[-months:]
        at = (history["node"] == node) & (history["kpi"] == kpi) & history["period"].isin(recent)
        history.loc[at, "status"] = "red"
    escalated = dataclasses.replace(ctx, history=history)
    assert cover_views.problem_message(escalated) == (
        "2 escalations here and below; the longest: First contact resolution at "
        "Enterprise · Europe, off target 4 months in a row."
    )
    own = pd.DataFrame({"node": ["all"], "kpi": ["fcr"], "streak": [6], "since": ["2025-10"]})
    mine = dataclasses.replace(escalated, escalations=own)
    assert cover_views.problem_message(mine).startswith(
        "3 escalations here and below; the longest: First contact resolution, off target 6"
    )


def test_without_escalations_the_problem_is_the_biggest_move(project) -> None:
    ctx = context(project, "all")
    (top,) = packdata.movers(ctx, 1)
    text = cover_views.problem_message(ctx)
    assert text.startswith(f"No escalations. Biggest move: {top.kpi.name} +")
    assert "(a material change)" in text or "(significant at 95%)" in text
    quiet = context(project, "smb/us")
    assert cover_views.problem_message(quiet) == (
        "No escalations, and no significant or material move on last month."
    )


def test_the_third_message_says_where_the_change_came_from_or_what_is_off(project) -> None:
    ent = context(project, "ent")
    assert cover_views.below_message(ent) == (
        "Where it came from: SLA compliance −50.0 pp: Enterprise · United States −75.0 pp, "
        "Enterprise · Europe +25.0 pp."
    )
    leaf = context(project, "ent/eu")  # fcr 50% against the Enterprise target of 80%
    assert cover_views.below_message(leaf) == (
        "Off target: First contact resolution 50.0% against a target of 80.0%."
    )
    assert cover_views.below_message(context(project, "smb/us")) == "No KPI off target this month."


def test_flags_for_a_restatement_and_a_quality_override(project) -> None:
    ctx = context(project, "all")
    overall = score("green")
    assert cover_views.cover_flags(ctx, overall, None) == ()
    gate = {"gate": {"accepted": True, "reason": "late ticket export, checked by hand"}}
    flags = cover_views.cover_flags(
        dataclasses.replace(ctx, quality=gate), overall, "v2, restated on 3 April 2026"
    )
    assert [f.kind for f in flags] == ["restated", "quality-override"]
    assert "v2, restated on 3 April 2026" in flags[0].text
    assert flags[1].text.endswith("Reason given: late ticket export, checked by hand")


def test_the_cover_prints_the_messages_and_flags(project) -> None:
    ctx = dataclasses.replace(context(project, "all"), quality={"gate": {"accepted": True}})
    notes = commentary.Commentary("all", PERIOD, None, {}, True)
    view = pack_view(ctx, Charts({}, {}, {}), notes)
    assert len(view.cover.messages) == 3
    html = render_section(ctx, Charts({}, {}, {}), notes, "cover")
    for message in view.cover.messages:
        assert message.split(":")[0] in html
    assert 'class="cover-flag flag-quality-override"' in html
    assert "Data-quality gate overridden" in html


def test_a_withheld_split_says_not_split_with_the_reason(project) -> None:
    from reportlib import explain

    ent = context(project, "ent")
    assert [m.kpi.id for m in packdata.movers(ent)] == [
        "first_response_hours",
        "sla_compliance",
        "logo_retention",
    ]
    # first response time is a median: Enterprise's is not made of its regions' medians
    assert explain.split_sentences(ent) == (
        "First response time +1.0 h: not split: the figures below do not combine into it "
        "(a median, a ratio of two counts or a manual value).",
        *(s.sentence for s in explain.change_sources(ent)),
    )
    assert explain.split_sentences(context(project, "ent/eu")) == ()  # a leaf splits nothing
    notes = commentary.Commentary("ent", PERIOD, None, {}, True)
    summary = pack_view(ent, Charts({}, {}, {}), notes).summary
    assert summary.sources[0].startswith("First response time +1.0 h: not split")
