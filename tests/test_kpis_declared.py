"""Declared KPIs (kpis.yaml `source: declared`) against values worked out by hand on the tiny project.

The tickets here carry two columns of the company's own, `category` and `handle_minutes`
(the canonical table has neither). Hierarchy: C1, C2 ent/eu; C3 ent/us; C4 smb/eu; C5 smb/us.
as_of is 2026-03-31 12:00 UTC (tests/conftest.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from reportlib import sources
from reportlib.config import load_project
from reportlib.errors import ConfigError, DataError
from reportlib.pipeline import compute_scorecard

from .conftest import DEFAULTS, TARGETS, write_project

# T6 opened in February and resolved 1 March 10:00; T4, T5 and T7 are open at the cut-off.
TICKETS = """\
ticket_id,customer_id,channel,opened_at,first_response_at,resolved_at,contacts,reopened,sla_hours,category,handle_minutes
T1,C1,email,2026-03-02 09:00:00,2026-03-02 10:00:00,2026-03-02 12:00:00,1,false,4,question,12
T2,C1,phone,2026-03-05 08:00:00,2026-03-05 14:00:00,2026-03-06 08:00:00,2,false,4,question,30
T3,C3,chat,2026-03-10 00:00:00,2026-03-10 02:00:00,2026-03-12 00:00:00,1,true,8,complaint,20
T4,C4,email,2026-03-20 00:00:00,,,1,false,24,complaint,
T5,C5,email,2026-03-31 10:00:00,,,1,false,8,complaint,8
T6,C3,chat,2026-02-27 10:00:00,2026-02-27 11:00:00,2026-03-01 10:00:00,1,false,8,complaint,15
T7,C1,email,2026-03-30 10:00:00,2026-03-31 13:00:00,,1,false,4,question,10
"""

OWNER = {"owner": "Head of Support", "kind": "leading", "weight": 1, "version": 1}

DECLARED = [
    {
        "id": "ticket_backlog",
        "name": "Ticket backlog",
        "perspective": "process",
        "unit": "tickets",
        "direction": "down",
        "definition": "Tickets opened and not resolved at the end of the month.",
        "source": "declared",
        "measure": {
            "table": "tickets",
            "open_at_month_end": {"opened": "opened_at", "closed": "resolved_at"},
        },
    },
    {
        "id": "complaints_per_1000",
        "name": "Complaints per 1,000 customers",
        "perspective": "customer",
        "unit": "per 1,000 customers",
        "direction": "down",
        "definition": "Complaints opened in the month per 1,000 customers active at its end.",
        "source": "declared",
        "numerator": {
            "table": "tickets",
            "month": "opened_at",
            "where": [{"column": "category", "equals": "complaint"}],
        },
        "denominator": {
            "table": "customers",
            "open_at_month_end": {"opened": "acquired_on", "closed": "churned_on"},
        },
        "scale": 1000,
    },
    {
        "id": "handle_minutes",
        "name": "Average handle time",
        "perspective": "process",
        "unit": "minutes",
        "direction": "down",
        "definition": "Mean handle minutes of the tickets resolved in the month.",
        "source": "declared",
        "measure": {
            "table": "tickets",
            "aggregate": "mean",
            "column": "handle_minutes",
            "month": "resolved_at",
        },
    },
    {
        "id": "email_share",
        "name": "Email share",
        "perspective": "process",
        "unit": "percent",
        "direction": "down",
        "definition": "Percent of the tickets opened in the month that came by email.",
        "source": "declared",
        "numerator": {
            "table": "tickets",
            "month": "opened_at",
            "where": [{"column": "channel", "equals": "email"}],
        },
        "denominator": {"table": "tickets", "month": "opened_at"},
        "scale": 100,
    },
    {
        "id": "repeat_contacts",
        "name": "Tickets with repeat contacts",
        "perspective": "process",
        "unit": "tickets",
        "direction": "down",
        "definition": "Tickets opened in the month with more than one contact, since resolved.",
        "source": "declared",
        "measure": {
            "table": "tickets",
            "month": "opened_at",
            "where": [
                {"column": "contacts", "above": 1},
                {"column": "resolved_at", "is_null": False},
            ],
        },
    },
    {
        "id": "leavers",
        "name": "Leavers",
        "perspective": "learning",
        "unit": "people",
        "direction": "down",
        "definition": "Leavers in the month.",
        "source": "declared",
        "measure": {
            "table": "workforce",
            "aggregate": "sum",
            "column": "leavers",
            "month": "period",
        },
    },
]


def _count(kpi_id: str, measure: dict) -> dict:
    """A declared process KPI of one measure (the rest of its fields do not matter here)."""
    return {
        "id": kpi_id,
        "name": kpi_id,
        "perspective": "process",
        "unit": "tickets",
        "direction": "down",
        "definition": kpi_id,
        "source": "declared",
        "measure": measure,
    }


TESTS = [
    _count(
        "phone_or_chat",
        {
            "table": "tickets",
            "month": "opened_at",
            "where": [{"column": "channel", "one_of": ["phone", "chat"]}],
        },
    ),
    _count(
        "not_email_short",
        {
            "table": "tickets",
            "month": "opened_at",
            "where": [
                {"column": "channel", "not_equals": "email"},
                {"column": "handle_minutes", "at_most": 20},
            ],
        },
    ),
    _count(
        "short_minutes",
        {
            "table": "tickets",
            "aggregate": "sum",
            "column": "handle_minutes",
            "month": "opened_at",
            "where": [
                {"column": "handle_minutes", "below": 15},
                {"column": "handle_minutes", "at_least": 10},
            ],
        },
    ),
]


def catalogue(extra: list[dict]) -> str:
    raw = yaml.safe_load((DEFAULTS / "kpis.yaml").read_text(encoding="utf-8"))
    raw["kpis"] += [{**OWNER, **k} for k in extra]
    return yaml.safe_dump(raw, sort_keys=False)


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    config = write_project(
        tmp_path_factory.mktemp("declared"),
        tables={"tickets": TICKETS},
        kpis=catalogue(DECLARED + TESTS),
        targets=TARGETS + "ticket_backlog,*,2025-01,2,4\n",
    )
    frame = compute_scorecard(load_project(config), "2026-03").scorecard.frame
    return frame.set_index(["period", "node", "kpi"])


def v(card: pd.DataFrame, period: str, node: str, kpi: str, col: str = "value") -> float:
    return card.loc[(period, node, kpi), col]


def test_backlog_counts_tickets_open_at_month_end(card: pd.DataFrame) -> None:
    # End of February (1 March 00:00): only T6 is open (resolved 1 March 10:00).
    assert v(card, "2026-02", "all", "ticket_backlog") == 1
    assert v(card, "2026-02", "ent/us", "ticket_backlog") == 1
    assert v(card, "2026-02", "smb", "ticket_backlog") == 0
    # End of March, judged at the cut-off (31 March 12:00): T4, T5 and T7 are open.
    assert v(card, "2026-03", "all", "ticket_backlog") == 3
    assert v(card, "2026-03", "ent", "ticket_backlog") == 1  # T7
    assert v(card, "2026-03", "smb/eu", "ticket_backlog") == 1  # T4
    assert v(card, "2026-03", "smb/us", "ticket_backlog") == 1  # T5, opened 10:00 < 12:00


def test_backlog_gets_target_status_and_score(card: pd.DataFrame) -> None:
    # Direction down, target 2, threshold 4: 3 is amber, score 10/3 + (3 − 4)/(2 − 4)·10/3 = 5.
    assert v(card, "2026-03", "all", "ticket_backlog", "status") == "amber"
    assert v(card, "2026-03", "all", "ticket_backlog", "score") == pytest.approx(5.0)
    assert v(card, "2026-03", "all", "ticket_backlog", "prev_value") == 1
    # A census: its change is not tested.
    assert pd.isna(v(card, "2026-03", "all", "ticket_backlog", "mom_significant"))


def test_complaints_per_thousand_customers(card: pd.DataFrame) -> None:
    # March: complaints opened T3 (ent/us), T4 (smb/eu), T5 (smb/us); customers active at the end
    # of March: C1, C3, C5 (C2 churned 1 March, C4 in February).
    assert v(card, "2026-03", "all", "complaints_per_1000") == pytest.approx(1000 * 3 / 3)
    assert v(card, "2026-03", "all", "complaints_per_1000", "n") == 3
    assert v(card, "2026-03", "ent", "complaints_per_1000") == pytest.approx(1000 * 1 / 2)
    assert v(card, "2026-03", "smb", "complaints_per_1000") == pytest.approx(1000 * 2 / 1)
    assert v(card, "2026-03", "ent/eu", "complaints_per_1000") == 0.0
    # smb/eu has no active customer at the end of March: no denominator, no value.
    assert math.isnan(v(card, "2026-03", "smb/eu", "complaints_per_1000"))
    # February: T6 over C1, C2, C3, C5 (C5 acquired 10 Feb, C4 churned 15 Feb).
    assert v(card, "2026-02", "all", "complaints_per_1000") == pytest.approx(1000 * 1 / 4)


def test_average_handle_time_is_a_mean_from_raw_rows(card: pd.DataFrame) -> None:
    # Resolved in March by the cut-off: T1 12, T2 30, T3 20, T6 15.
    assert v(card, "2026-03", "all", "handle_minutes") == pytest.approx(77 / 4)
    assert v(card, "2026-03", "all", "handle_minutes", "n") == 4
    assert v(card, "2026-03", "ent/eu", "handle_minutes") == pytest.approx(21.0)  # T1, T2
    assert v(card, "2026-03", "ent/us", "handle_minutes") == pytest.approx(17.5)  # T3, T6
    assert v(card, "2026-03", "ent/us", "handle_minutes", "n") == 2
    # No ticket of smb was resolved: no data, not zero.
    assert v(card, "2026-03", "smb", "handle_minutes", "status") == "no-data"


def test_share_with_filter_on_a_canonical_column(card: pd.DataFrame) -> None:
    # Opened in March: T1 email, T2 phone, T3 chat, T4 email, T5 email, T7 email.
    assert v(card, "2026-03", "all", "email_share") == pytest.approx(100 * 4 / 6)
    assert v(card, "2026-03", "all", "email_share", "n") == 6


def test_numeric_and_null_conditions(card: pd.DataFrame) -> None:
    # Opened in March with contacts > 1 and a resolution: T2 only.
    assert v(card, "2026-03", "all", "repeat_contacts") == 1
    assert v(card, "2026-03", "ent/eu", "repeat_contacts") == 1
    assert v(card, "2026-03", "ent/us", "repeat_contacts") == 0


def test_every_kind_of_condition(card: pd.DataFrame) -> None:
    # Opened in March: T1 email 12, T2 phone 30, T3 chat 20, T4 email -, T5 email 8, T7 email 10.
    assert v(card, "2026-03", "all", "phone_or_chat") == 2  # T2, T3
    assert v(card, "2026-03", "all", "not_email_short") == 1  # T3 (T2 is 30 > 20)
    # 10 ≤ minutes < 15: T1 12 and T7 10 (T4's empty value passes no test).
    assert v(card, "2026-03", "all", "short_minutes") == 22
    assert v(card, "2026-03", "all", "short_minutes", "n") == 2
    assert v(card, "2026-03", "smb", "short_minutes") == 0


def test_sum_over_workforce_by_its_period(card: pd.DataFrame) -> None:
    # Leavers in March: ent/eu 1, ent/us 0, smb/eu 1.
    assert v(card, "2026-03", "all", "leavers") == 2
    assert v(card, "2026-03", "ent", "leavers") == 1
    assert v(card, "2026-03", "all", "leavers", "n") == 3  # three workforce rows


def _declared(tmp_path: Path, kpi: dict) -> Path:
    return write_project(tmp_path, tables={"tickets": TICKETS}, kpis=catalogue([kpi]))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"measure": {"table": "tickets", "aggregate": "median", "month": "opened_at"}},
            "measure.aggregate",
        ),
        (
            {"measure": {"table": "tickets", "aggregate": "mean", "month": "opened_at"}},
            "measure: column: aggregate mean needs",
        ),
        ({"measure": {"table": "tickets"}}, "measure: month: give exactly one of month"),
        (
            {
                "measure": {
                    "table": "tickets",
                    "month": "opened_at",
                    "where": [{"column": "channel"}],
                }
            },
            "measure.where.0: a condition on 'channel' needs exactly one of",
        ),
        (
            {"numerator": {"table": "tickets", "month": "opened_at"}, "measure": None},
            "both `numerator` and `denominator`",
        ),
        (
            {"measure": {"table": "tickets", "month": "opened_at", "colour": "red"}},
            "measure.colour",
        ),
    ],
)
def test_a_bad_declaration_names_file_kpi_and_key(
    tmp_path: Path, change: dict, expected: str
) -> None:
    kpi = {**DECLARED[0], **change}
    kpi = {k: v for k, v in kpi.items() if v is not None}
    config = _declared(tmp_path, kpi)
    with pytest.raises(ConfigError) as e:
        load_project(config)
    message = str(e.value)
    assert "kpis.yaml: KPI ticket_backlog: " in message
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        ({"table": "tix", "month": "opened_at"}, "measure.table: 'tix' is not an input table"),
        ({"table": "customer_aliases", "month": "opened_at"}, "measure.table: 'customer_aliases'"),
        (
            {"table": "tickets", "aggregate": "sum", "column": "channel", "month": "opened_at"},
            "measure.column: column 'channel' of tickets is a string, not a number",
        ),
        (
            {"table": "tickets", "month": "channel"},
            "measure.month: column 'channel' of tickets is a string",
        ),
        (
            {
                "table": "tickets",
                "month": "opened_at",
                "where": [{"column": "contacts", "equals": "many"}],
            },
            "measure.where.0.equals: 'many' is not a number",
        ),
        (
            {
                "table": "tickets",
                "month": "opened_at",
                "where": [{"column": "opened_at", "equals": "2026-03-01"}],
            },
            "measure.where.0.equals: column 'opened_at' is a timestamp: only is_null tests it",
        ),
    ],
)
def test_a_declaration_that_does_not_fit_the_table_is_refused(
    tmp_path: Path, measure: dict, expected: str
) -> None:
    config = _declared(tmp_path, {**DECLARED[0], "measure": measure})
    with pytest.raises(ConfigError) as e:
        compute_scorecard(load_project(config), "2026-03")
    assert str(e.value).startswith(f"{tmp_path / 'data' / 'kpis.yaml'}: KPI ticket_backlog: ")
    assert expected in str(e.value)


def test_a_missing_own_column_names_the_file_and_column(tmp_path: Path) -> None:
    kpi = {**DECLARED[2], "measure": {**DECLARED[2]["measure"], "column": "wrap_minutes"}}
    config = _declared(tmp_path, kpi)
    with pytest.raises(DataError) as e:
        sources.load(load_project(config))
    assert "tickets.csv" in str(e.value)
    assert "wrap_minutes" in str(e.value)


def test_manual_and_declared_kpis_take_any_unit_label_builtins_do_not(tmp_path: Path) -> None:
    manual = {**OWNER, **DECLARED[0], "source": "manual", "unit": "days"}
    del manual["measure"]
    config = write_project(tmp_path, kpis=catalogue([manual]))
    assert load_project(config).kpi("ticket_backlog").unit == "days"
    raw = yaml.safe_load((DEFAULTS / "kpis.yaml").read_text(encoding="utf-8"))
    raw["kpis"][0]["unit"] = "euros"
    (tmp_path / "data" / "kpis.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(
        ConfigError, match="KPI revenue: unit: 'euros' is not a unit of a built-in KPI"
    ):
        load_project(config)
