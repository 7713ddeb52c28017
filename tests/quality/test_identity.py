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


def test_kept_rows_resolve_ids_as_the_join_on_the_id_does(tmp_path: Path) -> None:
    """The kept rows resolve ids through the rows set aside once (`q_ids_<t>`, `q_fix_<t>`):
    the same rows and ids as joining every row on its id's text and leaving out the rejected."""
    from reportlib import sources
    from reportlib.config import load_project
    from reportlib.quality import names, stage, suspects
    from reportlib.sources import engine

    aliases = "source,external_id,customer_id\ntypeform,tf_1,C1\nzendesk,ZD-2,C2\n"
    config = write_project(
        tmp_path,
        tables={
            "customer_aliases": aliases,
            "survey_responses": surveys(
                "A1,tf_1,nps,9,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,",
                "A2,C1,ces,3,2026-03-21 10:00:00,2026-03-21 11:00:00,email,40,",
                "A3,ZD-2,csat,5,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,",
                "A4,nobody,ces,5,2026-03-20 10:00:00,2026-03-20 11:00:00,email,40,",
                "A5,ZD-2,csat,9,2026-03-22 10:00:00,2026-03-22 11:00:00,email,40,",
                "A1,C2,ces,6,2026-03-23 10:00:00,2026-03-23 11:00:00,email,40,",
            ),
        },
    )
    config.write_text(
        config.read_text().replace("[quality]\n", "[quality]\nmax_reject_share = 0.9\n")
    )
    project = load_project(config)
    src = sources.load(project)
    result = stage.validate(project, src, "2026-03")
    table = "survey_responses"
    rel = names.TableRelations(table)
    cols = ", ".join(engine.quote(c) for c in src.tables[table].columns)
    spec = src.specs[table]
    by_text = suspects.typed_sql(src, spec, suspects.numbered(src, table))  # joined on the id
    expected = engine.rows(
        src.con,
        f"SELECT {cols} FROM ({by_text}) a ANTI JOIN {rel.rejections} r USING ({names.ROW}) "
        "ORDER BY response_id, responded_at",
    )
    kept = engine.rows(src.con, f"SELECT {cols} FROM {rel.kept} ORDER BY response_id, responded_at")
    assert kept == expected
    ids = {r[0]: r[1] for r in kept}
    assert ids == {
        "A1": "C1",
        "A2": "C1",
        "A3": "C2",
    }  # tf_1 and ZD-2 resolved; A4, A5, the 2nd A1 out
    assert result.report.tables[table].rows_kept == 3
    # Only the rows whose id is not a customer's own are set aside: tf_1, ZD-2 twice, nobody.
    assert engine.scalar(src.con, f"SELECT count(*) FROM {rel.ids}") == 4
