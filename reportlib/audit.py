"""The append-only audit log `output/audit.jsonl`, a sha256 hash chain (DOMAIN.md §8 Governance).

Each line is one JSON entry: who, when, what, period/node/kpi, old and new value,
why; `prev_hash` is the sha256 of the previous line's bytes ("0"*64 for the first)
and `hash` the sha256 of the entry itself without `hash`. A content `key` makes
re-running with identical inputs append nothing.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import fileio
from .errors import AuditError
from .layout import OutputRoot

GENESIS = "0" * 64
KEY_FIELDS = ("what", "period", "node", "kpi", "old", "new", "who", "why")


@dataclass(frozen=True)
class Event:
    """One thing to record: a manual value, a quality-gate override, a send (DOMAIN.md §8)."""

    what: str
    who: str
    why: str
    period: str | None = None
    node: str | None = None
    kpi: str | None = None
    old: Any = None
    new: Any = None

    def fields(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "period": self.period,
            "node": self.node,
            "kpi": self.kpi,
            "old": self.old,
            "new": self.new,
            "who": self.who,
            "why": self.why,
        }

    @property
    def key(self) -> str:
        """Content key for deduplication: the same event recorded twice is one entry."""
        return _sha(_canonical(self.fields()))


@dataclass(frozen=True)
class Verified:
    """The outcome of `verify`: entries checked and the first broken line (None if intact)."""

    entries: int
    broken_line: int | None = None
    problem: str | None = None


def path(output_dir: Path) -> Path:
    """The audit log of an output folder (`layout.OutputRoot.audit_log`)."""
    return OutputRoot(output_dir).audit_log


def current_user() -> str:
    """$USER (or the login name) for events with no author of their own."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _canonical(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _entry_hash(entry: dict[str, Any]) -> str:
    return _sha(_canonical({k: v for k, v in entry.items() if k != "hash"}))


def append(log: Path, events: Iterable[Event], *, now: datetime | None = None) -> int:
    """Append events not yet in the log (durably, under a lock); returns how many.

    The lock is held from reading the log (its keys and last line) to the fsync of the new
    lines, so two processes cannot fork the hash chain.
    """
    events = list(events)
    if not events:
        return 0
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")

    def new_lines(lines: list[bytes]) -> list[str]:
        keys: set[str] = set()
        for ln in lines:
            try:
                keys.add(str(json.loads(ln).get("key")))
            except (ValueError, AttributeError):
                continue
        prev = _sha(lines[-1]) if lines else GENESIS
        added: list[str] = []
        for e in events:
            if e.key in keys:
                continue
            entry: dict[str, Any] = {"when": when, **e.fields(), "key": e.key, "prev_hash": prev}
            entry["hash"] = _entry_hash(entry)
            line = _canonical(entry)
            added.append(line)
            keys.add(e.key)
            prev = _sha(line)
        return added

    return fileio.append_lines_locked(log, new_lines)


def read(log: Path) -> list[dict[str, Any]]:
    """Every entry of the log, in order (an empty list when there is no log)."""
    if not log.is_file():
        return []
    return [json.loads(ln) for ln in log.read_bytes().splitlines() if ln.strip()]


def verify(log: Path) -> Verified:
    """Recompute the chain; the first line whose content or link does not match is reported."""
    if not log.is_file():
        return Verified(0)
    prev = GENESIS
    lines = log.read_bytes().splitlines()
    count = 0
    for i, raw in enumerate(lines, start=1):
        if not raw.strip():
            return Verified(count, i, "empty line")
        try:
            entry = json.loads(raw)
        except ValueError:
            return Verified(count, i, "not valid JSON")
        if not isinstance(entry, dict):
            return Verified(count, i, "not a JSON object")
        if entry.get("prev_hash") != prev:
            return Verified(count, i, "prev_hash does not match the previous line")
        if entry.get("hash") != _entry_hash(entry):
            return Verified(count, i, "hash does not match the entry's content")
        prev = _sha(raw)
        count += 1
    return Verified(count)


def check(log: Path) -> int:
    """`reportlib audit verify`: the number of entries, or AuditError naming the first broken line."""
    v = verify(log)
    if v.broken_line is not None:
        raise AuditError(
            f"{log} line {v.broken_line}: {v.problem}; the audit log has been altered",
            file=str(log),
            line=v.broken_line,
        )
    return v.entries


def override_events(overrides: Sequence[Any]) -> list[Event]:
    """Manual values applied to the scorecard (scorecard.Override), computed value beside new."""
    return [
        Event(
            what="manual_value" if o.computed_value is None else "override",
            who=o.author,
            why=o.reason,
            period=o.period,
            node=o.node,
            kpi=o.kpi,
            old=o.computed_value,
            new=o.value,
        )
        for o in overrides
    ]


def quality_events(report: dict[str, Any] | None, who: str | None = None) -> list[Event]:
    """A quality gate that failed but was accepted with --accept-quality (DOMAIN.md §7, §8)."""
    gate = (report or {}).get("gate") or {}
    if not gate.get("accepted") or gate.get("passed"):
        return []
    return [
        Event(
            what="quality_override",
            who=who or current_user(),
            why=str(gate.get("reason") or ""),
            period=report.get("period") if report else None,
            old="failed",
            new="accepted",
        )
    ]
