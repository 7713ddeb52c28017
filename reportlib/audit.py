"""The append-only audit log `output/audit.jsonl`, a sha256 hash chain (DOMAIN.md §8 Governance).

Each line is one JSON entry: who, when, what, period/node/kpi, old and new value,
why; `prev_hash` is the sha256 of the previous line's bytes ("0"*64 for the first)
and `hash` the sha256 of the entry itself without `hash`. A content `key` makes
re-running with identical inputs append nothing.

A chain alone cannot tell a log cut at its end, emptied or deleted from a short one, so
its end is anchored outside it: the entry count and the last line's hash are kept in a
head file (`layout.OutputRoot.audit_head`, rewritten under the append's lock) and in each
period's manifest at its compute. `verify` checks the log against both. With
`REPORTLIB_AUDIT_KEY` set, every entry and the head carry an HMAC-SHA256, so a chain
rewritten and re-hashed by someone without the key is detected too; without a key,
someone who can write the files can rewrite log and head together (the manifests'
anchors still catch a log that no longer holds what they recorded).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import fileio
from .errors import AuditError
from .layout import OutputRoot

GENESIS = "0" * 64
KEY_FIELDS = ("what", "period", "node", "kpi", "old", "new", "who", "why")
KEY_ENV = "REPORTLIB_AUDIT_KEY"
"""The environment variable holding the secret the entries' HMACs are made with."""


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
    """The outcome of `verify`: entries checked, the first problem (None if intact) and its line."""

    entries: int
    broken_line: int | None = None
    problem: str | None = None
    keyed: bool = False
    """True when the HMACs were checked (a key was given)."""

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Anchor:
    """Where the log ended: how many entries, the sha256 of the last line and, with a key, an HMAC."""

    entries: int
    last_hash: str = GENESIS
    mac: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"entries": self.entries, "last_hash": self.last_hash, "hmac": self.mac}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Anchor:
        mac = data.get("hmac")
        return cls(int(data["entries"]), str(data["last_hash"]), str(mac) if mac else None)

    def signed(self, key: bytes | None) -> Anchor:
        """This anchor with its HMAC made with `key` (none without a key)."""
        return Anchor(self.entries, self.last_hash, _mac(key, self._text()) if key else None)

    def _text(self) -> str:
        return f"{self.entries}:{self.last_hash}"

    def mac_ok(self, key: bytes) -> bool:
        return self.mac is not None and hmac.compare_digest(self.mac, _mac(key, self._text()))


def path(output_dir: Path) -> Path:
    """The audit log of an output folder (`layout.OutputRoot.audit_log`)."""
    return OutputRoot(output_dir).audit_log


def head_path(log: Path) -> Path:
    """The head file beside `log` (`layout.OutputRoot.audit_head`)."""
    return OutputRoot(log.parent).audit_head


def secret() -> bytes | None:
    """The HMAC key from $REPORTLIB_AUDIT_KEY, or None when it is not set."""
    value = os.environ.get(KEY_ENV)
    return value.encode("utf-8") if value else None


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _entry_mac(key: bytes, entry: Mapping[str, Any]) -> str:
    """HMAC-SHA256 of the canonical entry without its `hash` and `hmac`."""
    return _mac(key, _canonical({k: v for k, v in entry.items() if k not in ("hash", "hmac")}))


def read_head(log: Path) -> Anchor | None:
    """The head recorded beside `log`, or None when there is none.

    An unreadable head is an AuditError: it is part of the record.
    """
    head = head_path(log)
    if not head.is_file():
        return None
    try:
        return Anchor.from_json(json.loads(head.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as e:
        raise AuditError(f"{head} is not a valid audit head ({e})", file=str(head)) from None


def anchor_of(lines: Sequence[bytes], key: bytes | None = None) -> Anchor:
    """The anchor of a log made of `lines` (non-blank lines, in order)."""
    return Anchor(len(lines), _sha(lines[-1]) if lines else GENESIS).signed(key)


def current_anchor(log: Path) -> Anchor:
    """The anchor of the log as it is on disk (for the period manifest after a compute)."""
    return anchor_of(_lines(log), secret())


def _lines(log: Path) -> list[bytes]:
    if not log.is_file():
        return []
    return [ln for ln in log.read_bytes().splitlines() if ln.strip()]


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


def append(
    log: Path, events: Iterable[Event], *, now: datetime | None = None, key: bytes | None = None
) -> int:
    """Append events not yet in the log (durably, under a lock); returns how many.

    The lock is held from reading the log (its keys and last line) to the fsync of the new
    lines and the rewrite of the head, so two processes cannot fork the hash chain. A log
    that no longer reaches its head (cut, emptied, deleted) is refused with AuditError
    rather than continued or restarted: restore it first. `key` (default
    $REPORTLIB_AUDIT_KEY) signs each new entry and the head.
    """
    events = list(events)
    if not events and (head_path(log).is_file() or not log.is_file()):
        return 0  # nothing to add, and nothing to anchor (a log from before heads gets its head)
    key = key if key is not None else secret()
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    head = head_path(log)
    after: list[Anchor] = []

    def new_lines(lines: list[bytes]) -> list[str]:
        recorded = read_head(log)
        if recorded is not None:
            _refuse_short(log, lines, recorded)
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
            if key:
                entry["hmac"] = _entry_mac(key, entry)
            entry["hash"] = _entry_hash(entry)
            line = _canonical(entry)
            added.append(line)
            keys.add(e.key)
            prev = _sha(line)
        all_lines = [*lines, *(a.encode("utf-8") for a in added)]
        after.append(anchor_of(all_lines, key))
        return added

    def write_head() -> None:
        fileio.write_text(head, json.dumps(after[-1].to_json(), sort_keys=True) + "\n")

    return fileio.append_lines_locked(log, new_lines, then=write_head)


def _refuse_short(log: Path, lines: Sequence[bytes], recorded: Anchor) -> None:
    """AuditError when the log does not reach the head recorded for it."""
    n = recorded.entries
    if len(lines) < n or (n and _sha(lines[n - 1]) != recorded.last_hash):
        raise AuditError(
            f"{log} does not hold the {n} entries its head records (it has {len(lines)}): "
            "it was cut, emptied, deleted or rewritten; restore it before recording more "
            "(see `reportlib audit verify`)",
            file=str(log),
        )


def read(log: Path) -> list[dict[str, Any]]:
    """Every entry of the log, in order (an empty list when there is no log)."""
    if not log.is_file():
        return []
    return [json.loads(ln) for ln in log.read_bytes().splitlines() if ln.strip()]


def verify(
    log: Path,
    *,
    anchors: Mapping[str, Anchor] | None = None,
    key: bytes | None = None,
    require_head: bool = True,
) -> Verified:
    """Recompute the chain, then check its end against the head and the manifests' `anchors`.

    The first problem is reported: a line whose content or link does not match (its number),
    an HMAC that does not match when `key` is given, a log shorter than its head or than an
    anchor (cut, emptied, deleted), or a last entry other than the recorded one (rewritten or
    restarted). `anchors` are labelled, e.g. {"2026-03 manifest": Anchor(...)}. A log
    without a head (written before heads existed) is a problem unless `require_head` is
    False, as for the check before a compute, whose append then writes the head.
    """
    prev = GENESIS
    lines = log.read_bytes().splitlines() if log.is_file() else []
    count = 0
    keyed = key is not None
    for i, raw in enumerate(lines, start=1):
        if not raw.strip():
            return Verified(count, i, "empty line", keyed)
        try:
            entry = json.loads(raw)
        except ValueError:
            return Verified(count, i, "not valid JSON", keyed)
        if not isinstance(entry, dict):
            return Verified(count, i, "not a JSON object", keyed)
        if entry.get("prev_hash") != prev:
            return Verified(count, i, "prev_hash does not match the previous line", keyed)
        if entry.get("hash") != _entry_hash(entry):
            return Verified(count, i, "hash does not match the entry's content", keyed)
        if key is not None:
            mac = entry.get("hmac")
            if not mac:
                return Verified(count, i, f"no HMAC although {KEY_ENV} is set", keyed)
            if not hmac.compare_digest(str(mac), _entry_mac(key, entry)):
                return Verified(count, i, "HMAC does not match: the entry was forged", keyed)
        prev = _sha(raw)
        count += 1
    kept = [ln for ln in lines if ln.strip()]
    recorded = read_head(log)
    checks = dict(anchors or {})
    if recorded is not None:
        if key is not None and not recorded.mac_ok(key):
            return Verified(count, None, "the head's HMAC does not match: it was forged", keyed)
        checks = {"its head": recorded, **checks}
    elif count and require_head:
        return Verified(
            count, None, f"no head file {head_path(log).name}: its end is not anchored", keyed
        )
    for label, anchor in checks.items():
        problem = _anchor_problem(
            kept, anchor, label, exact=label == "its head", missing=not log.is_file()
        )
        if problem is not None:
            return Verified(count, None, problem, keyed)
    return Verified(count, None, None, keyed)


def _anchor_problem(
    lines: Sequence[bytes], anchor: Anchor, label: str, *, exact: bool, missing: bool
) -> str | None:
    """What is wrong with `lines` against `anchor` (None if they agree).

    The head must match the log's end exactly; a manifest's anchor (the log after a compute)
    must be a prefix of it, since entries are only ever added after it.
    """
    n = anchor.entries
    records = f"{label} records {n} entr{'y' if n == 1 else 'ies'}, the log has {len(lines)}"
    if len(lines) < n:
        how = "deleted" if missing else "emptied" if not lines else "cut at its end"
        return f"{records}: it was {how}"
    if exact and len(lines) > n:
        return f"{records}: lines were added behind its back"
    if n and _sha(lines[n - 1]) != anchor.last_hash:
        return f"entry {n} is not the one {label} records: the chain was rewritten or restarted"
    return None


def check(
    log: Path,
    *,
    anchors: Mapping[str, Anchor] | None = None,
    key: bytes | None = None,
    require_head: bool = True,
) -> int:
    """`reportlib audit verify`: the number of entries, or AuditError naming the problem."""
    v = verify(log, anchors=anchors, key=key, require_head=require_head)
    if v.problem is not None:
        where = f"line {v.broken_line}: " if v.broken_line is not None else ""
        raise AuditError(
            f"{log} {where}{v.problem}; the audit log has been altered",
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
