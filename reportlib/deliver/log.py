"""The delivery log `output/<period>/deliveries.jsonl`: one JSON line per SMTP attempt or refusal.

The log is what makes `send` safe to re-run: a pack is skipped for a recipient once it was
sent with the same sha256, and an owner's escalation list once it was sent unchanged. It
is only ever appended to (durably); a line that cannot be read is skipped with a warning.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .. import fileio
from .inventory import Attachment

log = logging.getLogger(__name__)

AttemptOutcome = Literal["sent", "retry", "failed"]
"""One attempt's outcome: delivered, failed for now (retried), or failed for good."""

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

    def entries(self) -> list[dict[str, Any]]:
        """Every entry as written; an unreadable line is skipped with a warning."""
        if not self.path.is_file():
            return []
        out = []
        for i, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                entry = json.loads(line)
            except ValueError:
                log.warning("%s line %d is not JSON: ignored", self.path, i)
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
