"""Actions on escalated KPIs (DOMAIN.md §8): checked front matter, overdue at the cut-off, counts.

The parse and count rules are tested on small lists; the pack's escalations page and
summary on the tiny project with `escalate_after = 1`, so March's reds are escalations:
`all` has Reopen rate escalated, `ent` FCR and Reopen rate, `ent/eu` FCR.
"""

from __future__ import annotations

import textwrap
from datetime import date, datetime
from pathlib import Path

import pytest

from reportlib import actions, cascade, commentary, render
from reportlib.charts import Charts
from reportlib.commentary import KpiActions
from reportlib.config import Project, load_project
from reportlib.errors import ConfigError
from reportlib.packdata import load_context
from reportlib.pipeline import compute
from reportlib.render import views
from reportlib.render.action_views import actions_view, count_text

from .conftest import write_project

PERIOD = "2026-03"
KPIS = {"csat", "nps", "fcr", "reopen_rate"}
SRC = Path("data/commentary/2026-03/all.md")


def one(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kpi": "csat",
        "action": "Call back detractors",
        "owner": "Dana",
        "due": date(2026, 4, 30),
        "status": "open",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


# --- parse: every mistake is one line naming the file, the action and the field ----------


def test_parse_reads_dates_written_either_way_and_tidies_text() -> None:
    got = actions.parse(
        [one(), one(kpi="nps", due="2026-05-01", status="Done", action="  Two\n  lines ")],
        KPIS,
        SRC,
    )
    assert got == (
        actions.Action("csat", "Call back detractors", "Dana", date(2026, 4, 30), "open"),
        actions.Action("nps", "Two lines", "Dana", date(2026, 5, 1), "done"),
    )
    assert actions.parse(None, KPIS, SRC) == ()  # the draft's empty `actions:`
    assert actions.parse([], KPIS, SRC) == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            [one(), one(kpi="nsp")],
            "data/commentary/2026-03/all.md: action 2 of 2, field 'kpi': 'nsp' is not a KPI id "
            "(did you mean 'nps'?)",
        ),
        (
            [one(due="2026-13-01")],
            "action 1 of 1, field 'due': '2026-13-01' is not a date in the form YYYY-MM-DD",
        ),
        ([one(due="30/04/2026")], "field 'due': '30/04/2026' is not a date"),
        ([one(due=datetime(2026, 4, 30, 9))], "field 'due'"),
        ([one(owner=...)], "action 1 of 1, field 'owner': missing"),
        ([one(action="  ")], "action 1 of 1, field 'action': missing"),
        (
            [one(status="closed")],
            "field 'status': 'closed' is not one of open, done, dropped",
        ),
        ([one(when="soon")], "action 1 of 1, field 'when': unknown field"),
        ([one(owner=42)], "field 'owner': must be text"),
        (["call them"], "action 1 of 1: must be a mapping with the fields kpi, action"),
        ({"kpi": "csat"}, "front matter 'actions' must be a list of actions"),
    ],
)
def test_parse_refuses_with_one_line(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        actions.parse(raw, KPIS, SRC)
    assert message in str(e.value)
    assert str(e.value).startswith(str(SRC))
    assert "\n" not in str(e.value)


def test_overdue_is_open_and_due_before_the_reference_day() -> None:
    day = date(2026, 4, 1)
    due_before = actions.Action("csat", "a", "o", date(2026, 3, 31), "open")
    due_on = actions.Action("csat", "a", "o", day, "open")
    done_late = actions.Action("csat", "a", "o", date(2026, 1, 1), "done")
    dropped_late = actions.Action("csat", "a", "o", date(2026, 1, 1), "dropped")
    assert due_before.overdue(day)
    assert not due_on.overdue(day)  # due on the cut-off day itself: not yet late
    assert not done_late.overdue(day) and not dropped_late.overdue(day)
    t = actions.tally([due_before, due_on, done_late], day)
    assert t == actions.Tally(open=2, overdue=1, without=0)
    assert actions.tally([], day) == actions.Tally(0, 0, 1)
    assert actions.reference_day(datetime(2026, 3, 31, 23, 0), date(2026, 4, 1)) == date(
        2026, 3, 31
    )
    assert actions.reference_day(None, date(2026, 4, 1)) == date(2026, 4, 1)


def test_tally_and_count_texts() -> None:
    assert actions.tally_text(actions.Tally(4, 1, 0)) == "4 open actions, 1 overdue"
    assert actions.tally_text(actions.Tally(1, 0, 0)) == "1 open action"
    assert (
        actions.tally_text(actions.Tally(0, 0, 2))
        == "no open action, 2 escalated KPIs without an action"
    )
    assert (
        actions.tally_text(actions.Tally(2, 0, 1))
        == "2 open actions, 1 escalated KPI without an action"
    )
    day = date(2026, 4, 1)
    late = actions.Action("csat", "a", "o", date(2026, 3, 1), "open")
    later = actions.Action("csat", "a", "o", date(2026, 6, 1), "open")
    done = actions.Action("csat", "a", "o", date(2026, 3, 1), "done")
    assert count_text([late, later], day) == "2 open, 1 overdue"
    assert count_text([later], day) == "1 open"
    assert count_text([done], day) == "none open (1 closed)"
    assert count_text([], day) == "No action recorded"


def test_an_escalated_kpi_whose_actions_are_all_closed_says_so() -> None:
    day = date(2026, 4, 1)
    closed = (
        actions.Action("csat", "Fixed the portal", "Tom", date(2026, 2, 1), "done"),
        actions.Action("csat", "Hire", "HR", date(2026, 2, 1), "dropped"),
    )
    found = KpiActions("csat", "2026-02", closed, None)
    view = actions_view(found, PERIOD, day, "en_US", escalated=True)
    assert view.none == "No open action" and len(view.items) == 2
    assert view.source == "Actions recorded in February 2026"
    assert view.count == "none open (2 closed)"
    assert [a.status for a in view.items] == ["Done", "Dropped"]
    # An approaching KPI is not asked for an action.
    assert actions_view(None, PERIOD, day, "en_US", escalated=False).none == ""
    assert actions_view(None, PERIOD, day, "en_US", escalated=True).none == "No action recorded"


# --- on the tiny project --------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    config = write_project(
        tmp_path_factory.mktemp("actions"),
        settings='timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\nescalate_after = 1\n',
    )
    p = load_project(config)
    compute(p, PERIOD, accept_quality="tiny fixture: the rows are planted on purpose")
    return p


@pytest.fixture
def put(project: Project):
    """Write a commentary file; every file written is removed after the test."""
    written: list[Path] = []

    def write(node: str, text: str, period: str = PERIOD) -> Path:
        path = commentary.path_for(project, period, node)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        written.append(path)
        return path

    yield write
    for path in written:
        path.unlink(missing_ok=True)


ENT = """\
    ---
    actions:
      - kpi: fcr
        action: Coach the first-line team on the top five ticket types
        owner: Ops Lead
        due: 2026-03-15
        status: open
      - kpi: fcr
        action: Publish the knowledge-base articles
        owner: Ops Lead
        due: 2026-05-31
        status: open
      - kpi: fcr
        action: Hire two agents
        owner: HR
        due: 2026-02-01
        status: dropped
    ---
    ## Summary

    FCR is being worked on.
    """


def test_escalations_page_lists_actions_flags_overdue_and_says_when_there_is_none(
    project: Project, put
) -> None:
    put("ent", ENT)
    ctx = load_context(project, PERIOD, "ent")
    note = commentary.load(project, PERIOD, "ent")
    assert len(note.actions) == 3
    esc = views.escalations_view(ctx, note)
    by_kpi = {e.kpi: e for e in esc.escalations}
    fcr = by_kpi["First contact resolution"].actions
    assert fcr is not None and fcr.none == "" and fcr.source == "Actions"
    assert [(a.action, a.status, a.overdue) for a in fcr.items] == [
        ("Coach the first-line team on the top five ticket types", "Open", True),
        ("Publish the knowledge-base articles", "Open", False),
        ("Hire two agents", "Dropped", False),  # late, but no longer open
    ]
    reopen = by_kpi["Reopen rate"].actions
    assert reopen is not None and reopen.items == () and reopen.none == "No action recorded"
    # Judged on the cut-off's day (31 March 2026), not on the day the pack is built.
    assert views.action_day(ctx) == date(2026, 3, 31)
    assert esc.actions == "2 open actions, 1 overdue, 1 escalated KPI without an action"
    html = render.render_section(ctx, Charts({}, {}, {}), note, "escalations")
    assert "Coach the first-line team on the top five ticket types" in html
    assert html.count('<span class="flag overdue">Overdue</span>') == 1
    assert html.count('class="flag no-action">No action recorded</span>') == 1
    assert "due before 2026-03-31, the day of the data cut-off, is overdue" in html
    summary = render.render_section(ctx, Charts({}, {}, {}), note, "summary")
    assert "2 open actions, 1 overdue, 1 escalated KPI without an action" in summary


def test_children_actions_roll_up_as_counts_on_the_parent(project: Project, put) -> None:
    put("ent", ENT)
    ctx = load_context(project, PERIOD, "all")
    note = commentary.load(project, PERIOD, "all")
    esc = views.escalations_view(ctx, note, cascade.findings_below(ctx))
    below = {g.node_id: {e.kpi: e.actions.count for e in g.items if e.actions} for g in esc.below}
    assert below["ent"] == {
        "First contact resolution": "2 open, 1 overdue",
        "Reopen rate": "No action recorded",
    }
    assert below["ent/eu"] == {"First contact resolution": "No action recorded"}
    assert set(below["ent/us"].values()) == {"No action recorded"} and len(below["ent/us"]) == 2
    assert esc.actions_below == "2 open actions, 1 overdue, 4 escalated KPIs without an action"
    html = render.render_section(ctx, Charts({}, {}, {}), note, "escalations")
    assert '<td class="act-count">2 open, 1 overdue</td>' in html
    assert html.count('<td class="act-count no-action">No action recorded</td>') == 4
    assert (
        "with the actions recorded in their commentary (2 open actions, 1 overdue, 4 escalated KPIs without an action)"
        in html
    )


def test_actions_of_an_earlier_month_of_the_streak_still_show(project: Project, put) -> None:
    """An action agreed in an earlier month of a KPI's red streak shows in March's pack,
    with its month, until March's commentary lists the KPI's actions itself."""
    put(
        "all",
        "---\nactions:\n  - {kpi: reopen_rate, action: Root-cause the reopens, owner: Lee,"
        " due: 2026-06-30, status: open}\n---\n",
        period="2026-02",
    )
    since = {"reopen_rate": "2026-02", "fcr": "2026-02"}
    found = commentary.kpi_actions(project, PERIOD, "all", since)
    assert found["fcr"] is None
    got = found["reopen_rate"]
    assert got is not None and got.period == "2026-02"
    assert [a.action for a in got.actions] == ["Root-cause the reopens"]
    # Not before the start of the streak.
    assert commentary.kpi_actions(project, PERIOD, "all", {"reopen_rate": PERIOD}) == {
        "reopen_rate": None
    }
    put(
        "all",
        "---\nactions:\n  - {kpi: reopen_rate, action: New plan, owner: Lee,"
        " due: 2026-07-31, status: open}\n---\n",
    )
    got = commentary.kpi_actions(project, PERIOD, "all", since)["reopen_rate"]
    assert got is not None and got.period == PERIOD
    assert [a.action for a in got.actions] == ["New plan"]


def test_check_period_refuses_a_bad_action_before_a_run(project: Project, put) -> None:
    put(
        "ent/eu",
        "---\nactions:\n  - {kpi: fcr, action: x, owner: y, due: soon, status: open}\n---\n",
    )
    with pytest.raises(ConfigError) as e:
        commentary.check_period(project, PERIOD)
    assert str(e.value) == (
        f"{commentary.path_for(project, PERIOD, 'ent/eu')}: action 1 of 1, field 'due': "
        "'soon' is not a date in the form YYYY-MM-DD"
    )


def test_draft_lists_the_escalated_kpis_in_a_commented_actions_skeleton(project: Project) -> None:
    ctx = load_context(project, PERIOD, "ent")
    text = commentary.draft(ctx)
    meta, _, _ = commentary.parse(project, text)
    assert meta["status"] == "draft"
    assert "actions" in meta and meta["actions"] is None  # nothing filled in: no action
    assert "#  - kpi: fcr  # First contact resolution, red since March 2026" in text
    assert "#  - kpi: reopen_rate  # Reopen rate, red since March 2026" in text
    assert text.count("#    due: YYYY-MM-DD") == 2
    # Filled in (the '#'s removed), the skeleton is a valid action list.
    filled = text.replace("#  - kpi", "  - kpi").replace("#    ", "    ")
    filled = filled.replace("YYYY-MM-DD", "2026-04-30").replace(
        "what is being done about it", "Fix"
    )
    meta, _, _ = commentary.parse(project, filled)
    listed = commentary.actions_of(project, meta, "draft")
    assert [a.kpi for a in listed] == ["fcr", "reopen_rate"]
    # A node without escalations gets no skeleton.
    assert "actions:" not in commentary.draft(load_context(project, PERIOD, "smb"))
