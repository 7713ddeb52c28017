"""KPIs by channel: the tiny company's March figures by response and ticket channel, by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reportlib import commentary, layout, render
from reportlib.config import Project, load_project
from reportlib.pipeline import compute
from reportlib.render.voice_views import channel_name, channels_view

from .conftest import write_project

PERIOD = "2026-03"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    p = load_project(write_project(tmp_path_factory.mktemp("channels")))
    compute(p, PERIOD, accept_quality="tiny fixture")
    return p


@pytest.fixture(scope="module")
def frame(project: Project) -> pd.DataFrame:
    return pd.read_parquet(layout.PeriodOutput(project.settings.output_path, PERIOD).channels)


def pick(frame: pd.DataFrame, node: str, kpi: str) -> dict[str, tuple[float, float]]:
    mine = frame[(frame["node"] == node) & (frame["kpi"] == kpi)]
    return {c: (v, n) for c, v, n in zip(mine["channel"], mine["value"], mine["n"], strict=True)}


def wilson(x: int, n: int) -> tuple[float, float]:
    """The Wilson score interval at 95%, written out (DOMAIN.md §4)."""
    z = 1.96
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (centre - half), 100 * (centre + half)


def test_survey_kpis_by_response_channel(frame: pd.DataFrame) -> None:
    # March NPS answers are all by email: 10 9 8 7 6 0 10 -> n 7, P 3, D 2 -> 100 * 1/7.
    assert pick(frame, "all", "nps") == {"email": (pytest.approx(100 / 7), 7)}
    # CSAT in-app 5 4 3 1 -> 2 of 4; CES in-app 7 5 4 -> 2 of 3 (top box from 5).
    assert pick(frame, "all", "csat") == {"in-app": (50.0, 4)}
    assert pick(frame, "all", "ces") == {"in-app": (pytest.approx(200 / 3), 3)}
    row = frame[(frame["node"] == "all") & (frame["kpi"] == "csat")].iloc[0]
    lo, hi = wilson(2, 4)
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    # NPS interval: pP 3/7, pD 2/7, SE = 100 sqrt((5/7 - 1/49) / 7).
    se = 100 * math.sqrt((5 / 7 - 1 / 49) / 7)
    nps = frame[(frame["node"] == "all") & (frame["kpi"] == "nps")].iloc[0]
    assert nps["ci_low"] == pytest.approx(100 / 7 - 1.96 * se)
    # Enterprise · Europe (C1, C2): NPS 10 and 9 -> 100 on 2.
    assert pick(frame, "ent/eu", "nps") == {"email": (100.0, 2)}


def test_ticket_kpis_by_ticket_channel(frame: pd.DataFrame) -> None:
    # Resolved in March: T1 email (FCR), T2 phone (2 contacts), T3 chat (reopened), T6 chat (FCR).
    assert pick(frame, "all", "fcr") == {"chat": (50.0, 2), "email": (100.0, 1), "phone": (0.0, 1)}
    assert pick(frame, "all", "reopen_rate") == {
        "chat": (50.0, 2),
        "email": (0.0, 1),
        "phone": (0.0, 1),
    }
    # Census figures: no interval.
    assert frame[frame["source"] == "ticket"][["ci_low", "ci_high"]].isna().all().all()
    # Enterprise · Europe is C1's T1 and T2 only.
    assert pick(frame, "ent/eu", "fcr") == {"email": (100.0, 1), "phone": (0.0, 1)}


def test_channel_counts_add_up_to_the_scorecard(project: Project, frame: pd.DataFrame) -> None:
    """Over the channels, n adds up to the scorecard's n of every node (nothing lost or doubled)."""
    card = pd.read_parquet(
        layout.PeriodOutput(project.settings.output_path, PERIOD).scorecard_parquet
    )
    sums = frame.groupby(["node", "kpi"])["n"].sum()
    for (node, kpi), n in sums.items():
        row = card[(card["node"] == node) & (card["kpi"] == kpi)].iloc[0]
        assert n == row["n"], (node, kpi)


def test_channel_view_and_page(project: Project) -> None:
    ctx = render.load_context(project, PERIOD, "all")
    view = channels_view(ctx)
    assert view.shown
    assert [k.name for k in view.surveys] == [
        "Net Promoter Score",
        "Customer satisfaction (CSAT)",
        "Customer effort (CES)",
    ]
    csat = view.surveys[1].rows[0]
    assert (csat.channel, csat.value, csat.n) == ("In-app", "50.0%", "4")
    assert csat.low_n  # 4 answers, minimum 30
    assert csat.interval.startswith("15.0%")
    assert [r.channel for r in view.tickets[0].rows] == ["Chat", "Email", "Phone"]
    assert channel_name("sms") == "SMS"
    html = render.render_section(
        ctx,
        render.Charts({}, {}, {}, None),
        commentary.Commentary("all", PERIOD, None, {}, False),
        "channels",
    )
    assert "Surveys, by response channel" in html and "Tickets, by ticket channel" in html


def test_no_channel_page_without_the_file(project: Project) -> None:
    import dataclasses

    ctx = dataclasses.replace(render.load_context(project, PERIOD, "all"), channels=None)
    assert not channels_view(ctx).shown
