"""`reportlib send` against a real aiosmtpd server on 127.0.0.1: what arrives, retries, refusals.

One real run (scorecard and three packs) is made for the module; every test works on its
own copy of that project, so its delivery log starts empty and tests can run in any order.
"""

from __future__ import annotations

import email
import json
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from reportlib import audit, cli, deliver, manifest
from reportlib.config import load_project
from reportlib.errors import QualityGateError
from reportlib.layout import OutputRoot, PeriodOutput

from ..conftest import write_project

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

PERIOD = "2026-03"
RENDERED = ("all", "ent", "ent/eu")
USER = "reporter"
PASSWORD = "s3cret-Pa55word-xyz"
DISTRIBUTION = """\
sender: {name: CX Reporting, email: cx@example.com}
subject: "CX scorecard, {{ period_name }}: {{ node_names }}"
delivery: {max_attachment_mb: 10, max_attempts: 3, backoff_seconds: 0.01}
recipients:
  - {name: Ann Board, email: board@example.com, nodes: [all]}
  - name: Eve Ent
    email: ent@example.com
    nodes: [ent, {node: ent/eu}]
  - {name: Ed Europe, email: eu@example.com, nodes: [ent/eu]}
"""


class Handler:
    """Records what arrives; can answer 451 a number of times, or 550, for chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.transient: dict[str, int] = {}
        self.reject: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        to = envelope.rcpt_tos[0]
        if self.transient.get(to, 0) > 0:
            self.transient[to] -= 1
            return "451 4.3.0 try again later"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 OK queued"

    def arrived(self) -> dict[str, list[EmailMessage]]:
        out: dict[str, list[EmailMessage]] = {}
        for _, rcpts, data in self.messages:
            msg = email.message_from_bytes(data, policy=policy.default)
            for r in rcpts:
                out.setdefault(r, []).append(msg)  # type: ignore[arg-type]
        return out


def _auth(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = _free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_auth,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def handler(server: tuple[Handler, int]) -> Handler:
    """The server's handler with nothing received and no planted failures."""
    h, _ = server
    h.messages.clear()
    h.transient.clear()
    h.reject.clear()
    return h


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, server: tuple[Handler, int]) -> Path:
    """The tiny project run for three nodes (any red KPI escalates), sending with a password."""
    root = tmp_path_factory.mktemp("send")
    _, port = server
    settings = (
        'timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\nescalate_after = 1\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nusername = "{USER}"\ntimeout_seconds = 10\n'
        "allow_insecure_auth = true\n"
    )
    write_project(root, settings=settings)
    (root / "data" / "distribution.yaml").write_text(DISTRIBUTION, encoding="utf-8")
    args = ["run", "--config", str(root / "reportlib.toml"), "--period", PERIOD, "--workers", "2"]
    for node in RENDERED:
        args += ["--node", node]
    assert cli.main(args) == 0
    return root


@pytest.fixture
def root(run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the run (file times kept, so the packs stay current) that nothing was sent from."""
    copy = tmp_path / "project"
    shutil.copytree(run, copy)
    monkeypatch.setenv(deliver.PASSWORD_ENV, PASSWORD)
    return copy


def _send(root: Path, *extra: str) -> int:
    return cli.main(["send", "--config", str(root / "reportlib.toml"), "--period", PERIOD, *extra])


def _out(root: Path) -> PeriodOutput:
    return PeriodOutput(root / "output", PERIOD)


def _log(root: Path) -> list[dict[str, Any]]:
    path = _out(root).deliveries
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _attachments(msg: EmailMessage) -> dict[str, bytes]:
    return {p.get_filename(): p.get_content() for p in msg.iter_attachments()}  # type: ignore[misc]


def _name(node: str) -> str:
    return f"board-pack-{node.replace('/', '-')}.pdf"


def test_send_delivers_each_recipient_exactly_their_packs(
    root: Path,
    handler: Handler,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert _send(root) == 0
    arrived = handler.arrived()
    expected = {
        "board@example.com": ["all"],
        "ent@example.com": ["ent", "ent/eu"],
        "eu@example.com": ["ent/eu"],
    }
    assert sorted(arrived) == sorted(expected)
    for rcpt, nodes in expected.items():
        (msg,) = arrived[rcpt]
        attached = _attachments(msg)
        assert sorted(attached) == sorted(_name(n) for n in nodes)
        for n in nodes:
            assert attached[_name(n)] == _out(root).pack_pdf(n).read_bytes()
        assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None
        assert msg["Message-ID"]
    ent = arrived["ent@example.com"][0]
    assert ent["Subject"] == "CX scorecard, March 2026: Enterprise, Enterprise · Europe"
    html = ent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Overall score" in html and "Enterprise · Europe" in html
    entries = _log(root)
    # Each email: its intent, written before the body was handed over, then its outcome.
    assert [e["outcome"] for e in entries] == ["intent", "sent"] * 3
    assert [e["message_id"] for e in entries[::2]] == [e["message_id"] for e in entries[1::2]]
    assert all(e["smtp_reply"] is None for e in entries[::2])
    entries = entries[1::2]
    for e in entries:
        assert e["message_id"].startswith("<") and e["smtp_reply"]["code"] == 250
        assert (e["attempt"], e["part"], e["parts"]) == (1, 1, 1)
        for a in e["attachments"]:
            assert len(a["sha256"]) == 64
    # Every delivered email is in the hash-chained audit log with its Message-ID (§8).
    audit_log = OutputRoot(root / "output").audit_log
    sends = [e for e in audit.read(audit_log) if e["what"] == "send"]
    assert sorted(e["new"] for e in sends) == sorted(e["message_id"] for e in entries)
    assert {e["why"].split(" to ")[1].split(":")[0] for e in sends} == set(expected)
    assert audit.verify(audit_log).broken_line is None
    out = capsys.readouterr()
    assert "3 sent" in out.out
    # The password is in no output, log record or file written.
    assert PASSWORD not in out.out + out.err + caplog.text
    for f in (root / "output").rglob("*"):
        if f.is_file():
            assert PASSWORD.encode() not in f.read_bytes(), f


def test_a_second_send_sends_nothing(root: Path, handler: Handler) -> None:
    assert _send(root) == 0
    assert len(handler.messages) == 3
    handler.messages.clear()
    before = len(_log(root))
    assert _send(root) == 0
    assert handler.messages == []
    assert len(_log(root)) == before


def test_resend_sends_again(root: Path, handler: Handler) -> None:
    assert _send(root) == 0
    handler.messages.clear()
    assert _send(root, "--resend", "--only", "eu@example.com") == 0
    assert list(handler.arrived()) == ["eu@example.com"]


def test_transient_451_is_retried_and_succeeds(root: Path, handler: Handler) -> None:
    handler.transient["board@example.com"] = 2
    assert _send(root, "--only", "board@example.com") == 0
    assert list(handler.arrived()) == ["board@example.com"]
    mine = [
        e for e in _log(root) if e["recipient"] == "board@example.com" and e["outcome"] != "intent"
    ]
    assert [e["outcome"] for e in mine] == ["retry", "retry", "sent"]
    assert [e["attempt"] for e in mine] == [1, 2, 3]
    assert [e["smtp_reply"]["code"] for e in mine] == [451, 451, 250]
    assert len({e["message_id"] for e in mine}) == 1


def test_550_fails_only_that_recipient(
    root: Path, handler: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    handler.reject.add("ent@example.com")
    assert _send(root) == 1
    assert sorted(handler.arrived()) == ["board@example.com", "eu@example.com"]
    failed = [e for e in _log(root) if e["outcome"] == "failed"]
    assert failed[-1]["recipient"] == "ent@example.com" and failed[-1]["smtp_reply"]["code"] == 550
    out = capsys.readouterr()
    assert "failed   ent@example.com: part 1 of 1: 550 5.1.1 mailbox unavailable" in out.out
    assert "1 of 3 recipients failed" in out.err


def test_changed_pack_is_sent_only_with_resend(
    root: Path, handler: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _send(root) == 0
    handler.messages.clear()
    pdf = _out(root).pack_pdf("ent/eu")
    pdf.write_bytes(pdf.read_bytes() + b"\n% restated\n")
    _record_in_manifest(root, "ent/eu")  # as a re-run after a restatement would
    capsys.readouterr()
    assert _send(root) == 0
    assert handler.messages == []
    out = capsys.readouterr().out
    assert "changed  eu@example.com" in out and "ent/eu changed since sent" in out
    assert _send(root, "--resend", "--only", "eu@example.com") == 0
    (msg,) = handler.arrived()["eu@example.com"]
    assert _attachments(msg)[_name("ent/eu")] == pdf.read_bytes()


def _record_in_manifest(root: Path, node: str) -> None:
    """Record the pack's current sha256 in the manifest, as the run that rendered it does."""
    out = _out(root)
    data = json.loads(out.manifest.read_text(encoding="utf-8"))
    pdf = out.pack_pdf(node)
    data["files"][pdf.relative_to(out.dir).as_posix()] = manifest.file_entry(pdf)
    out.manifest.write_text(json.dumps(data), encoding="utf-8")


def test_oversize_packs_are_split_or_refused(root: Path, handler: Handler) -> None:
    sizes = sorted((_out(root).pack_pdf(n).stat().st_size, n) for n in RENDERED)
    if sizes[1][0] == sizes[2][0]:
        pytest.skip("two packs of equal size")
    limit_mb = (deliver.encoded_size(sizes[1][0]) + 1) / (1024 * 1024)
    path = root / "data" / "distribution.yaml"
    path.write_text(
        DISTRIBUTION.replace("max_attachment_mb: 10", f"max_attachment_mb: {limit_mb!r}")
        + "  - {name: Big Reader, email: big@example.com, nodes: [all, ent, ent/eu]}\n",
        encoding="utf-8",
    )
    assert _send(root, "--only", "big@example.com") == 1
    msgs = handler.arrived()["big@example.com"]
    assert len(msgs) == 2
    subjects = sorted(m["Subject"] for m in msgs)
    assert subjects[0].endswith("(part 1 of 2)") and subjects[1].endswith("(part 2 of 2)")
    got = {name for m in msgs for name in _attachments(m)}
    assert got == {_name(sizes[0][1]), _name(sizes[1][1])}
    refused = [
        e for e in _log(root) if e["recipient"] == "big@example.com" and e["outcome"] == "failed"
    ]
    assert refused and "over the limit" in refused[0]["reason"]
    assert refused[0]["attachments"][0]["node"] == sizes[2][1]
    assert refused[0]["message_id"] is None and "attempt" not in refused[0]


def test_dry_run_writes_parseable_eml_and_sends_nothing(root: Path, handler: Handler) -> None:
    assert _send(root, "--dry-run") == 0
    assert handler.messages == []
    assert _log(root) == []
    files = sorted(_out(root).outbox.glob("*.eml"))
    assert [f.name for f in files] == [
        "board_example.com.eml",
        "ent_example.com.eml",
        "eu_example.com.eml",
    ]
    msg = email.message_from_bytes(files[1].read_bytes(), policy=policy.default)
    assert msg["To"] == "Eve Ent <ent@example.com>"
    assert _attachments(msg)[_name("ent")] == _out(root).pack_pdf("ent").read_bytes()  # type: ignore[arg-type]
    assert PASSWORD.encode() not in b"".join(f.read_bytes() for f in files)


def test_send_is_refused_when_the_gate_failed(root: Path) -> None:
    report = _out(root).quality_report
    data = json.loads(report.read_text(encoding="utf-8"))
    data["gate"].update(passed=False, accepted=False)
    report.write_text(json.dumps(data), encoding="utf-8")
    assert _send(root, "--dry-run") == 2
    with pytest.raises(QualityGateError):
        deliver.send(load_project(root / "reportlib.toml"), PERIOD, dry_run=True)


def test_send_is_refused_when_packs_are_stale_or_missing(root: Path) -> None:
    card = _out(root).scorecard_parquet
    stat = card.stat()
    pdf_time = _out(root).pack_pdf("ent").stat().st_mtime
    os.utime(card, (stat.st_atime, pdf_time + 60))
    with pytest.raises(Exception, match="older than"):
        deliver.send(load_project(root / "reportlib.toml"), PERIOD, dry_run=True)
    os.utime(card, (stat.st_atime, stat.st_mtime))
    # ent/us is a node of the scorecard whose pack was not rendered.
    path = root / "data" / "distribution.yaml"
    path.write_text(DISTRIBUTION + "  - {name: U, email: us@example.com, nodes: [ent/us]}\n")
    assert _send(root, "--dry-run", "--only", "us@example.com") == 1
    assert not _out(root).outbox.exists()


def test_escalations_go_to_each_kpi_owner_once(root: Path, handler: Handler) -> None:
    project = load_project(root / "reportlib.toml")
    nodes = deliver.period_nodes(_out(root))
    owners, _ = deliver.escalation_lists(
        project, PERIOD, nodes, deliver.load_distribution(project, nodes)
    )
    assert owners
    assert _send(root, "--escalations") == 0
    arrived = handler.arrived()
    assert sorted(arrived) == sorted(owners)
    for address, items in owners.items():
        (msg,) = arrived[address]
        body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert all(i.kpi_name in body for i in items)
        assert not list(msg.iter_attachments())
    entries = _log(root)
    assert {e["kind"] for e in entries} == {"escalation"}
    assert all(e["escalations"] and "part" not in e for e in entries)
    # Escalation emails are not pack deliveries: the packs are still to be sent.
    assert deliver.DeliveryLog(_out(root).deliveries).delivered() == {}
    handler.messages.clear()
    assert _send(root, "--escalations") == 0
    assert handler.messages == []


def test_escalations_dry_run_writes_the_outbox(root: Path, handler: Handler) -> None:
    result = deliver.send_escalations(load_project(root / "reportlib.toml"), PERIOD, dry_run=True)
    assert handler.messages == [] and _log(root) == []
    assert result.log == _out(root).outbox and result.count("dry-run") == len(result.outcomes)
    files = sorted(p.name for p in _out(root).outbox.iterdir())
    assert files and all(f.startswith("escalations-") and f.endswith(".eml") for f in files)
