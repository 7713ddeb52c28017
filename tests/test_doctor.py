"""`reportlib doctor`: one verdict per check, exit 0 when all pass and 2 otherwise, nothing written."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller

from reportlib import doctor, resources
from reportlib.cli import main

from .conftest import CUSTOMERS, write_project


def _by_name(checks: tuple[doctor.Check, ...]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_ready_project_passes_every_check_and_writes_nothing(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    before = _files(tmp_path)
    checks = _by_name(doctor.run(config))
    assert [n for n, c in checks.items() if c.verdict != "ok"] == [
        "table customer_aliases",  # optional, not in the tiny project
        "smtp",  # not configured
    ]
    assert checks["smtp"].detail == "no [smtp] in the settings"
    assert checks["table customers"].detail.endswith(
        "customers.csv: 5 rows; columns customer_id, segment, region, acquired_on, churned_on"
    )
    assert checks["encoding customers.csv"].detail == "utf-8"
    assert checks["nodes"].detail == "7 unique node ids (4 at the lowest level)"
    assert checks["fonts"].detail == f"4 font files ({resources.packaged('templates')})"
    assert "does not exist yet" in checks["output"].detail
    assert _files(tmp_path) == before
    assert not (tmp_path / "output").exists()


def test_cli_prints_one_line_per_check_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_project(tmp_path)
    assert main(["doctor", "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"ok    settings: {config}"
    assert "skip  smtp: no [smtp] in the settings" in out
    assert out[-1] == "all checks passed"


def test_broken_settings_fail_and_the_rest_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_project(tmp_path, settings='timezone = "Mars/Olympus"\n')
    assert main(["doctor", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("FAIL  settings: ") and "unknown time zone" in lines[0]
    assert all(line.startswith("skip  ") for line in lines[1:])
    assert captured.err.strip() == "error: doctor: 1 check(s) failed: settings"


def test_a_missing_column_names_the_file_and_column(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, tables={"revenue": "invoice_id,customer_id,invoice_date\nI1,C1,2026-03-05\n"}
    )
    checks = _by_name(doctor.run(config))
    assert checks["tables"].failed
    assert (
        "revenue.csv, column amount: required column(s) missing: amount" in checks["tables"].detail
    )
    assert checks["nodes"].verdict == "skip"
    assert checks["fonts"].verdict == "ok"


def test_node_ids_that_collide_fail(tmp_path: Path) -> None:
    customers = CUSTOMERS.replace("C5,smb,us", "C5,SMB!,us")
    checks = _by_name(doctor.run(write_project(tmp_path, tables={"customers": customers})))
    assert checks["nodes"].failed
    assert "segment values 'SMB!' and 'smb' both become node 'smb'" in checks["nodes"].detail


def test_targets_naming_another_companys_nodes_fail(tmp_path: Path) -> None:
    targets = "kpi,node,effective_from,target,threshold\nnrr,enterprise,2020-01,100,93\n"
    checks = _by_name(doctor.run(write_project(tmp_path, targets=targets)))
    assert checks["nodes"].failed
    assert "line 2: unknown node 'enterprise'" in checks["nodes"].detail


def test_encodings_of_each_csv_file(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    src = tmp_path / "data" / "src"
    text = (src / "customers.csv").read_text(encoding="utf-8").replace("C1,ent", "C1,Bäckerei")
    (src / "customers.csv").write_bytes(text.replace("Bäckerei", "ent").encode("cp1252"))
    (src / "notes.csv").write_bytes("a,b\nx,é €\n".encode("cp1252"))
    (src / "broken.csv").write_bytes("a,b\n".encode("utf-16-le"))
    checks = _by_name(doctor.run(config))
    assert checks["encoding notes.csv"].detail == "cp1252 (not valid UTF-8: read as cp1252)"
    assert checks["encoding broken.csv"].failed
    assert "UTF-16" in checks["encoding broken.csv"].detail
    assert checks["encoding customers.csv"].detail == "utf-8"


def test_an_encoding_the_settings_give_is_reported_as_given(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, settings='timezone = "UTC"\n\n[tables.customers]\nencoding = "cp1252"\n'
    )
    src = tmp_path / "data" / "src"
    (src / "customers.csv").write_bytes((src / "customers.csv").read_bytes())
    checks = _by_name(doctor.run(config))
    assert checks["encoding customers.csv"].detail == "cp1252 (as the settings say)"
    assert checks["encoding revenue.csv"].detail == "utf-8"


def test_a_missing_source_and_an_unwritable_output(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a folder", encoding="utf-8")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('source = "data/src"', 'source = "data/nowhere"').replace(
            'output_dir = "output"', 'output_dir = "blocker/output"'
        ),
        encoding="utf-8",
    )
    checks = _by_name(doctor.run(config))
    assert checks["source"].failed and "nowhere" in checks["source"].detail
    assert checks["tables"].detail == "needs the source"
    assert checks["output"].failed and "blocker is not a folder" in checks["output"].detail


def test_an_existing_output_folder_is_tried_without_leaving_a_file(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    (tmp_path / "output").mkdir()
    check = doctor.output_writable(tmp_path / "output")
    assert check.endswith("is writable")
    assert list((tmp_path / "output").iterdir()) == []
    del config


def test_a_project_template_naming_a_missing_font_fails(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    own = tmp_path / "templates"
    own.mkdir()
    (own / "board_pack.html.j2").write_text("<html></html>", encoding="utf-8")
    (own / "pack.css").write_text(
        '@font-face { font-family: X; src: url("fonts/Mine.woff2") format("woff2"); }',
        encoding="utf-8",
    )
    checks = _by_name(doctor.run(config))
    assert checks["fonts"].failed
    assert str(own / "fonts" / "Mine.woff2") in checks["fonts"].detail


# --- the mail server ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    port = _free_port()
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def _with_smtp(tmp_path: Path, port: int, security: str = "none") -> Path:
    config = write_project(tmp_path)
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\n')
    return config


@pytest.mark.slow  # talks SMTP
def test_a_reachable_mail_server(tmp_path: Path, smtp_port: int) -> None:
    check = doctor.smtp_check(doctor.load_settings(_with_smtp(tmp_path, smtp_port)))
    assert (check.verdict, check.detail) == ("ok", f"127.0.0.1:{smtp_port} answers (none)")


@pytest.mark.slow  # talks SMTP
def test_starttls_asked_for_but_not_offered(tmp_path: Path, smtp_port: int) -> None:
    check = doctor.smtp_check(doctor.load_settings(_with_smtp(tmp_path, smtp_port, "starttls")))
    assert check.failed and check.detail == f"127.0.0.1:{smtp_port} does not offer STARTTLS"


@pytest.mark.slow  # talks SMTP
def test_a_closed_port_fails_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()  # nothing listens on it
    config = _with_smtp(tmp_path, port)
    assert main(["doctor", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert f"FAIL  smtp: cannot reach 127.0.0.1:{port}" in captured.out
    assert captured.err.strip() == "error: doctor: 1 check(s) failed: smtp"


def test_a_duckdb_file_source(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    src = tmp_path / "data" / "src"
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for csv in sorted(src.glob("*.csv")):
        con.execute(
            f"CREATE TABLE {csv.stem} AS SELECT * FROM read_csv('{csv}', all_varchar = true)"
        )
    con.close()
    config.write_text(
        config.read_text(encoding="utf-8").replace('"data/src"', '"warehouse.duckdb"'),
        encoding="utf-8",
    )
    checks = _by_name(doctor.run(config))
    assert checks["source"].detail == f"database file {tmp_path / 'warehouse.duckdb'}"
    assert checks["encodings"] == doctor.Check(
        "encodings", "skip", "a database source has no CSV files"
    )
    assert checks["table tickets"].detail.startswith(
        f"{tmp_path / 'warehouse.duckdb'}:tickets: 7 rows"
    )
    assert not [c for c in checks.values() if c.failed]


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    url = f"postgresql://reporter:s3cret@127.0.0.1:{port}/crm"
    config = write_project(tmp_path, settings=f'timezone = "UTC"\nsource = "{url}"\n')
    text = config.read_text(encoding="utf-8").replace('source = "data/src"\n', "", 1)
    config.write_text(text, encoding="utf-8")
    checks = _by_name(doctor.run(config))
    assert checks["source"].failed
    assert "reporter:***@127.0.0.1" in checks["source"].detail
    assert "s3cret" not in " ".join(c.detail for c in checks.values())
