"""The per-table mapping: a European export (`;`, cp1252, day-first dates, `1.182,21`) and
renamed columns read as the canonical CSV files are, and errors naming the user's file and column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from reportlib import pipeline, sources
from reportlib.config import load_project, load_settings
from reportlib.errors import ConfigError, DataError

from ..conftest import write_project

PERIOD = "2026-03"
KPI_VALUES = (
    "period,node,kpi,value,n,author,reason\n"
    "2026-03,smb,logo_retention,50.5,2,Jane Analyst,Churn of C4 was reversed after the cut-off\n"
)
# The user's names for some canonical columns, per table.
RENAMES = {
    "revenue": {"invoice_id": "Rechnungsnr", "amount": "Betrag", "invoice_date": "Datum"},
    "customers": {"customer_id": "Kunde", "segment": "Sparte"},
    "tickets": {"opened_at": "Eröffnet"},
}
MAPPING = """
[tables.revenue]
file = "Rechnungen.csv"
delimiter = ";"
decimal = ","
thousands = "."
date_format = "%d/%m/%Y"
encoding = "cp1252"
columns = { invoice_id = "Rechnungsnr", amount = "Betrag", invoice_date = "Datum" }

[tables.customers]
file = "Kunden.csv"
delimiter = ";"
date_format = "%d/%m/%Y"
encoding = "cp1252"
columns = { customer_id = "Kunde", segment = "Sparte" }

[tables.tickets]
delimiter = ";"
timestamp_format = "%d/%m/%Y %H:%M:%S"
encoding = "cp1252"
columns = { opened_at = "Eröffnet" }

[tables.kpi_values]
file = "Handwerte.csv"
delimiter = ";"
decimal = ","
"""


def _european(text: str, renames: dict[str, str], *, amounts: bool = False) -> str:
    """A canonical CSV rewritten the European way: `;`, day-first dates, decimal commas."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\n")
    w.writerow([renames.get(h, h) for h in header])
    for row in rows[1:]:
        cells = []
        for h, v in zip(header, row, strict=True):
            if h.endswith(("_on", "_date")) and v:
                y, m, d = v.split("-")
                v = f"{d}/{m}/{y}"
            elif h.endswith("_at") and v:
                day, time = v.split(" ")
                y, m, d = day.split("-")
                v = f"{d}/{m}/{y} {time}"
            elif h == "amount" and amounts:
                v = f"{float(v):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
            cells.append(v)
        w.writerow(cells)
    return out.getvalue()


def _canonical_project(root: Path, scale: bool = False) -> Path:
    """The tiny project in canonical CSV; `scale`: amounts ×1000 (so thousands separators show)."""
    from ..conftest import REVENUE

    revenue = REVENUE
    if scale:
        rows = list(csv.reader(io.StringIO(REVENUE)))
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(rows[0])
        for r in rows[1:]:
            w.writerow([*r[:3], f"{float(r[3]) * 1000 + 0.21:.2f}"])
        revenue = out.getvalue()
    return write_project(root, tables={"revenue": revenue}, kpi_values=KPI_VALUES)


def _european_project(root: Path) -> Path:
    """The same company as the user's own export, mapped in the settings."""
    config = _canonical_project(root, scale=True)
    folder = root / "data" / "src"
    for name, new in (
        ("revenue", "Rechnungen.csv"),
        ("customers", "Kunden.csv"),
        ("tickets", None),
    ):
        path = folder / f"{name}.csv"
        text = _european(path.read_text(encoding="utf-8"), RENAMES.get(name, {}), amounts=True)
        path.unlink()
        (folder / (new or f"{name}.csv")).write_bytes(text.encode("cp1252"))
    (folder / "kpi_values.csv").unlink()
    (folder / "Handwerte.csv").write_text(KPI_VALUES.replace(",", ";").replace("50.5", "50,5"))
    config.write_text(config.read_text() + MAPPING, encoding="utf-8")
    return config


def _card(config: Path) -> pd.DataFrame:
    return pipeline.compute_scorecard(load_project(config), PERIOD).scorecard.frame


def test_a_european_export_gives_the_canonical_figures(tmp_path: Path) -> None:
    expected = _card(_canonical_project(tmp_path / "canonical", scale=True))
    config = _european_project(tmp_path / "european")
    src = sources.load(load_project(config))
    assert src.files["revenue"].endswith("Rechnungen.csv")
    assert src.encodings["revenue"] == "cp1252"
    revenue = src.tables["revenue"].execute().set_index("invoice_id")
    assert revenue.loc["I4", "amount"] == 120000.21
    assert str(revenue.loc["I4", "invoice_date"])[:10] == "2026-03-05"
    card = _card(config)
    assert card["value"].notna().any()
    pd.testing.assert_frame_equal(card, expected)
    manual = card[
        (card["kpi"] == "logo_retention") & (card["node"] == "smb") & (card["period"] == PERIOD)
    ]
    assert manual["value"].tolist() == [50.5]


def test_a_day_first_date_that_does_not_parse_names_the_users_column_and_line(
    tmp_path: Path,
) -> None:
    config = _european_project(tmp_path)
    path = tmp_path / "data" / "src" / "Rechnungen.csv"
    text = path.read_bytes().decode("cp1252").replace("05/03/2026", "31/02/2026", 1)
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(DataError) as e:
        sources.load(load_project(config))
    message = str(e.value)
    assert "Rechnungen.csv" in message and "column Datum" in message
    assert "'31/02/2026'" in message and "(expected format %d/%m/%Y)" in message
    assert "(line 5 of the file)" in message


def test_a_renamed_column_missing_names_the_users_name(tmp_path: Path) -> None:
    config = _european_project(tmp_path)
    config.write_text(config.read_text().replace('amount = "Betrag"', 'amount = "Summe"'))
    with pytest.raises(
        DataError,
        match=r"Rechnungen.csv, column Summe: required column\(s\) missing: Summe \(found: Rechnungsnr, ",
    ):
        sources.load(load_project(config))


def test_quarantined_rows_keep_the_users_columns(tmp_path: Path) -> None:
    """A quarantine file holds the rows as read: the user's column names and values."""
    config = _european_project(tmp_path)
    config.write_text(
        config.read_text().replace("allow_credit_notes = true", "allow_credit_notes = false")
    )
    project = load_project(config)
    checked = pipeline.validate_source(project, sources.load(project), PERIOD, "a test")
    rows = checked.rejected["revenue"].to_pandas()
    assert list(rows.columns[:4]) == ["Rechnungsnr", "customer_id", "Datum", "Betrag"]
    assert rows[["Rechnungsnr", "Betrag", "source_line"]].values.tolist() == [
        ["I6", "-9.999,79", 7]
    ]
    assert rows["source_file"][0].endswith("Rechnungen.csv")
    assert (
        rows["detail"][0]
        == "negative_amount: Betrag -9999.79 is negative and allow_credit_notes is false"
    )


def test_an_unknown_table_or_key_is_one_line_naming_the_file_and_key(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    base = config.read_text()
    config.write_text(base + '\n[tables.invoices]\nfile = "x.csv"\n')
    with pytest.raises(
        ConfigError, match=r"reportlib.toml line \d+: tables.invoices: unknown table 'invoices'"
    ):
        load_settings(config)
    config.write_text(base + '\n[tables.revenue]\ndelimter = ";"\n')
    with pytest.raises(
        ConfigError, match=r"reportlib.toml line \d+: tables.revenue.delimter: unknown setting"
    ):
        load_settings(config)
    config.write_text(base + '\n[tables.revenue]\ncolumns = { amout = "Betrag" }\n')
    with pytest.raises(
        ConfigError,
        match=r"reportlib.toml line \d+: tables.revenue.columns.amout: 'amout' is not a column of revenue",
    ):
        sources.load(load_project(config))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('decimal = ","\nthousands = ","', "thousands and decimal separators are both ','"),
        ('delimiter = ";;"', "delimiter must be one character"),
        ('encoding = "klingon"', "unknown encoding 'klingon'"),
        ('date_format = "DD/MM/YYYY"', "is not a strptime format"),
    ],
)
def test_a_mapping_value_that_cannot_work_is_refused(
    tmp_path: Path, setting: str, message: str
) -> None:
    config = write_project(tmp_path)
    config.write_text(config.read_text() + f"\n[tables.revenue]\n{setting}\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_manual_values_are_read_from_parquet(tmp_path: Path) -> None:
    config = write_project(tmp_path, kpi_values=KPI_VALUES)
    folder = tmp_path / "data" / "src"
    pd.read_csv(folder / "kpi_values.csv", dtype=str).to_parquet(folder / "kpi_values.parquet")
    (folder / "kpi_values.csv").unlink()
    project = load_project(config)
    src = sources.load(project)
    (value,) = sources.manual_values(src, project.kpis)
    assert (value.kpi, value.node, value.value, value.n, value.line) == (
        "logo_retention",
        "smb",
        50.5,
        2,
        1,
    )


def test_a_bad_manual_value_in_parquet_names_its_row(tmp_path: Path) -> None:
    config = write_project(tmp_path, kpi_values=KPI_VALUES.replace("Jane Analyst", ""))
    folder = tmp_path / "data" / "src"
    pd.read_csv(folder / "kpi_values.csv", dtype=str).to_parquet(folder / "kpi_values.parquet")
    (folder / "kpi_values.csv").unlink()
    project = load_project(config)
    with pytest.raises(ConfigError, match=r"kpi_values.parquet row 1: column author is empty"):
        sources.manual_values(sources.load(project), project.kpis)


def test_a_renamed_parquet_file_goes_through_the_quality_stage(tmp_path: Path) -> None:
    """Parquet rows are numbered from the file itself: the renamed columns are read there too."""
    config = write_project(tmp_path, quality="allow_credit_notes = false\n")
    folder = tmp_path / "data" / "src"
    frame = pd.read_csv(folder / "revenue.csv", dtype=str).rename(columns={"amount": "Betrag"})
    frame.to_parquet(folder / "Rechnungen.parquet", index=False)
    (folder / "revenue.csv").unlink()
    config.write_text(
        config.read_text()
        + '\n[tables.revenue]\nfile = "Rechnungen.parquet"\ncolumns = { amount = "Betrag" }\n'
    )
    project = load_project(config)
    checked = pipeline.validate_source(project, sources.load(project), PERIOD, "a test")
    rows = checked.rejected["revenue"].to_pandas()
    assert rows[["invoice_id", "Betrag", "source_line"]].values.tolist() == [["I6", "-10.00", 6]]
    assert rows["detail"][0].startswith("negative_amount: Betrag -10 is negative")
