"""Spreadsheet-safe CSV: text a spreadsheet would evaluate is written with `'` in front.

The cell rule is checked by hand (each trigger, numbers, empty, NaN), then the writers
(`fileio.write_csv` for pandas and Arrow), then the tiny project end to end: a segment
named `=HYPERLINK(...)` and a comment `@SUM(A1)` are text in scorecard.csv and the
quarantine file, and raw in scorecard.parquet.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from reportlib import csvsafe, fileio
from reportlib.config import load_project
from reportlib.layout import PeriodOutput
from reportlib.pipeline import compute

from .conftest import CUSTOMERS, SURVEYS, write_project


def rows(path: Path) -> list[list[str]]:
    """A CSV file's cells as a plain CSV reader sees them (what a spreadsheet imports)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("-", "'-"),
        ("-inf", "'-inf"),
        ("+nan", "'+nan"),
        ("-1,000", "'-1,000"),
    ],
)
def test_text_starting_with_a_trigger_gets_a_quote(raw: str, written: str) -> None:
    assert csvsafe.safe_cell(raw) == written
    assert csvsafe.restore_cell(written) == raw


@pytest.mark.parametrize(
    "number", ["-12.5", "+3", "-1e-5", "-.5", "-5.", "+0", "-12", "1E+3", "42", "-0.000"]
)
def test_numbers_stay_numbers(number: str) -> None:
    assert csvsafe.is_number(number)
    assert csvsafe.safe_cell(number) == number
    assert csvsafe.restore_cell(number) == number


@pytest.mark.parametrize(
    "text",
    ["", "NaN", "Enterprise", " =1", "a=b", "Tiny Co", "2026-03", "'quoted", "'-12", "日本"],
)
def test_other_text_is_unchanged(text: str) -> None:
    assert csvsafe.safe_cell(text) == text
    assert csvsafe.restore_cell(text) == text


def test_a_value_already_quoted_keeps_its_quote_on_the_round_trip() -> None:
    # '=x must come back as '=x, not as =x: it gets a second quote (shown as '=x).
    assert csvsafe.safe_cell("'=x") == "''=x"
    assert csvsafe.restore_cell("''=x") == "'=x"
    assert csvsafe.safe_cell("''@y") == "'''@y"
    assert csvsafe.restore_cell("'''@y") == "''@y"


def test_pandas_frame_text_cells_and_header_are_escaped_numbers_and_nan_are_not(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame(
        {
            "name": ["=1+2", "-12.5", None, "Plain", "@x"],
            "value": [-12.5, math.nan, 3.0, -1.0, 0.0],
            "n": [1, 2, 3, 4, 5],
            "=col": ["a", "b", "c", "d", "e"],
        }
    )
    path = fileio.write_csv(tmp_path / "x.csv", frame)
    assert rows(path) == [
        ["name", "value", "n", "'=col"],
        ["'=1+2", "-12.5", "1", "a"],
        ["-12.5", "", "2", "b"],
        ["", "3.0", "3", "c"],
        ["Plain", "-1.0", "4", "d"],
        ["'@x", "0.0", "5", "e"],
    ]
    back = csvsafe.read_csv(path, dtype={"name": object})
    assert list(back.columns) == ["name", "value", "n", "=col"]
    assert back["name"].tolist()[:2] == ["=1+2", "-12.5"] and back["name"].tolist()[4] == "@x"
    assert math.isnan(back["value"][1]) and back["value"][0] == -12.5
    # The frame handed in is not changed.
    assert frame["name"][0] == "=1+2" and "=col" in frame.columns


def test_write_frame_csv_is_safe_and_parquet_keeps_the_raw_value(tmp_path: Path) -> None:
    frame = pd.DataFrame({"node_name": ["+Promo", "Plain"], "value": [-3.0, 1.5]})
    fileio.write_frame(tmp_path / "x.csv", frame)
    fileio.write_frame(tmp_path / "x.parquet", frame)
    assert rows(tmp_path / "x.csv")[1] == ["'+Promo", "-3.0"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "x.parquet"), frame)
    pd.testing.assert_frame_equal(csvsafe.read_csv(tmp_path / "x.csv"), frame)


def test_arrow_table_text_cells_are_escaped_numbers_and_nulls_are_not(tmp_path: Path) -> None:
    table = pa.table(
        {
            "comment": pa.array(["@SUM(A1)", None, "fine", "\tx"], pa.string()),
            "source_line": pa.array([2, 3, None, 5], pa.int64()),
            "amount": pa.array(["-10.00", "=1", "", "-x"], pa.large_string()),
            "kind": pa.array(["=a", "b", "=a", "b"]).dictionary_encode(),
        }
    )
    path = fileio.write_csv(tmp_path / "q.rejected.csv", table)
    assert rows(path) == [
        ["comment", "source_line", "amount", "kind"],
        ["'@SUM(A1)", "2", "-10.00", "'=a"],
        ["", "3", "'=1", "b"],
        ["fine", "", "", "'=a"],
        ["'\tx", "5", "'-x", "b"],
    ]


def test_category_and_string_dtypes_are_escaped(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "cat": pd.Categorical(["=a", "b", "=a"]),
            "s": pd.array(["+1+1", None, "ok"], dtype="string"),
        }
    )
    path = fileio.write_csv(tmp_path / "x.csv", frame)
    assert rows(path) == [["cat", "s"], ["'=a", "'+1+1"], ["b", ""], ["'=a", "ok"]]


HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> PeriodOutput:
    """The tiny project with a hostile segment name and a hostile comment on a quarantined row."""
    root = tmp_path_factory.mktemp("csvsafe")
    customers = CUSTOMERS.replace("C5,smb,us", 'C5,"=HYPERLINK(""http://x"",""y"")",us')
    # R15's score 11 is off the NPS scale: the row is quarantined with its comment as read.
    surveys = SURVEYS + "R15,C1,nps,11,2026-03-05 10:00:00,2026-03-06 10:00:00,email,40,@SUM(A1)\n"
    segments = (
        "company: Tiny Co\nlevels: [segment, region]\n"
        f"names:\n  segment: {{ent: Enterprise, smb: Small business, '{HYPERLINK}': '{HYPERLINK}'}}\n"
    )
    config = write_project(
        root,
        tables={"customers": customers, "survey_responses": surveys},
        segments=segments,
        kpi_values=(
            "period,node,kpi,value,n,author,reason\n2026-03,ent,enps,12,10,-ann,+survey by hand\n"
        ),
    )
    project = load_project(config)
    compute(project, "2026-03", accept_quality="planted rows")
    return PeriodOutput(project.settings.output_path, "2026-03")


def test_end_to_end_scorecard_and_quarantine_hold_text_parquet_the_raw_value(
    hostile: PeriodOutput,
) -> None:
    card = rows(hostile.scorecard_csv)
    col = card[0].index("node_name")
    names = {r[col] for r in card[1:]}
    assert "'" + HYPERLINK in names
    assert HYPERLINK not in names
    parquet = pd.read_parquet(hostile.scorecard_parquet)
    assert HYPERLINK in set(parquet["node_name"])
    assert not parquet["node_name"].str.startswith("'").any()

    rejected = rows(hostile.rejected("survey_responses"))
    comment = rejected[0].index("comment")
    assert [r[comment] for r in rejected[1:]] == ["'@SUM(A1)"]
    assert "@SUM(A1)" not in {r[comment] for r in rejected[1:]}

    manual = rows(hostile.manual_values)
    assert manual[1][manual[0].index("author")] == "'-ann"
    assert manual[1][manual[0].index("reason")] == "'+survey by hand"
    # Numbers are left alone, the negative ones included.
    assert all(not cell.startswith("'") for r in card[1:] for cell in r[card[0].index("value") :])


def test_the_pack_reads_the_manual_values_back_as_written(hostile: PeriodOutput) -> None:
    from reportlib.packdata import load_context

    project = load_project(hostile.root.parent / "reportlib.toml")
    ctx = load_context(project, "2026-03", "all")
    assert ctx.manual_values["author"].tolist() == ["-ann"]
    assert ctx.manual_values["reason"].tolist() == ["+survey by hand"]
