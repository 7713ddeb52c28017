"""`reportlib send` against a real aiosmtpd server on 127.0.0.1: what arrives, retries, refusals.

One real run (scorecard and three packs) is shared by the module; the tests then send
in order, building on the delivery log the earlier ones left.
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
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from reportlib import audit, cli, deliver
from reportlib.config import load_project
from reportlib.errors import ConfigError

from .conftest import write_project

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

PERIOD = "2026-03"
RENDERED = ("all", "ent", "ent/eu")
NODES = ("all", "ent", "ent/eu", "ent/us", "smb", "smb/eu", "smb/us")
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


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, server: tuple[Handler, int]) -> Iterator[Path]:
    """The tiny project run for three nodes (any red KPI escalates), sending with a password."""
    root = tmp_path_factory.mktemp("send")
    _, port = server
    settings = (
        'timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\nescalate_after = 1\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nusername = "{USER}"\ntimeout_seconds = 10\n'
    )
    write_project(root, settings=settings)
    (root / "data" / "distribution.yaml").write_text(DISTRIBUTION, encoding="utf-8")
    args = ["run", "--config", str(root / "reportlib.toml"), "--period", PERIOD, "--workers", "2"]
    for node in RENDERED:
        args += ["--node", node]
    assert cli.main(args) == 0
    mp = pytest.MonkeyPatch()
    mp.setenv(deliver.PASSWORD_ENV, PASSWORD)
    yield root
    mp.undo()


def _send(root: Path, *extra: str) -> int:
    return cli.main(["send", "--config", str(root / "reportlib.toml"), "--period", PERIOD, *extra])


def _pdf(root: Path, node: str) -> Path:
    return root.joinpath("output", PERIOD, *node.split("/"), "board-pack.pdf")


def _log(root: Path) -> list[dict[str, Any]]:
    path = root / "output" / PERIOD / "deliveries.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _attachments(msg: EmailMessage) -> dict[str, bytes]:
    return {p.get_filename(): p.get_content() for p in msg.iter_attachments()}  # type: ignore[misc]


def _name(node: str) -> str:
    return f"board-pack-{node.replace('/', '-')}.pdf"


# --------------------------------------------------------------------------- selection and config


def _recipient(nodes: list[Any], include_children: bool = False) -> deliver.Recipient:
    return deliver.Recipient(
        name="X", email="x@example.com", nodes=nodes, include_children=include_children
    )


def test_select_nodes_gives_only_the_listed_nodes_and_asked_children() -> None:
    assert deliver.select_nodes(_recipient(["ent/eu"]), NODES) == ("ent/eu",)
    assert deliver.select_nodes(_recipient(["ent"]), NODES) == ("ent",)
    assert deliver.select_nodes(_recipient(["ent"], True), NODES) == ("ent", "ent/eu", "ent/us")
    assert deliver.select_nodes(_recipient(["all"], True), NODES) == NODES
    mixed = _recipient([{"node": "smb", "include_children": True}, "ent/us"])
    assert deliver.select_nodes(mixed, NODES) == ("ent/us", "smb", "smb/eu", "smb/us")
    # A node id that merely starts with another's is not its child.
    assert deliver.select_nodes(_recipient(["ent"], True), ("ent", "entx", "entx/eu")) == ("ent",)


@pytest.mark.parametrize(
    ("recipients", "message"),
    [
        ("- {name: A, email: not-an-address, nodes: [all]}", "malformed email address"),
        ("- {name: A, email: a@example.com, nodes: [nowhere]}", "unknown node 'nowhere'"),
        ("- {name: A, email: a@example.com, nodes: []}", "a@example.com has no nodes"),
        (
            "- {name: A, email: a@example.com, nodes: [all]}\n"
            "- {name: B, email: A@example.com, nodes: [ent]}",
            "A@example.com is listed twice",
        ),
    ],
)
def test_distribution_errors_name_the_problem(
    tmp_path: Path, recipients: str, message: str
) -> None:
    config = write_project(tmp_path)
    path = tmp_path / "data" / "distribution.yaml"
    path.write_text(f"sender: {{name: S, email: s@example.com}}\nrecipients:\n{recipients}\n")
    with pytest.raises(ConfigError, match=message) as err:
        deliver.load_distribution(load_project(config), NODES)
    assert str(path) in str(err.value) and err.value.exit_code == 2


def test_default_distribution_files_are_identical_and_valid() -> None:
    repo = Path(__file__).resolve().parents[1]
    shipped = repo / "reportlib" / "defaults" / "distribution.yaml"
    assert shipped.read_bytes() == (repo / "data" / "distribution.yaml").read_bytes()
    dist = deliver.Distribution(**yaml.safe_load(shipped.read_text(encoding="utf-8")))
    assert dist.delivery.max_attachment_mb == 10 and len(dist.recipients) == 7
    cco = deliver.select_nodes(dist.recipients[1], ("all", "smb", "smb/emea"))
    assert cco == ("all", "smb", "smb/emea")


def test_split_packs_keeps_each_email_under_the_limit_as_sent(tmp_path: Path) -> None:
    # As sent: 600 bytes are 800 base64 characters in 11 lines (822), 390 are 520 + 14 (534),
    # 300 are 400 + 12 (412), 800 are 1068 + 30 (1098).
    assert [deliver.encoded_size(n) for n in (600, 390, 300, 800)] == [822, 534, 412, 1098]
    packs = [
        deliver.Pack(n, n, tmp_path, "0", size)
        for n, size in (("a", 600), ("b", 390), ("c", 800), ("d", 300))
    ]
    parts, refused = deliver.split_packs(packs, 1000)
    # a and b are 990 bytes on disk, under 1000, but 1356 as sent: two emails.
    assert [[p.node for p in part] for part in parts] == [["a"], ["b", "d"]]
    assert all(sum(p.encoded_size for p in part) <= 1000 for part in parts)
    assert [p.node for p in refused] == ["c"]


# --------------------------------------------------------------------------- real sending


def test_send_delivers_each_recipient_exactly_their_packs(
    root: Path,
    server: tuple[Handler, int],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, _ = server
    handler.messages.clear()
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
            assert attached[_name(n)] == _pdf(root, n).read_bytes()
        assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None
        assert msg["Message-ID"]
    ent = arrived["ent@example.com"][0]
    assert ent["Subject"] == "CX scorecard, March 2026: Enterprise, Enterprise · Europe"
    html = ent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Overall score" in html and "Enterprise · Europe" in html
    entries = _log(root)
    assert [e["outcome"] for e in entries] == ["sent"] * 3
    for e in entries:
        assert e["message_id"].startswith("<") and e["smtp_reply"]["code"] == 250
        for a in e["attachments"]:
            assert len(a["sha256"]) == 64
    # Every delivered email is in the hash-chained audit log with its Message-ID (§8).
    sends = [e for e in audit.read(audit.path(root / "output")) if e["what"] == "send"]
    assert sorted(e["new"] for e in sends) == sorted(e["message_id"] for e in entries)
    assert {e["why"].split(" to ")[1].split(":")[0] for e in sends} == set(expected)
    assert audit.verify(audit.path(root / "output")).broken_line is None
    out = capsys.readouterr()
    assert "3 sent" in out.out
    # The password is in no output, log record or file written.
    assert PASSWORD not in out.out + out.err + caplog.text
    for f in (root / "output").rglob("*"):
        if f.is_file():
            assert PASSWORD.encode() not in f.read_bytes(), f


def test_a_second_send_sends_nothing(root: Path, server: tuple[Handler, int]) -> None:
    handler, _ = server
    handler.messages.clear()
    before = len(_log(root))
    assert _send(root) == 0
    assert handler.messages == []
    assert len(_log(root)) == before


def test_resend_sends_again(root: Path, server: tuple[Handler, int]) -> None:
    handler, _ = server
    handler.messages.clear()
    assert _send(root, "--resend", "--only", "eu@example.com") == 0
    assert list(handler.arrived()) == ["eu@example.com"]


def test_transient_451_is_retried_and_succeeds(root: Path, server: tuple[Handler, int]) -> None:
    handler, _ = server
    handler.messages.clear()
    handler.transient["board@example.com"] = 2
    assert _send(root, "--resend", "--only", "board@example.com") == 0
    assert list(handler.arrived()) == ["board@example.com"]
    mine = [e for e in _log(root) if e["recipient"] == "board@example.com"][-3:]
    assert [e["outcome"] for e in mine] == ["retry", "retry", "sent"]
    assert [e["smtp_reply"]["code"] for e in mine] == [451, 451, 250]
    assert len({e["message_id"] for e in mine}) == 1


def test_550_fails_only_that_recipient(
    root: Path, server: tuple[Handler, int], capsys: pytest.CaptureFixture[str]
) -> None:
    handler, _ = server
    handler.messages.clear()
    handler.reject.add("ent@example.com")
    try:
        assert _send(root, "--resend") == 1
    finally:
        handler.reject.clear()
    assert sorted(handler.arrived()) == ["board@example.com", "eu@example.com"]
    failed = [e for e in _log(root) if e["outcome"] == "failed"]
    assert failed[-1]["recipient"] == "ent@example.com" and failed[-1]["smtp_reply"]["code"] == 550
    out = capsys.readouterr()
    assert "failed   ent@example.com" in out.out and "1 of 3 recipients failed" in out.err


def test_changed_pack_is_sent_only_with_resend(
    root: Path, server: tuple[Handler, int], capsys: pytest.CaptureFixture[str]
) -> None:
    handler, _ = server
    pdf = _pdf(root, "ent/eu")
    original = pdf.read_bytes()
    handler.messages.clear()
    try:
        pdf.write_bytes(original + b"\n% restated\n")
        assert _send(root) == 0
        assert handler.messages == []
        out = capsys.readouterr().out
        assert "changed  eu@example.com" in out and "ent/eu changed since sent" in out
        assert _send(root, "--resend", "--only", "eu@example.com") == 0
        (msg,) = handler.arrived()["eu@example.com"]
        assert _attachments(msg)[_name("ent/eu")] == pdf.read_bytes()
    finally:
        pdf.write_bytes(original)


def test_oversize_packs_are_split_or_refused(root: Path, server: tuple[Handler, int]) -> None:
    handler, _ = server
    sizes = sorted((_pdf(root, n).stat().st_size, n) for n in RENDERED)
    if sizes[1][0] == sizes[2][0]:
        pytest.skip("two packs of equal size")
    limit_mb = (deliver.encoded_size(sizes[1][0]) + 1) / (1024 * 1024)
    path = root / "data" / "distribution.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(
        original.replace("max_attachment_mb: 10", f"max_attachment_mb: {limit_mb!r}")
        + "  - {name: Big Reader, email: big@example.com, nodes: [all, ent, ent/eu]}\n",
        encoding="utf-8",
    )
    handler.messages.clear()
    try:
        assert _send(root, "--only", "big@example.com") == 1
    finally:
        path.write_text(original, encoding="utf-8")
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


def test_dry_run_writes_parseable_eml_and_sends_nothing(
    root: Path, server: tuple[Handler, int]
) -> None:
    handler, _ = server
    handler.messages.clear()
    before = len(_log(root))
    assert _send(root, "--dry-run", "--resend") == 0
    assert handler.messages == []
    assert len(_log(root)) == before
    outbox = root / "output" / PERIOD / "outbox"
    files = sorted(outbox.glob("*.eml"))
    assert [f.name for f in files] == [
        "board_example.com.eml",
        "ent_example.com.eml",
        "eu_example.com.eml",
    ]
    msg = email.message_from_bytes(files[1].read_bytes(), policy=policy.default)
    assert msg["To"] == "Eve Ent <ent@example.com>"
    assert _attachments(msg)[_name("ent")] == _pdf(root, "ent").read_bytes()  # type: ignore[arg-type]
    assert PASSWORD.encode() not in b"".join(f.read_bytes() for f in files)


def test_send_is_refused_when_the_gate_failed_or_packs_are_stale(root: Path) -> None:
    out = root / "output" / PERIOD
    report = out / "quality" / "report.json"
    saved = report.read_text(encoding="utf-8")
    data = json.loads(saved)
    data["gate"].update(passed=False, accepted=False)
    report.write_text(json.dumps(data), encoding="utf-8")
    try:
        assert _send(root, "--dry-run") == 2
    finally:
        report.write_text(saved, encoding="utf-8")
    card = out / "scorecard.parquet"
    stat = card.stat()
    pdf_time = _pdf(root, "ent").stat().st_mtime
    os.utime(card, (stat.st_atime, pdf_time + 60))
    try:
        with pytest.raises(Exception, match="older than"):
            deliver.send(load_project(root / "reportlib.toml"), PERIOD, dry_run=True)
    finally:
        os.utime(card, (stat.st_atime, stat.st_mtime))
    # ent/us is a node of the scorecard whose pack was not rendered.
    path = root / "data" / "distribution.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "  - {name: U, email: us@example.com, nodes: [ent/us]}\n")
    try:
        assert _send(root, "--dry-run", "--only", "us@example.com") == 1
    finally:
        path.write_text(original, encoding="utf-8")
    shutil.rmtree(out / "outbox", ignore_errors=True)


def test_escalations_go_to_each_kpi_owner_once(root: Path, server: tuple[Handler, int]) -> None:
    handler, _ = server
    handler.messages.clear()
    project = load_project(root / "reportlib.toml")
    owners, _ = deliver.escalation_lists(project, PERIOD, deliver.load_distribution(project, NODES))
    assert owners
    assert _send(root, "--escalations") == 0
    arrived = handler.arrived()
    assert sorted(arrived) == sorted(owners)
    for address, items in owners.items():
        (msg,) = arrived[address]
        body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert all(i["kpi_name"] in body for i in items)
        assert not list(msg.iter_attachments())
    handler.messages.clear()
    assert _send(root, "--escalations") == 0
    assert handler.messages == []
