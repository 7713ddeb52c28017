"""The data-quality gate (DOMAIN.md §7): each rule on small written-out tables, provenance,
accounting, the gate both ways, the override, the sample's planted rows, random bad rows."""

from __future__ import annotations

import csv
import io
import json
import os
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportlib import quality, sources
from reportlib.cli import main
from reportlib.config import load_project
from reportlib.errors import DataError, QualityGateError
from reportlib.notebook import scorecard_step
from reportlib.pipeline import compute_scorecard

from .conftest import CUSTOMERS, SURVEYS, TICKETS, write_project

HEADER = (
    "response_id,customer_id,survey,score,sent_at,responded_at,channel,duration_seconds,comment\n"
)


def project(root: Path, *, quality_toml: str = "", **tables: str) -> Path:
    """The tiny project with some tables replaced and extra [quality] settings."""
    config = write_project(root, tables={k: textwrap.dedent(v) for k, v in tables.items()})
    if quality_toml:
        text = config.read_text().replace("[quality]\n", "[quality]\n" + quality_toml + "\n")
        config.write_text(text)
    return config


def check(config: Path, period: str = "2026-03") -> quality.QualityResult:
    proj = load_project(config)
    return quality.validate(proj, sources.load(proj), period)


def rejected(result: quality.QualityResult, table: str) -> list[dict[str, object]]:
    return result.rejected[table].to_pylist()


def by_id(result: quality.QualityResult, table: str, key: str) -> dict[object, dict[str, object]]:
    return {r[key]: r for r in rejected(result, table)}


def kept_ids(result: quality.QualityResult, table: str, key: str) -> list[str]:
    return sorted(result.source.tables[table].execute()[key].tolist())


def surveys(*rows: str) -> str:
    return HEADER + "".join(r + "\n" for r in rows)


# --- rules, one at a time ----------------------------------------------------------


def test_clean_tiny_project_keeps_everything(tiny: Path) -> None:
    result = check(tiny)
    for name, t in result.report["tables"].items():
        assert t["rows_in"] == t["rows_kept"] and t["rows_quarantined"] == 0, name
        assert t["by_rule"] == {}
    assert result.report["gate"] == {
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


def test_identity_mapping_before_unknown_customer(tmp_path: Path) -> None:
    aliases = "source,external_id,customer_id\ntypeform,tf_1,C1\nzendesk,ZD-9,C9\nzendesk,ZD-1,C1\ntypeform,tf_1,C1\n"
    config = write_project(
        tmp_path,
        tables={
            "customer_aliases": aliases,
            "survey_responses": surveys(
                "A1,tf_1,nps,9,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,",
                "A2,tf_2,nps,9,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,",
                "A3,C9,csat,5,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,",
                "A4,ZD-9,ces,5,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,",
            ),
        },
    )
    config.write_text(
        config.read_text().replace("[quality]\n", "[quality]\nmax_reject_share = 0.9\n")
    )
    result = check(config)
    # The alias to a customer that does not exist is quarantined; the repeated alias too.
    alias_rows = by_id(result, "customer_aliases", "external_id")
    assert alias_rows["ZD-9"]["rule"] == "unknown_customer"
    assert [r["rule"] for r in rejected(result, "customer_aliases")] == [
        "unknown_customer",
        "duplicate_id",
    ]
    rows = by_id(result, "survey_responses", "response_id")
    assert set(rows) == {"A2", "A3", "A4"}
    assert rows["A2"]["customer_id"] == "tf_2"  # the raw value, unchanged
    assert "customer_id 'tf_2' is not in customers or customer_aliases" in rows["A2"]["detail"]
    kept = result.source.tables["survey_responses"].execute().set_index("response_id")
    assert kept.loc["A1", "customer_id"] == "C1"  # canonical id after mapping


def test_ambiguous_alias_is_an_error_naming_the_ids(tmp_path: Path) -> None:
    aliases = "source,external_id,customer_id\ntypeform,x-7,C1\nzendesk,x-7,C2\n"
    config = write_project(tmp_path, tables={"customer_aliases": aliases})
    with pytest.raises(DataError) as e:
        check(config)
    msg = str(e.value)
    assert "customer_aliases.csv" in msg and "ambiguous" in msg
    assert "'x-7'" in msg and "'C1'" in msg and "'C2'" in msg and "lines 2, 3" in msg


def test_alias_that_is_another_customers_id_is_ambiguous(tmp_path: Path) -> None:
    aliases = "source,external_id,customer_id\ncrm,C2,C1\n"
    with pytest.raises(
        DataError, match=r"external id 'C2' \(line 2\) maps to customer 'C1' but is itself"
    ):
        check(write_project(tmp_path, tables={"customer_aliases": aliases}))


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
    t = result.report["tables"]["survey_responses"]
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
    notes = result.report["tables"]["survey_responses"]["notes"]
    assert notes == [
        "1 row(s) with responded_at after the cut-off as_of 2026-03-31 12:00:00 UTC: kept, but no KPI counts them"
    ]


# --- provenance and files ------------------------------------------------------------


def test_source_line_counts_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    text = (
        HEADER
        + 'N1,C1,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,40,"two\nlines"\n'
        + "\n"
        + 'N2,C2,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,1,"a ""quoted"", comma"\n'
        + 'N3,C3,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,40,"three\r\nline\ncomment"\n'
        + "N4,C4,nps,9,2026-03-01 09:00:00,2026-03-01 10:00:00,email,2,\n"
    )
    result = check(project(tmp_path, survey_responses=text, quality_toml="max_reject_share = 0.9"))
    rows = by_id(result, "survey_responses", "response_id")
    assert rows["N2"]["source_line"] == 5  # header, N1 on lines 2-3, a blank line 4
    assert rows["N2"]["comment"] == 'a "quoted", comma'
    assert rows["N4"]["source_line"] == 9  # N3 spans lines 6-8
    assert rows["N2"]["source_file"] == "data/src/survey_responses.csv"


def test_parquet_source_lines_are_row_numbers(tmp_path: Path) -> None:
    import pandas as pd

    rows = SURVEYS + "X1,C1,nps,11,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,\n"
    config = project(tmp_path, survey_responses=rows, quality_toml="max_reject_share = 0.5")
    folder = tmp_path / "data" / "src"
    frame = pd.read_csv(folder / "survey_responses.csv", dtype=str)
    frame.to_parquet(folder / "survey_responses.parquet", index=False)
    (folder / "survey_responses.csv").unlink()
    (bad,) = rejected(check(config), "survey_responses")
    assert bad["response_id"] == "X1" and bad["source_line"] == 16 and bad["rule"] == "score_range"


def test_compute_writes_quarantine_files_and_report(tmp_path: Path) -> None:
    row = 'X1,C1,nps,eleven,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,"why, ""this"""\n'
    config = project(
        tmp_path, survey_responses=SURVEYS + row, quality_toml="max_reject_share = 0.5"
    )
    assert main(["compute", "--period", "2026-03", "--config", str(config)]) == 0
    qdir = tmp_path / "output" / "2026-03" / "quality"
    report = json.loads((qdir / "report.json").read_text())
    assert set(report) == {"period", "as_of", "gate", "tables", "n_reduced"}
    assert report["period"] == "2026-03" and report["as_of"] == "2026-03-31T12:00:00"
    t = report["tables"]["survey_responses"]
    assert t["file"] == "data/src/survey_responses.csv"
    assert (t["rows_in"], t["rows_kept"], t["rows_quarantined"]) == (16, 15, 1)
    assert t["by_rule"] == {"score_range": 1} and t["reject_share"] == pytest.approx(
        1 / 16, abs=1e-6
    )
    assert t["rejected_file"] == "quality/survey_responses.rejected.csv"
    with (qdir / "survey_responses.rejected.csv").open(newline="", encoding="utf-8") as fh:
        (out,) = list(csv.DictReader(fh))
    assert out == {
        "response_id": "X1",
        "customer_id": "C1",
        "survey": "nps",
        "score": "eleven",
        "sent_at": "2026-03-20 10:00:00",
        "responded_at": "2026-03-20 11:00:00",
        "channel": "email",
        "duration_seconds": "40",
        "comment": 'why, "this"',
        "source_file": "data/src/survey_responses.csv",
        "source_line": "17",
        "rule": "score_range",
        "detail": "score_range: score 'eleven' is not a number",
    }
    for name in ("customers", "tickets", "revenue", "workforce"):
        assert (qdir / f"{name}.rejected.csv").is_file()
        assert report["tables"][name]["rows_quarantined"] == 0


# --- the gate ----------------------------------------------------------------------------


def speeders(n: int) -> str:
    return "".join(
        f"Z{i},C{1 + i % 5},csat,4,2026-03-{1 + i:02d} 09:00:00,2026-03-{1 + i:02d} 10:00:00,email,1,\n"
        for i in range(n)
    )


def test_gate_stops_the_run_and_says_where_to_look(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, survey_responses=SURVEYS + speeders(2))
    assert main(["compute", "--period", "2026-03", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    qdir = tmp_path / "output" / "2026-03" / "quality"
    assert "data-quality gate failed" in err
    assert "survey_responses: 2 of 17 rows quarantined (11.8% > 5%; speeder 2)" in err
    assert str(qdir / "survey_responses.rejected.csv") in err and "--accept-quality" in err
    assert "Traceback" not in err
    # The quarantine and the report were written before stopping; no scorecard was.
    report = json.loads((qdir / "report.json").read_text())
    assert report["gate"]["passed"] is False and report["gate"]["accepted"] is False
    (failure,) = report["gate"]["failures"]
    assert failure["table"] == "survey_responses" and failure["by_rule"] == {"speeder": 2}
    assert len(list(csv.DictReader((qdir / "survey_responses.rejected.csv").open()))) == 2
    assert not (tmp_path / "output" / "2026-03" / "scorecard.csv").exists()


def test_gate_threshold_is_from_config(tmp_path: Path) -> None:
    config = project(
        tmp_path, survey_responses=SURVEYS + speeders(2), quality_toml="max_reject_share = 0.12"
    )
    result = check(config)
    assert result.report["gate"]["passed"] is True and not result.gate_failed


def test_accept_quality_overrides_and_is_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, survey_responses=SURVEYS + speeders(2))
    reason = "Typeform bot attack on 1 March; speeders are quarantined anyway"
    args = ["compute", "--period", "2026-03", "--config", str(config), "--accept-quality", reason]
    assert main(args) == 0
    out = tmp_path / "output" / "2026-03"
    assert (out / "scorecard.csv").is_file()
    gate = json.loads((out / "quality" / "report.json").read_text())["gate"]
    assert gate["passed"] is False and gate["accepted"] is True and gate["reason"] == reason
    assert "gate failed, accepted: " + reason in capsys.readouterr().out
    # The run step records the override in the manifest.
    result = scorecard_step(load_project(config), "2026-03", accept_quality=reason)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["quality"]["accepted"] is True and manifest["quality"]["reason"] == reason
    assert result.quality["gate"]["accepted"] is True


def test_a_run_that_failed_the_gate_cannot_be_sent(tmp_path: Path) -> None:
    config = project(tmp_path, survey_responses=SURVEYS + speeders(2))
    qdir = tmp_path / "output" / "2026-03" / "quality"
    with pytest.raises(QualityGateError, match="no readable quality report"):
        quality.require_sendable(qdir)
    assert main(["compute", "--period", "2026-03", "--config", str(config)]) == 2
    with pytest.raises(QualityGateError, match="failed the data-quality gate and cannot be sent"):
        quality.require_sendable(qdir)
    assert (
        main(
            ["compute", "--period", "2026-03", "--config", str(config), "--accept-quality", "bots"]
        )
        == 0
    )
    assert quality.require_sendable(qdir)["gate"]["reason"] == "bots"


def test_accept_quality_needs_a_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "compute",
                "--period",
                "2026-03",
                "--config",
                str(write_project(tmp_path)),
                "--accept-quality",
                " ",
            ]
        )
        == 2
    )
    assert "give a reason" in capsys.readouterr().err


def test_gate_fails_on_a_required_table_without_rows(tmp_path: Path) -> None:
    config = project(tmp_path, tickets=TICKETS.splitlines()[0] + "\n")
    with pytest.raises(QualityGateError, match=r"tickets has no data rows"):
        compute_scorecard(load_project(config), "2026-03")


def test_validate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project(tmp_path, survey_responses=SURVEYS + speeders(2))
    assert main(["validate", "--period", "2026-03", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert "survey_responses" in captured.out and "speeder 2" in captured.out
    assert "data-quality gate failed" in captured.err
    assert (tmp_path / "output" / "2026-03" / "quality" / "report.json").is_file()
    assert (
        main(
            [
                "validate",
                "--period",
                "2026-03",
                "--config",
                str(config),
                "--accept-quality",
                "known bot",
            ]
        )
        == 0
    )
    assert "quality gate failed but accepted: known bot" in capsys.readouterr().out
    assert (
        main(
            ["validate", "--period", "2026-03", "--config", str(write_project(tmp_path / "clean"))]
        )
        == 0
    )
    assert "quality gate passed" in capsys.readouterr().out


def test_kpis_whose_n_the_quarantine_cut_are_listed(tmp_path: Path) -> None:
    # R0 (February) and 3 of the 7 March NPS answers come from a bot: n 7 -> 4 kept.
    rows = SURVEYS.replace(",email,40,\n", ",email,1,\n", 4)
    config = project(tmp_path, survey_responses=rows, quality_toml="max_reject_share = 0.5")
    result = compute_scorecard(load_project(config), "2026-03")
    entries = {(e["node"], e["kpi"]): e for e in result.quality["n_reduced"]}
    assert entries[("all", "nps")]["n"] == 4 and entries[("all", "nps")]["n_all"] == 7
    assert entries[("all", "nps")]["share"] == pytest.approx(3 / 7, abs=1e-4)
    assert ("all", "csat") not in entries and ("all", "revenue") not in entries
    assert all(e["share"] > 0.1 for e in entries.values())


# --- the sample company: every planted bad row under its rule -------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sample_planted_rows_are_caught_by_their_rules(tmp_path: Path, fmt: str) -> None:
    from reportlib.sample import generate_sample

    report = generate_sample(
        tmp_path / "data" / "sample",
        customers=1500,
        months=14,
        fmt=fmt,
        config_dir=tmp_path / "data",
    )
    config = tmp_path / "reportlib.toml"
    config.write_text('source = "data/sample"\n[quality]\nallow_credit_notes = true\n')
    proj = load_project(config)
    src = sources.load(proj)
    period = sources.latest_complete_period(src)
    result = quality.validate(proj, src, period)
    for table, t in result.report["tables"].items():
        assert t["rows_in"] == t["rows_kept"] + t["rows_quarantined"], table
        assert t["by_rule"] == report.planted.get(table, {}), table
        assert result.rejected[table].num_rows == t["rows_quarantined"]
        assert t["rows_in"] == report.tables[table]
    assert result.report["gate"]["passed"]


# --- random malformed rows -------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
ODD = st.sampled_from(
    ["", " ", "NaN", "inf", "-1", "ten", "1e3", '"', ",", "\n", "é", "\x00", "2026-13-45", "3.5"]
)
TIMESTAMP = st.one_of(
    st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2026, 6, 1)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
    ),
    st.sampled_from(["2026-03-02T10:00:00+02:00", "2026-03-02 10:00:00Z"]),
)
SURVEY_ROW = st.fixed_dictionaries(
    {
        "response_id": st.one_of(
            st.sampled_from(["R1", "R2", "H1", "H2", "H3"]), TEXT.filter(lambda s: s.strip())
        ),
        "customer_id": st.sampled_from(["C1", "C2", "C3", "C4", "C5", "C9", " C1", "tf_1"]),
        "survey": st.sampled_from(["nps", "csat", "ces", "NPS", "x"]),
        "score": st.one_of(st.integers(-2, 12).map(str), ODD),
        "sent_at": st.one_of(TIMESTAMP, st.just("")),
        "responded_at": TIMESTAMP,
        "channel": TEXT,
        "duration_seconds": st.one_of(
            st.integers(-10, 100).map(str), st.sampled_from(["", "NaN", "2.5"])
        ),
        "comment": st.one_of(TEXT, ODD),
    }
)


@settings(
    max_examples=int(os.environ.get("QUALITY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(SURVEY_ROW, min_size=0, max_size=12))
def test_random_rows_are_accounted_for_and_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[dict[str, str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path_factory.mktemp("random")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HEADER.strip().split(","), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    config = write_project(
        root, tables={"survey_responses": SURVEYS + buf.getvalue().split("\n", 1)[1]}
    )
    code = main(["validate", "--period", "2026-03", "--config", str(config)])
    captured = capsys.readouterr()
    assert code in (0, 2), captured.err
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    report_file = root / "output" / "2026-03" / "quality" / "report.json"
    if code == 2 and "error: data-quality gate failed" not in captured.err:
        assert captured.err.startswith("error: ") and not report_file.exists()  # a schema error
        return
    report = json.loads(report_file.read_text())
    t = report["tables"]["survey_responses"]
    assert t["rows_in"] == 15 + len(rows)
    assert t["rows_in"] == t["rows_kept"] + t["rows_quarantined"]
    with (root / "output" / "2026-03" / "quality" / "survey_responses.rejected.csv").open(
        newline=""
    ) as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == t["rows_quarantined"]


def test_the_run_refuses_to_go_on_when_the_accounting_does_not_add_up(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = quality._rejected_rows

    def one_row_lost(*args: object) -> object:
        rows = real(*args)
        return rows.slice(1)

    speedy = tiny.parent / "data" / "src" / "survey_responses.csv"
    speedy.write_text(SURVEYS + speeders(1), encoding="utf-8")
    monkeypatch.setattr(quality, "_rejected_rows", one_row_lost)
    with pytest.raises(QualityGateError, match="accounting does not add up for survey_responses"):
        compute_scorecard(load_project(tiny), "2026-03", accept_quality="not even with a reason")
