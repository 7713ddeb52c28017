"""Identity mapping (customer_aliases): resolution before unknown_customer, ambiguity errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportlib.errors import DataError

from ..conftest import write_project
from .helpers import by_id, check, rejected, surveys


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
