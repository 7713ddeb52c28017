"""The delivery log `output/<period>/deliveries.jsonl`: one JSON line per SMTP attempt or refusal.

The log is what makes `send` safe to re-run: a pack is skipped for a recipient once it was
sent with the same sha256, and an owner's escalation list once it was sent unchanged.
Each attempt writes an `intent` line just before the message body is handed over, then
its outcome (`sent`, `retry`, `failed` or `unknown`). A message whose last line is an
intent (the process died mid-DATA) or `unknown` may have been received: it is not sent
again without `--resend`. The log is only ever appended to (durably, each line on a line
of its own); a line that cannot be read (torn by a crash) is kept, and skipped with a
warning naming it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .. import fileio
from ..errors import DeliveryError
from .inventory import Attachment

log = logging.getLogger(__name__)

AttemptOutcome = Literal["intent", "sent", "retry", "failed", "unknown"]
"""A line's state: about to hand the body over, delivered, failed for now (retried), failed
for good, or handed over without a reply (the server may have it)."""

PENDING = ("intent", "unknown")
"""A message whose last line is one of these may have been received."""

_OMITTED_WHEN_NONE = ("attempt", "part", "parts", "kind", "escalations", "reason")
"""Fields a log line leaves out when they do not apply (a refusal has no attempt, ...)."""


def now() -> str:
    """The time stamp of a log line: UTC, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class SmtpReply:
    """The server's answer as logged (code None when there was none: a connection error)."""

    code: int | None
    text: str


@dataclass(frozen=True)
class LogEntry:
    """One line of the delivery log."""

    time: str
    period: str
    recipient: str
    outcome: AttemptOutcome
    attachments: tuple[Attachment, ...]
    message_id: str | None
    smtp_reply: SmtpReply | None
    attempt: int | None = None
    part: int | None = None
    parts: int | None = None
    kind: Literal["escalation"] | None = None
    escalations: tuple[str, ...] | None = None
    """The escalation keys (`node:kpi:streak`) an escalation email listed."""
    reason: str | None = None
    """Why a pack was refused without an attempt (over the attachment limit)."""

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        for name in _OMITTED_WHEN_NONE:
            if data[name] is None:
                del data[name]
        return json.dumps(data, sort_keys=True, default=str)


@dataclass(frozen=True)
class DeliveryLog:
    """The delivery log of one period."""

    path: Path

    def append(self, entry: LogEntry) -> None:
        """Add one line, flushed to disk before returning."""
        fileio.append_line(self.path, entry.to_json())

    def check_writable(self) -> None:
        """Raise LogNotWritable unless a line can be appended now (checked before sending)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab"):
                pass
        except OSError as e:
            raise LogNotWritable(
                f"{self.path}: cannot write the delivery log ({e.strerror or e}): nothing sent",
                file=str(self.path),
            ) from e

    def entries(self) -> list[dict[str, Any]]:
        """Every entry as written; an unreadable line is skipped with a warning."""
        if not self.path.is_file():
            return []
        out = []
        text = self.path.read_bytes().decode("utf-8", "replace")
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                log.warning(
                    "%s line %d is not JSON: ignored (kept in the file; torn by a crash?)",
                    self.path,
                    i,
                )
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def delivered(self) -> dict[str, dict[str, str]]:
        """`{recipient (lower case): {node: sha256}}` of packs delivered, the latest winning."""
        out: dict[str, dict[str, str]] = {}
        for e in self.entries():
            if e.get("outcome") != "sent" or e.get("kind") == "escalation":
                continue
            mine = out.setdefault(str(e.get("recipient", "")).lower(), {})
            for a in e.get("attachments") or ():
                mine[str(a.get("node"))] = str(a.get("sha256"))
        return out

    def escalations_sent(self) -> dict[str, tuple[str, ...]]:
        """`{owner address (lower case): escalation keys}` of the last escalation email sent to each."""
        return {
            str(e.get("recipient", "")).lower(): tuple(e.get("escalations") or ())
            for e in self.entries()
            if e.get("kind") == "escalation" and e.get("outcome") == "sent"
        }

    def pending(self) -> list[dict[str, Any]]:
        """The last line of each message that may have been received (its last line is an
        intent or `unknown`), oldest first: these are not sent again without `--resend`."""
        last: dict[str, dict[str, Any]] = {}
        for e in self.entries():
            mid = e.get("message_id")
            if mid and e.get("outcome") in (*PENDING, "sent", "retry", "failed"):
                last[str(mid)] = e
        return [e for e in last.values() if e.get("outcome") in PENDING]


class LogNotWritable(DeliveryError):
    """The delivery log cannot be appended to, so nothing may be sent."""

    exit_code = 2
