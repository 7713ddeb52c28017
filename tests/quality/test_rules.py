"""The row rules of DOMAIN.md §7, one at a time on small written-out tables, and the
registry that lists them."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportlib import quality
from reportlib.config import QualitySettings
from reportlib.quality import rules
from reportlib.sources import table_specs

from ..conftest import CUSTOMERS, SURVEYS, TICKETS, write_project
from .helpers import by_id, check, kept_ids, project, rejected, report_of, surveys

# --- rules, one at a time ----------------------------------------------------------


def test_clean_tiny_project_keeps_everything(tiny: Path) -> None:
    result = check(tiny)
    for name, t in report_of(result)["tables"].items():
        assert t["rows_in"] == t["rows_kept"] and t["rows_quarantined"] == 0, name
        assert t["by_rule"] == {}
    assert report_of(result)["gate"] == {
        "passed": True,
        "max_reject_share": 0.05,
        "accepted": False,
        "reason": None,
        "failures": [],
    }


def test_duplicate_id_keeps_the_first_in_file_order(tmp_path: Path) -> None:
    config = project(
        tmp_path,
        survey_responses=SURVEYS
        + "R2,C2,nps,3,2026-03-24 10:00:00,2026-03-25 10:00:00,email,40,again\n",
        customers=CUSTOMERS + "C1,smb,us,2024-01-01,\n",
    )
    result = check(config)
    (dup,) = rejected(result, "survey_responses")
    assert dup["response_id"] == "R2" and dup["score"] == "3"  # the later row, unchanged
    assert dup["rule"] == "duplicate_id"
    assert dup["source_line"] == 17
    assert "response_id 'R2' repeats line 4" in dup["detail"]
    kept = result.source.tables["survey_responses"].execute().set_index("response_id")
    assert kept.loc["R2", "score"] == 9  # the first R2
    (cust,) = rejected(result, "customers")
    assert cust["segment"] == "smb" and cust["rule"] == "duplicate_id" and cust["source_line"] == 7


def test_workforce_key_is_period_and_levels(tmp_path: Path) -> None:
    workforce = (
        "period,segment,region,headcount,leavers,training_hours,enps_promoters,enps_passives,enps_detractors\n"
        "2026-03,ent,eu,10,1,25,4,3,1\n"
        "2026-03,ent,us,20,0,15,6,2,2\n"
        "2026-03,ent,eu,11,0,5,1,1,1\n"
        "2026-03,,,2,0,0,0,0,0\n"
        "2026-03,,,3,0,0,0,0,0\n"
    )
    result = check(project(tmp_path, workforce=workforce, quality_toml="max_reject_share = 0.5"))
    rows = rejected(result, "workforce")
    assert [(r["headcount"], r["source_line"], r["rule"]) for r in rows] == [
        ("11", 4, "duplicate_id"),
        ("3", 6, "duplicate_id"),  # blank levels are equal to each other
    ]
    assert "period/segment/region '2026-03/ent/eu' repeats line 2" in rows[0]["detail"]


SCORES = [
    ("nps", "11", "score 11 is outside the nps scale 0–10"),
    ("nps", "-1", "score -1 is outside the nps scale 0–10"),
    ("csat", "0", "score 0 is outside the csat scale 1–5"),
    ("ces", "8", "score 8 is outside the ces scale 1–7"),
    ("nps", "ten", "score 'ten' is not a number"),
    ("nps", "NaN", "score 'NaN' is not a number"),
    ("csat", "", "score is missing"),
    ("csat", "  ", "score is missing"),
    ("nps", "7.5", "score 7.5 is not a whole number"),
    ("happiness", "5", "survey 'happiness' is not one of nps, csat, ces"),
]


@pytest.mark.parametrize(("survey", "score", "detail"), SCORES)
def test_score_range(tmp_path: Path, survey: str, score: str, detail: str) -> None:
    row = f"X1,C1,{survey},{score},2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,"
    result = check(
        project(
            tmp_path, survey_responses=SURVEYS + row + "\n", quality_toml="max_reject_share = 0.5"
        )
    )
    (bad,) = rejected(result, "survey_responses")
    assert bad["response_id"] == "X1" and bad["rule"] == "score_range"
    assert detail in bad["detail"]
    assert bad["score"] == (score or None)  # as read: an empty field is no value


def test_scale_ends_are_valid_and_survey_names_are_normalised(tmp_path: Path) -> None:
    rows = [
        f"E{i},C{1 + i % 5},{survey},{score},2026-03-{10 + 2 * i} 10:00:00,2026-03-{10 + 2 * i} 11:00:00,email,40,"
        for i, (survey, score) in enumerate(
            [
                ("nps", "0"),
                (" NPS ", "10"),
                ("csat", "1"),
                ("CSAT", "5.0"),
                ("ces", "1"),
                ("ces", "7"),
            ]
        )
    ]
    result = check(project(tmp_path, survey_responses=surveys(*rows)))
    assert rejected(result, "survey_responses") == []
    kept = result.source.tables["survey_responses"].execute()
    assert sorted(set(kept["survey"])) == ["ces", "csat", "nps"]


def test_response_window(tmp_path: Path) -> None:
    rows = surveys(
        "W1,C1,nps,9,2026-03-20 11:00:00,2026-03-20 10:00:00,email,40,",  # before it was sent
        "W2,C2,nps,9,2026-02-01 10:00:00,2026-03-03 10:00:01,email,40,",  # 30 days + 1 s
        "W3,C3,nps,9,2026-02-01 10:00:00,2026-03-03 10:00:00,email,40,",  # exactly 30 days
        "W4,C4,nps,9,,2026-03-03 10:00:00,email,40,",  # not sent: cannot be judged
    )
    result = check(project(tmp_path, survey_responses=rows, quality_toml="max_reject_share = 0.9"))
    bad = by_id(result, "survey_responses", "response_id")
    assert set(bad) == {"W1", "W2"}
    assert "responded_at is before sent_at" in bad["W1"]["detail"]
    assert "responded 30.0 days after sent_at (window 30 days)" in bad["W2"]["detail"]


def test_response_window_days_from_config(tmp_path: Path) -> None:
    rows = surveys("W3,C3,nps,9,2026-02-01 10:00:00,2026-03-03 10:00:00,email,40,")
    result = check(
        project(
            tmp_path,
            survey_responses=rows,
            quality_toml="response_window_days = 10\nmax_reject_share = 1",
        )
    )
    assert [r["rule"] for r in rejected(result, "survey_responses")] == ["response_window"]


def test_speeder(tmp_path: Path) -> None:
    rows = surveys(
        *(
            f"S{i},C{i},nps,9,2026-03-{10 + i} 10:00:00,2026-03-{10 + i} 11:00:00,email,{d},"
            for i, d in enumerate(["2.9", "3", "-5", "", "0"], start=1)
        )
    )
    result = check(project(tmp_path, survey_responses=rows, quality_toml="max_reject_share = 0.9"))
    bad = by_id(result, "survey_responses", "response_id")
    assert set(bad) == {"S1", "S3", "S5"}
    assert "duration 2.9 s is under the 3 s minimum" in bad["S1"]["detail"]
    assert "duration -5 s" in bad["S3"]["detail"]


def test_repeat_response_keeps_the_first_kept_response_greedily(tmp_path: Path) -> None:
    rows = surveys(
        "P1,C1,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,40,",
        "P2,C1,nps,8,2026-03-06 09:00:00,2026-03-06 10:00:00,email,40,",  # 5 days after P1
        "P3,C1,nps,7,2026-03-11 09:00:00,2026-03-11 10:00:00,email,40,",  # 10 days after P1: kept
        "P4,C1,nps,6,2026-03-13 09:00:00,2026-03-13 10:00:00,email,40,",  # 2 days after P3
        "P5,C1,csat,5,2026-03-02 09:00:00,2026-03-02 10:00:00,email,40,",  # another survey
        "P6,C2,nps,9,2026-03-02 09:00:00,2026-03-02 10:00:00,email,40,",  # another customer
    )
    result = check(project(tmp_path, survey_responses=rows, quality_toml="max_reject_share = 0.9"))
    bad = by_id(result, "survey_responses", "response_id")
    assert set(bad) == {"P2", "P4"}
    assert bad["P2"]["rule"] == "repeat_response"
    assert "repeats the response on line 2 (5.0 days earlier" in bad["P2"]["detail"]
    assert "repeats the response on line 4 (2.0 days earlier" in bad["P4"]["detail"]
    assert kept_ids(result, "survey_responses", "response_id") == ["P1", "P3", "P5", "P6"]


def test_repeat_response_through_an_alias_and_dedupe_days(tmp_path: Path) -> None:
    aliases = "source,external_id,customer_id\ntypeform,tf_1,C1\n"
    rows = surveys(
        "Q1,C1,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,40,",
        "Q2,tf_1,nps,8,2026-03-03 09:00:00,2026-03-03 10:00:00,email,40,",
    )
    config = project(
        tmp_path,
        survey_responses=rows,
        customer_aliases=aliases,
        quality_toml="max_reject_share = 0.9",
    )
    assert [r["response_id"] for r in rejected(check(config), "survey_responses")] == ["Q2"]
    text = config.read_text().replace(
        "max_reject_share = 0.9", "max_reject_share = 0.9\ndedupe_days = 1"
    )
    config.write_text(text)
    assert rejected(check(config), "survey_responses") == []


def test_repeat_response_only_counts_kept_responses(tmp_path: Path) -> None:
    rows = surveys(
        "K1,C1,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,1,",  # a speeder: not kept
        "K2,C1,nps,8,2026-03-03 09:00:00,2026-03-03 10:00:00,email,40,",  # so this one is kept
        "K3,C1,nps,7,2026-03-04 09:00:00,2026-03-04 10:00:00,email,1,",  # speeder within K2's window
    )
    result = check(project(tmp_path, survey_responses=rows, quality_toml="max_reject_share = 0.9"))
    bad = by_id(result, "survey_responses", "response_id")
    assert bad["K1"]["rule"] == "speeder"
    assert bad["K3"]["rule"] == "speeder;repeat_response"  # all the rules it breaks
    assert kept_ids(result, "survey_responses", "response_id") == ["K2"]


def test_a_row_breaking_several_rules_is_listed_once_with_all(tmp_path: Path) -> None:
    row = "M1,C42,nps,12,2026-03-20 12:00:00,2026-03-20 11:00:00,email,1,bad"
    result = check(
        project(
            tmp_path, survey_responses=SURVEYS + row + "\n", quality_toml="max_reject_share = 0.5"
        )
    )
    (bad,) = rejected(result, "survey_responses")
    assert bad["rule"] == "unknown_customer;score_range;response_window;speeder"
    assert bad["detail"].count("; ") == 3
    t = report_of(result)["tables"]["survey_responses"]
    assert t["rows_quarantined"] == 1
    assert t["by_rule"] == {
        "unknown_customer": 1,
        "score_range": 1,
        "response_window": 1,
        "speeder": 1,
    }


def test_time_order_of_tickets(tmp_path: Path) -> None:
    tickets = TICKETS + (
        "T8,C1,email,2026-03-10 10:00:00,2026-03-10 09:00:00,2026-03-11 10:00:00,1,false,4\n"
        "T9,C2,email,2026-03-10 10:00:00,2026-03-10 11:00:00,2026-03-09 10:00:00,1,false,4\n"
        "T10,C3,email,2026-03-10 10:00:00,2026-03-10 10:00:00,2026-03-10 10:00:00,1,false,4\n"
    )
    result = check(project(tmp_path, tickets=tickets, quality_toml="max_reject_share = 0.5"))
    bad = by_id(result, "tickets", "ticket_id")
    assert set(bad) == {"T8", "T9"}
    assert "first_response_at is before opened_at" in bad["T8"]["detail"]
    assert "resolved_at is before opened_at" in bad["T9"]["detail"]


def test_negative_amount_only_without_credit_notes(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    assert rejected(check(config), "revenue") == []  # the tiny project allows credit notes
    config.write_text(
        config.read_text().replace(
            "allow_credit_notes = true", "allow_credit_notes = false\nmax_reject_share = 0.5"
        )
    )
    (bad,) = rejected(check(config), "revenue")
    assert (
        bad["invoice_id"] == "I6" and bad["amount"] == "-10.00" and bad["rule"] == "negative_amount"
    )
    assert "amount -10 is negative and allow_credit_notes is false" in bad["detail"]


def test_customer_churned_before_acquired_takes_its_rows_along(tmp_path: Path) -> None:
    customers = CUSTOMERS.replace(
        "C4,smb,eu,2025-03-01,2026-02-15", "C4,smb,eu,2025-03-01,2024-02-15"
    )
    result = check(project(tmp_path, customers=customers, quality_toml="max_reject_share = 0.5"))
    (c4,) = rejected(result, "customers")
    assert c4["customer_id"] == "C4" and c4["rule"] == "time_order"
    assert "churned_on is before acquired_on" in c4["detail"]
    r4 = by_id(result, "survey_responses", "response_id")["R4"]
    assert r4["rule"] == "unknown_customer" and "(its customers row is quarantined)" in r4["detail"]


def test_rows_after_the_cut_off_are_kept_and_noted(tmp_path: Path) -> None:
    rows = SURVEYS + "F1,C1,csat,5,2026-04-10 10:00:00,2026-04-10 11:00:00,email,40,\n"
    result = check(project(tmp_path, survey_responses=rows))
    assert rejected(result, "survey_responses") == []
    notes = report_of(result)["tables"]["survey_responses"]["notes"]
    assert notes == [
        "1 row(s) with responded_at after the cut-off as_of 2026-03-31 12:00:00 UTC: kept, but no KPI counts them"
    ]


# --- the registry ------------------------------------------------------------------------

DOMAIN_RULES = {
    "duplicate_id": {
        "customers",
        "customer_aliases",
        "survey_responses",
        "tickets",
        "revenue",
        "workforce",
    },
    # DOMAIN.md lists the fact tables; an alias to no customer falls under it too.
    "unknown_customer": {"survey_responses", "tickets", "revenue", "customer_aliases"},
    "score_range": {"survey_responses"},
    "response_window": {"survey_responses"},
    "speeder": {"survey_responses"},
    "repeat_response": {"survey_responses"},
    # DOMAIN.md lists tickets; a customer churned before it was acquired falls under it too.
    "time_order": {"tickets", "customers"},
    "negative_amount": {"revenue"},
    "non_finite": {"revenue", "workforce"},
    "sla_range": {"tickets"},
    "workforce_range": {"workforce"},
}


def test_every_rule_of_domain_section_7_is_registered_for_its_tables() -> None:
    assert {r.id: set(r.tables) for r in rules.REGISTRY} == DOMAIN_RULES
    assert len({r.id for r in rules.REGISTRY}) == len(rules.REGISTRY)
    # The order a row's broken rules are listed in, as quarantine files have always had it.
    assert quality.RULES == (
        "duplicate_id",
        "unknown_customer",
        "score_range",
        "response_window",
        "speeder",
        "repeat_response",
        "time_order",
        "negative_amount",
        "non_finite",
        "sla_range",
        "workforce_range",
    )


@pytest.mark.parametrize("table", sorted({t for ts in DOMAIN_RULES.values() for t in ts}))
def test_each_table_gets_the_checks_of_its_rules(table: str) -> None:
    key = rules.key_columns(table, "id", ("segment", "region"))
    (spec,) = [s for s in table_specs(("segment", "region")) if s.name == table]
    finite = tuple(c.name for c in spec.columns if c.finite)
    ctx = rules.Context(table, key, QualitySettings(), has_aliases=True, finite=finite)
    expected = [r for r, tables in DOMAIN_RULES.items() if table in tables]
    sequence = [r.id for r in rules.for_table(table) if r.kind == "sequence"]
    assert [c.rule for c in rules.checks(ctx)] == [r for r in expected if r not in sequence]
    assert [r.id for r in rules.for_table(table)] == expected
    for c in rules.checks(ctx):
        assert c.when and c.detail
        # Only duplicate keys are found another way (neighbours in hash order).
        assert (c.suspect is None) == (c.rule == "duplicate_id")


def test_keys_and_settings_shape_the_checks() -> None:
    assert rules.key_columns("workforce", None, ("segment", "region")) == (
        "period",
        "segment",
        "region",
    )
    assert rules.key_columns("customer_aliases", None, ()) == ("source", "external_id")
    assert rules.key_columns("tickets", "ticket_id", ()) == ("ticket_id",)
    credit = QualitySettings(allow_credit_notes=True)
    ctx = rules.Context("revenue", ("invoice_id",), credit, has_aliases=False)
    assert [c.rule for c in rules.checks(ctx)] == ["duplicate_id", "unknown_customer"]
    speeder = rules.rule("speeder").check
    assert speeder is not None
    check = speeder(
        rules.Context("survey_responses", (), QualitySettings(min_duration_seconds=5), False)
    )
    assert check is not None and "duration_seconds < 5.0" in check.when
    with pytest.raises(KeyError):
        rules.rule("no_such_rule")


def test_a_rule_added_to_the_registry_is_applied_and_accounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a row rule is one registry entry: suspects, rejection, accounting follow."""

    def many_contacts(ctx: rules.Context) -> rules.Check:
        when = "contacts > 3"
        return rules.Check("many_contacts", when, "'contacts ' || contacts", suspect=when)

    extra = rules.Rule("many_contacts", "row", ("tickets",), many_contacts)
    monkeypatch.setattr(rules, "REGISTRY", (*rules.REGISTRY, extra))
    tickets = TICKETS + "T8,C1,email,2026-03-10 10:00:00,,,5,false,4\n"
    result = check(project(tmp_path, tickets=tickets, quality_toml="max_reject_share = 0.5"))
    (bad,) = rejected(result, "tickets")
    assert bad["ticket_id"] == "T8" and bad["rule"] == "many_contacts"
    assert bad["detail"] == "many_contacts: contacts 5"
    assert report_of(result)["tables"]["tickets"]["by_rule"] == {"many_contacts": 1}
