"""`reportlib init`: a starting configuration made from a company's own data, never overwriting."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from reportlib import config, scaffold
from reportlib.cli import main
from reportlib.deliver import load_distribution
from reportlib.errors import ConfigError, DataError

from .conftest import CUSTOMERS, REVENUE, SURVEYS, TICKETS, write_project

# A company of its own: levels business_unit × country, no workforce table, a name and a
# constant column that are not levels, and the customers table's columns in its own order.
OWN_CUSTOMERS = """\
customer_id,name,business_unit,country,acquired_on,churned_on,currency
K1,Alpha GmbH,Retail,DE,2025-01-10,,EUR
K2,Beta AG,Retail,AT,2025-01-01,,EUR
K3,Gamma KG,Wholesale,DE,2025-02-01,,EUR
K4,Delta SE,Wholesale,DE,2025-03-01,2026-02-15,EUR
K5,Epsilon Ltd,Retail,DE,2026-02-10,,EUR
K6,Zeta OHG,Wholesale,AT,2025-02-01,,EUR
"""


def _own_company(root: Path, *, tables: dict[str, str] | None = None) -> Path:
    exports = root / "exports"
    exports.mkdir(parents=True)
    base = {"customers": OWN_CUSTOMERS, "revenue": REVENUE, "tickets": TICKETS}
    for name, text in {**base, **(tables or {})}.items():
        (exports / f"{name}.csv").write_text(text, encoding="utf-8")
    return exports


def test_init_writes_a_configuration_that_fits_the_data(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    _own_company(root)
    result = scaffold.init(root, source=str(root / "exports"))

    assert {f.path.name for f in result.written} == {
        "reportlib.toml",
        "segments.yaml",
        "kpis.yaml",
        "targets.csv",
        "distribution.yaml",
    }
    assert result.kept == ()
    # Only the KPIs whose table is in the data: no surveys, no workforce.
    assert set(result.dropped) == {
        "nps", "csat", "ces", "enps", "training_hours_per_fte", "attrition_rate",
    }  # fmt: skip
    assert result.dropped["enps"] == "workforce"
    settings = config.load_settings(root / "reportlib.toml")
    assert settings.source == "exports"
    assert settings.data_path == root.resolve() / "data"
    kpis = config.load_kpis(root / "data" / "kpis.yaml")
    assert [k.id for k in kpis] == list(result.kpis)
    assert {k.id for k in kpis} == {
        "revenue", "revenue_growth_yoy", "nrr", "logo_retention", "fcr",
        "first_response_hours", "sla_compliance", "resolution_hours", "reopen_rate",
    }  # fmt: skip
    hierarchy = config.load_hierarchy(root / "data" / "segments.yaml")
    assert hierarchy.levels == ("business_unit", "country")
    assert hierarchy.company == "Acme"
    assert hierarchy.names["country"] == {"AT": "AT", "DE": "DE"}
    # The learning perspective has no KPI left: it is listed as a comment only.
    assert [p.id for p in hierarchy.perspectives] == ["financial", "customer", "process"]
    assert "# - {id: learning" in (root / "data" / "segments.yaml").read_text(encoding="utf-8")
    targets = config.load_targets(root / "data" / "targets.csv", kpis)
    assert targets and {t.node for t in targets} == {"*"}
    assert {t.kpi for t in targets} <= {k.id for k in kpis}
    # The whole project reads, and the distribution names a node every company has.
    project = config.load_project(root / "reportlib.toml")
    assert load_distribution(project, ["all"]).recipients[0].email == "board@example.com"


def test_levels_are_the_unknown_columns_with_few_values(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    _own_company(root)
    data = scaffold.survey("exports", root)
    verdicts = {c.name: (c.level, c.reason) for c in data.columns}
    assert data.levels == ("business_unit", "country")
    assert verdicts["name"] == (False, "6 values in 6 rows: nearly one per customer")
    assert verdicts["currency"] == (False, "one value only")
    assert set(data.tables) == {"customers", "revenue", "tickets"}
    assert data.customer_rows == 6


def test_a_column_with_many_values_is_a_level_when_it_nests_under_the_levels_above(
    tmp_path: Path,
) -> None:
    # 2 regions × 30 branches: 60 branch values, 30 under each region, so `branch` is a
    # level; `desk` has 60 values too but each region has all of them, so it is not.
    lines = ["customer_id,region,desk,branch,acquired_on,churned_on"]
    for i in range(240):
        region = "north" if i % 2 == 0 else "south"
        branch = f"{region}-{(i // 2) % 30:02d}"
        desk = f"desk-{(i // 2) % 60:02d}"
        lines.append(f"C{i:04d},{region},{desk},{branch},2025-01-01,")
    exports = tmp_path / "acme" / "exports"
    exports.mkdir(parents=True)
    (exports / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = scaffold.survey("exports", tmp_path / "acme")
    verdicts = {c.name: (c.level, c.reason) for c in data.columns}
    assert data.levels == ("region", "branch")
    assert verdicts["branch"] == (True, "60 values, at most 30 under each region")
    assert verdicts["desk"] == (False, "more than 50 values (60 under one region)")
    assert len(next(c for c in data.columns if c.name == "branch").values) == 60


def test_init_never_overwrites_and_reports_what_it_kept(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    _own_company(root)
    (root / "data").mkdir()
    mine = "kpi,node,effective_from,target,threshold\nfcr,*,2025-01,60,40\n"
    (root / "data" / "targets.csv").write_text(mine, encoding="utf-8")
    first = scaffold.init(root, source=str(root / "exports"))
    assert [f.path.name for f in first.kept] == ["targets.csv"]
    assert (root / "data" / "targets.csv").read_text(encoding="utf-8") == mine
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    second = scaffold.init(root)
    assert second.written == ()
    assert len(second.kept) == 5
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_an_existing_settings_file_says_where_the_data_and_configuration_go(
    tmp_path: Path,
) -> None:
    root = tmp_path / "acme"
    _own_company(root)
    (root / "reportlib.toml").write_text(
        'data_dir = "config"\nsource = "exports"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"kpis\.yaml is missing: run `reportlib init`"):
        config.load_project(root / "reportlib.toml")
    result = scaffold.init(root)
    assert [f.path.name for f in result.kept] == ["reportlib.toml"]
    assert sorted(p.name for p in (root / "config").iterdir()) == [
        "distribution.yaml",
        "kpis.yaml",
        "segments.yaml",
        "targets.csv",
    ]
    assert config.load_project(root / "reportlib.toml").hierarchy.levels == (
        "business_unit",
        "country",
    )


def test_the_default_source_is_the_folders_data(tmp_path: Path) -> None:
    # A project laid out as the tests' tiny one: tables in data/src, found without --source.
    root = tmp_path / "tiny"
    write_project(root)
    for name in ("kpis.yaml", "segments.yaml", "targets.csv"):
        (root / "data" / name).unlink()
    (root / "reportlib.toml").unlink()
    assert scaffold.default_source(root) == root / "data" / "src"
    result = scaffold.init(root)
    assert result.survey.source == "data/src"
    assert result.survey.levels == ("segment", "region")
    assert "enps" in result.kpis  # the tiny company has a workforce table
    project = config.load_project(root / "reportlib.toml")
    assert len(project.kpis) == 15


def test_no_customers_table_says_how_to_point_at_the_data(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(ConfigError, match="pass --source"):
        scaffold.init(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(DataError, match="no customers table"):
        scaffold.init(tmp_path, source=str(tmp_path / "elsewhere"))
    assert not (tmp_path / "reportlib.toml").exists()


def test_a_semicolon_separated_cp1252_export(tmp_path: Path) -> None:
    root = tmp_path / "eu"
    exports = root / "data"
    exports.mkdir(parents=True)
    text = textwrap.dedent(
        """\
        customer_id;region;city;acquired_on;churned_on
        E1;Süd;München;01/02/2025;
        E2;Süd;München;01/03/2025;
        E3;Nord;Köln;15/03/2025;
        E4;Nord;Köln;15/04/2025;
        E5;Nord;Köln;15/04/2025;
        """
    )
    (exports / "customers.csv").write_bytes(text.encode("cp1252"))
    data = scaffold.survey("data", root)
    assert data.levels == ("region", "city")
    assert [c.values for c in data.columns] == [("Nord", "Süd"), ("Köln", "München")]
    assert any("semicolon-separated" in n for n in data.notes)
    result = scaffold.init(root)
    assert "semicolon-separated" in (root / "reportlib.toml").read_text(encoding="utf-8")
    assert set(result.kpis) == {"logo_retention"}
    segments = (root / "data" / "segments.yaml").read_text(encoding="utf-8")
    assert "München: München" in segments


def test_a_duckdb_file_source(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    for name, text in (("customers", CUSTOMERS), ("survey_responses", SURVEYS)):
        csv = tmp_path / f"{name}.csv"
        csv.write_text(text, encoding="utf-8")
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{csv}', all_varchar=true)")
    con.close()
    root = tmp_path / "proj"
    result = scaffold.init(root, source=str(db))
    assert set(result.survey.tables) == {"customers", "survey_responses"}
    assert result.survey.levels == ("segment", "region")
    assert set(result.kpis) == {"nps", "csat", "ces", "logo_retention"}
    assert config.load_settings(root / "reportlib.toml").source == str(db)


def test_cli_init_prints_what_it_wrote_and_the_next_three_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "acme"
    _own_company(root)
    monkeypatch.chdir(root)
    assert main(["init", "--source", "exports"]) == 0
    out = capsys.readouterr().out
    assert "customers.business_unit: level (2 values)" in out
    assert "wrote data/kpis.yaml: 9 KPIs the data supports" in out
    assert "KPIs left out: nps (no survey_responses)" in out
    nxt = out[out.index("next:") :].splitlines()[1:]
    assert [line.split("#")[0].strip() for line in nxt] == [
        "reportlib doctor",
        "reportlib validate",
        "reportlib run",
    ]
    assert main(["init"]) == 0
    again = capsys.readouterr().out
    assert "kept reportlib.toml (exists; not changed)" in again
    assert "wrote" not in again
    # From elsewhere, the commands name the settings file.
    monkeypatch.chdir(tmp_path)
    assert main(["init", "acme"]) == 0
    assert "reportlib run --config acme/reportlib.toml" in capsys.readouterr().out
    assert os.listdir(tmp_path) == ["acme"]


def test_display_names_start_from_the_values() -> None:
    assert scaffold.display_name("DE") == "DE"
    assert scaffold.display_name("München") == "München"
    assert scaffold.display_name("mid-market") == "Mid Market"
    assert scaffold.display_name("中国") == "中国"


def test_a_parquet_customers_table(tmp_path: Path) -> None:
    root = tmp_path / "pq"
    exports = _own_company(root)
    frame = pd.read_csv(exports / "customers.csv", dtype=str, keep_default_na=False)
    frame.to_parquet(exports / "customers.parquet", index=False)
    (exports / "customers.csv").unlink()
    data = scaffold.survey(str(exports), root)
    assert data.tables["customers"] == str(exports / "customers.parquet")
    assert data.levels == ("business_unit", "country")
    assert data.notes == ()


def test_a_renamed_customers_column_is_noted_not_refused(tmp_path: Path) -> None:
    root = tmp_path / "renamed"
    exports = _own_company(
        root, tables={"customers": OWN_CUSTOMERS.replace("customer_id,", "Kundennummer,")}
    )
    result = scaffold.init(root, source=str(exports))
    assert result.survey.levels == ("business_unit", "country")
    (note,) = result.survey.notes
    assert note.startswith("the customers table has no customer_id column: map your column")
    assert "# NOTE: the customers table has no customer_id column" in (
        root / "reportlib.toml"
    ).read_text(encoding="utf-8")


EXPORT_SETTINGS = """\
source = "exports"

[tables.customers]
file = "Kunden.csv"
delimiter = ";"
encoding = "cp1252"
date_format = "%d/%m/%Y"
columns = { customer_id = "Kundennummer", acquired_on = "Kunde seit", churned_on = "Gekündigt am" }

[tables.revenue]
file = "Umsatz.csv"
"""


def test_init_reads_the_exports_the_way_the_settings_map_them(tmp_path: Path) -> None:
    """A company whose files and columns have their own names writes the mapping first;
    `init` then finds the tables and levels through it (and keeps the settings file)."""
    root = tmp_path / "alpenrand"
    exports = root / "exports"
    exports.mkdir(parents=True)
    (root / "reportlib.toml").write_text(EXPORT_SETTINGS, encoding="utf-8")
    text = textwrap.dedent(
        """\
        Kundennummer;Bereich;Land;Kunde seit;Gekündigt am
        K1;Handel;Österreich;01/02/2025;
        K2;Handel;Österreich;01/03/2025;
        K3;Industrie;Deutschland;15/03/2025;
        K4;Industrie;Deutschland;15/04/2025;
        K5;Industrie;Deutschland;15/04/2025;
        """
    )
    (exports / "Kunden.csv").write_bytes(text.encode("cp1252"))
    (exports / "Umsatz.csv").write_text(REVENUE, encoding="utf-8")

    result = scaffold.init(root)

    assert set(result.survey.tables) == {"customers", "revenue"}
    assert result.survey.levels == ("Bereich", "Land")
    assert [c.values for c in result.survey.columns] == [
        ("Handel", "Industrie"),
        ("Deutschland", "Österreich"),
    ]
    # The renamed columns are recognised as the known ones: no note asks to map them.
    assert not any("no customer_id" in n for n in result.survey.notes)
    assert set(result.kpis) == {"revenue", "revenue_growth_yoy", "nrr", "logo_retention"}
    assert [p.path.name for p in result.kept] == ["reportlib.toml"]
    assert (root / "reportlib.toml").read_text(encoding="utf-8") == EXPORT_SETTINGS


def test_init_reads_a_database_table_the_mapping_names(tmp_path: Path) -> None:
    db = tmp_path / "erp.duckdb"
    con = duckdb.connect(str(db))
    csv = tmp_path / "c.csv"
    csv.write_text(OWN_CUSTOMERS.replace("customer_id", "id"), encoding="utf-8")
    con.execute(f"CREATE TABLE crm_kunden AS SELECT * FROM read_csv('{csv}', all_varchar=true)")
    con.close()
    root = tmp_path / "proj"
    root.mkdir()
    (root / "reportlib.toml").write_text(
        f'source = "{db}"\n\n[tables.customers]\ntable = "crm_kunden"\n'
        'columns = { customer_id = "id" }\n',
        encoding="utf-8",
    )
    result = scaffold.init(root)
    assert set(result.survey.tables) == {"customers"}
    assert result.survey.levels == ("business_unit", "country")
    assert set(result.kpis) == {"logo_retention"}


def test_init_names_an_unreachable_database_without_its_password(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://reporter:s3cret@127.0.0.1:{port}/crm"
    with pytest.raises(DataError) as e:
        scaffold.init(tmp_path / "proj", source=url)
    assert "reporter:***@127.0.0.1" in str(e.value)
    assert "s3cret" not in str(e.value)
