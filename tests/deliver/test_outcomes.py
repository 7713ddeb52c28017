"""Exactly once against a server that misbehaves: intent, sent, failed and unknown.

Each scenario counts the copies the server stored across a `send` and a re-run: one.
An email handed over without a reply is `unknown` and never sent again on its own;
`--resend` sends it again with the same Message-ID.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reportlib import cli, deliver
from reportlib.config import load_project
from reportlib.layout import PeriodOutput

from .conftest import PERIOD, Misbehaving, use_server

pytestmark = pytest.mark.slow

ANN = "board@example.com"
BOB = "bob@example.com"


@pytest.fixture
def project(delivery_run: Path, server: tuple[Misbehaving, int], tmp_path: Path) -> Path:
    _, port = server
    return use_server(delivery_run, tmp_path / "project", port, timeout=1)


@pytest.fixture
def handler(server: tuple[Misbehaving, int]) -> Misbehaving:
    return server[0]


def _send(root: Path, *extra: str) -> int:
    return cli.main(
        [
            "send",
            "--config",
            str(root / "reportlib.toml"),
            "--period",
            PERIOD,
            "--only",
            ANN,
            *extra,
        ]
    )


def _log(root: Path) -> list[dict[str, Any]]:
    path = PeriodOutput(root / "output", PERIOD).deliveries
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _status(root: Path) -> str:
    result = deliver.send(load_project(root / "reportlib.toml"), PERIOD, only=[ANN])
    (outcome,) = result.outcomes
    return outcome.status


def test_dropped_before_the_reply_is_unknown_and_not_sent_again(
    project: Path, handler: Misbehaving, capsys: pytest.CaptureFixture[str]
) -> None:
    handler.drop = True
    assert _send(project) == 1
    out = capsys.readouterr()
    assert f"unknown  {ANN}: " in out.out
    assert f"check, then `reportlib send --resend --only {ANN}`" in out.out
    assert "1 of 1 recipients unknown" in out.err
    assert [e["outcome"] for e in _log(project)] == ["intent", "unknown"]
    # The re-run skips it, and says so again.
    handler.drop = False
    assert _status(project) == "unknown"
    assert handler.copies(ANN) == 1
    # A deliberate resend sends it again, with the same Message-ID for servers to deduplicate.
    assert _send(project, "--resend") == 0
    assert handler.copies(ANN) == 2
    first, again = handler.message_ids(ANN)
    assert first == again == _log(project)[0]["message_id"]
    assert _status(project) == "skipped"
    assert handler.copies(ANN) == 2


def test_421_to_quit_after_250_is_sent(project: Path, handler: Misbehaving) -> None:
    handler.quit421 = True
    assert _send(project) == 0
    assert [e["outcome"] for e in _log(project)] == ["intent", "sent"]
    assert _status(project) == "skipped"
    assert handler.copies(ANN) == 1


def test_a_reply_after_the_client_timeout_is_unknown(project: Path, handler: Misbehaving) -> None:
    handler.late_seconds = 3  # the client waits 1 s
    assert _send(project) == 1
    assert [e["outcome"] for e in _log(project)] == ["intent", "unknown"]
    handler.late_seconds = 0
    assert _status(project) == "unknown"
    assert handler.copies(ANN) == 1


def test_451_to_data_is_retried_then_sent(project: Path, handler: Misbehaving) -> None:
    handler.transient = 1
    assert _send(project) == 0
    entries = _log(project)
    assert [e["outcome"] for e in entries] == ["intent", "retry", "intent", "sent"]
    assert [e["attempt"] for e in entries] == [1, 1, 2, 2]
    assert len({e["message_id"] for e in entries}) == 1
    assert _status(project) == "skipped"
    assert handler.copies(ANN) == 1


def test_a_torn_last_line_is_kept_and_does_not_swallow_the_next_record(
    project: Path, handler: Misbehaving, caplog: pytest.LogCaptureFixture
) -> None:
    path = PeriodOutput(project / "output", PERIOD).deliveries
    path.write_text('{"time": "2026-04-01T09:00', encoding="utf-8")  # a crash mid-append
    assert _send(project) == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"time": "2026-04-01T09:00'
    assert [json.loads(x)["outcome"] for x in lines[1:]] == ["intent", "sent"]
    caplog.clear()
    assert _status(project) == "skipped"
    assert f"{path} line 1" in caplog.text
    assert handler.copies(ANN) == 1


def test_an_unwritable_log_stops_send_before_anything_is_sent(
    project: Path, handler: Misbehaving, capsys: pytest.CaptureFixture[str]
) -> None:
    PeriodOutput(project / "output", PERIOD).deliveries.mkdir()  # cannot be appended to
    assert _send(project) == 2
    assert "cannot write the delivery log" in capsys.readouterr().err
    assert handler.messages == []


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        (
            "distribution.yaml",
            '  - {name: "Eve\\r\\nBcc: x@evil.example", email: eve@example.com, nodes: [all]}\n',
        ),
        (
            "distribution.yaml",
            '  - {name: Eve, email: "eve@example.com\\r\\nBcc: x@evil.example", nodes: [all]}\n',
        ),
    ],
)
def test_a_header_unsafe_recipient_stops_send_before_the_first_email(
    project: Path, handler: Misbehaving, where: str, bad: str
) -> None:
    path = project / "data" / where
    path.write_text(path.read_text(encoding="utf-8") + bad, encoding="utf-8")
    assert cli.main(["send", "--config", str(project / "reportlib.toml"), "--period", PERIOD]) == 2
    assert handler.messages == []


def test_a_malformed_owner_email_stops_escalations_before_the_first_email(
    project: Path, handler: Misbehaving, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project / "data" / "distribution.yaml"
    text = path.read_text(encoding="utf-8")
    project_ = load_project(project / "reportlib.toml")
    owners = sorted({k.owner for k in project_.kpis})
    good = "".join(f"  {o!r}: owner{i}@example.com\n" for i, o in enumerate(owners[1:]))
    path.write_text(text + f"owners:\n{good}  {owners[0]!r}: not-an-address\n", encoding="utf-8")
    args = ["send", "--config", str(project / "reportlib.toml"), "--period", PERIOD]
    assert cli.main([*args, "--escalations"]) == 2
    assert "not-an-address" in capsys.readouterr().err
    assert handler.messages == []


def test_a_password_over_plain_smtp_is_refused_unless_allowed(
    delivery_run: Path,
    server: tuple[Misbehaving, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler, port = server
    monkeypatch.setenv(deliver.PASSWORD_ENV, "secret")
    root = use_server(delivery_run, tmp_path / "p", port, extra='username = "reporter"\n')
    assert _send(root) == 2
    assert "allow_insecure_auth" in capsys.readouterr().err
    assert handler.messages == []


def test_a_pack_that_differs_from_the_manifest_is_refused(
    project: Path, handler: Misbehaving, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = PeriodOutput(project / "output", PERIOD).pack_pdf("all")
    pdf.write_bytes(pdf.read_bytes()[:-100])  # truncated after the run
    assert _send(project) == 1
    err = capsys.readouterr().err
    assert f"{pdf} differs from the sha256 in manifest.json" in err and len(err.splitlines()) == 1
    assert handler.messages == []


def test_changed_inputs_are_refused_but_a_changed_distribution_is_not(
    project: Path, handler: Misbehaving, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = project / "data" / "targets.csv"
    original = targets.read_bytes()
    targets.write_bytes(original + b"\n")
    assert _send(project) == 1
    err = capsys.readouterr().err
    assert f"inputs changed since the run of {PERIOD}: re-run" in err and "targets.csv" in err
    targets.write_bytes(original)
    tickets = project / "data" / "src" / "tickets.csv"
    tickets.write_bytes(tickets.read_bytes() + b"\n")
    assert _send(project) == 1
    assert "inputs changed since the run" in capsys.readouterr().err
    tickets.write_bytes(tickets.read_bytes()[:-1])
    assert handler.messages == []
    dist = project / "data" / "distribution.yaml"
    dist.write_text(dist.read_text(encoding="utf-8").replace("Ann Board", "Ann Chair"))
    assert _send(project) == 0
    assert handler.copies(ANN) == 1 and handler.copies(BOB) == 0


def test_changed_figure_settings_are_refused_but_smtp_settings_are_not(
    project: Path, handler: Misbehaving, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = project / "reportlib.toml"
    original = settings.read_text(encoding="utf-8")
    assert "[smtp]" in original and "timeout_seconds = 1\n" in original
    settings.write_text("escalate_after = 5\n" + original, encoding="utf-8")  # a top-level key
    assert _send(project) == 1
    err = capsys.readouterr().err
    assert (
        f"inputs changed since the run of {PERIOD}: re-run (the settings in reportlib.toml)" in err
    )
    assert handler.messages == []
    smtp_only = original.replace("timeout_seconds = 1\n", "timeout_seconds = 2\n")
    settings.write_text(smtp_only, encoding="utf-8")
    assert _send(project) == 0
    assert handler.copies(ANN) == 1
