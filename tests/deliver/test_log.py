"""The delivery log: the exact lines it writes, what it reads back, and a torn or broken line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from reportlib.deliver.inventory import Attachment
from reportlib.deliver.log import DeliveryLog, LogEntry, SmtpReply

T = "2026-04-01T09:00:00.000+00:00"
PDF = Attachment("ent/eu", "board-pack-ent-eu.pdf", "ab" * 32, 1234)


def _attempt(recipient: str, outcome: str = "sent", sha: str = "ab" * 32, **kw: object) -> LogEntry:
    attachment = Attachment("ent/eu", "board-pack-ent-eu.pdf", sha, 1234)
    fields: dict = dict(
        time=T,
        period="2026-03",
        recipient=recipient,
        outcome=outcome,
        attachments=(attachment,),
        message_id="<1@example.com>",
        smtp_reply=SmtpReply(250, "OK"),
        attempt=1,
        part=1,
        parts=1,
    )
    fields.update(kw)
    return LogEntry(**fields)


def test_each_kind_of_line_has_exactly_its_fields() -> None:
    """A pack attempt, a refused pack and an escalation attempt, as `send` has always logged them."""
    attempt = _attempt("eu@example.com", part=2, parts=3, smtp_reply=SmtpReply(451, "later"))
    assert json.loads(attempt.to_json()) == {
        "time": T,
        "period": "2026-03",
        "recipient": "eu@example.com",
        "part": 2,
        "parts": 3,
        "attachments": [
            {"node": "ent/eu", "file": "board-pack-ent-eu.pdf", "sha256": "ab" * 32, "size": 1234}
        ],
        "message_id": "<1@example.com>",
        "attempt": 1,
        "smtp_reply": {"code": 451, "text": "later"},
        "outcome": "sent",
    }
    refusal = LogEntry(
        time=T,
        period="2026-03",
        recipient="eu@example.com",
        outcome="failed",
        attachments=(PDF,),
        message_id=None,
        smtp_reply=None,
        reason="too big",
    )
    assert sorted(json.loads(refusal.to_json())) == [
        "attachments",
        "message_id",
        "outcome",
        "period",
        "reason",
        "recipient",
        "smtp_reply",
        "time",
    ]
    assert json.loads(refusal.to_json())["smtp_reply"] is None
    escalation = LogEntry(
        time=T,
        period="2026-03",
        recipient="cfo@example.com",
        outcome="failed",
        attachments=(),
        message_id="<2@example.com>",
        smtp_reply=SmtpReply(None, "ConnectionRefusedError: nobody there"),
        attempt=4,
        kind="escalation",
        escalations=("all:nps:3", "ent:nps:4"),
    )
    assert json.loads(escalation.to_json()) == {
        "time": T,
        "period": "2026-03",
        "kind": "escalation",
        "recipient": "cfo@example.com",
        "attachments": [],
        "escalations": ["all:nps:3", "ent:nps:4"],
        "message_id": "<2@example.com>",
        "attempt": 4,
        "smtp_reply": {"code": None, "text": "ConnectionRefusedError: nobody there"},
        "outcome": "failed",
    }
    # One line each, keys sorted (a diff of two logs lines up).
    line = attempt.to_json()
    assert "\n" not in line and line == json.dumps(json.loads(line), sort_keys=True)


def test_delivered_is_the_latest_sent_hash_per_recipient_and_node(tmp_path: Path) -> None:
    log = DeliveryLog(tmp_path / "2026-03" / "deliveries.jsonl")
    assert log.entries() == [] and log.delivered() == {}
    log.append(_attempt("Eu@Example.com", sha="1" * 64))
    log.append(_attempt("eu@example.com", sha="2" * 64))
    log.append(_attempt("eu@example.com", outcome="failed", sha="3" * 64))
    log.append(_attempt("ent@example.com", outcome="retry"))
    log.append(
        _attempt("cfo@example.com", kind="escalation", escalations=("all:nps:3",), part=None)
    )
    assert len(log.entries()) == 5
    assert log.delivered() == {"eu@example.com": {"ent/eu": "2" * 64}}
    assert log.escalations_sent() == {"cfo@example.com": ("all:nps:3",)}


def test_a_torn_line_is_skipped_and_the_next_entry_starts_fresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = DeliveryLog(tmp_path / "deliveries.jsonl")
    log.append(_attempt("a@example.com"))
    with log.path.open("a", encoding="utf-8") as fh:
        fh.write('{"time": "2026-04-01T09:0')  # a crash in the middle of a line
    log.append(_attempt("b@example.com"))
    with caplog.at_level(logging.WARNING):
        entries = log.entries()
    assert [e["recipient"] for e in entries] == ["a@example.com", "b@example.com"]
    assert "line 2 is not JSON: ignored" in caplog.text
    assert len(log.path.read_text(encoding="utf-8").splitlines()) == 3
