"""Actions on escalated KPIs: what the owner is doing about a red streak, by when (DOMAIN.md §8).

A node's commentary front matter may carry a list of actions:

    actions:
      - kpi: csat
        action: Call back every detractor within two days
        owner: Dana Reyes
        due: 2026-04-30
        status: open        # open, done or dropped

`parse` checks that list (one clear line naming the file, the action's number and the
field for any mistake) and returns frozen `Action` records; the rest are plain functions
the pack uses: which actions are overdue at the data cut-off, and how many are open.

Overdue means open and due before the *reference day*: the day of the data cut-off in
the project's time zone (the pack describes that snapshot, and a pack rebuilt later must
say the same thing), or the day after the period when no cut-off was recorded.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from .errors import ConfigError

log = logging.getLogger(__name__)

ActionStatus = Literal["open", "done", "dropped"]
STATUSES: tuple[ActionStatus, ...] = ("open", "done", "dropped")
FIELDS = ("kpi", "action", "owner", "due", "status")
"""Every action needs all of these."""

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Action:
    """One action on a KPI, as written in a node's commentary front matter."""

    kpi: str
    action: str
    owner: str
    due: date
    status: ActionStatus

    def overdue(self, on: date) -> bool:
        """Still open and due before `on` (the reference day, see the module docstring)."""
        return self.status == "open" and self.due < on


def _where(source: Path | str, index: int, total: int, field: str | None = None) -> str:
    at = f"{source}: action {index + 1} of {total}"
    return f"{at}, field '{field}'" if field else at


def _due(value: object) -> date | None:
    """A YAML date (`2026-04-30` unquoted) or the same written as a string; None otherwise."""
    if isinstance(value, datetime):
        return None  # a time of day is not a due date
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DAY.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _one(
    item: object, index: int, total: int, kpi_ids: Collection[str], source: Path | str
) -> Action:
    if not isinstance(item, dict):
        raise ConfigError(
            f"{_where(source, index, total)}: must be a mapping with the fields "
            + ", ".join(FIELDS)
        )
    unknown = sorted(str(k) for k in item if k not in FIELDS)
    if unknown:
        raise ConfigError(
            f"{_where(source, index, total, unknown[0])}: unknown field "
            f"(an action has {', '.join(FIELDS)})"
        )
    for name in FIELDS:
        value = item.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ConfigError(f"{_where(source, index, total, name)}: missing")
    kpi = str(item["kpi"]).strip()
    if kpi not in kpi_ids:
        close = difflib.get_close_matches(kpi, list(kpi_ids), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{_where(source, index, total, 'kpi')}: '{kpi}' is not a KPI id{hint}")
    due = _due(item["due"])
    if due is None:
        raise ConfigError(
            f"{_where(source, index, total, 'due')}: '{item['due']}' is not a date "
            "in the form YYYY-MM-DD"
        )
    status = str(item["status"]).strip().lower()
    if status not in STATUSES:
        raise ConfigError(
            f"{_where(source, index, total, 'status')}: '{item['status']}' is not one of "
            + ", ".join(STATUSES)
        )
    for name in ("action", "owner"):
        if not isinstance(item[name], str):
            raise ConfigError(f"{_where(source, index, total, name)}: must be text")
    return Action(
        kpi=kpi,
        action=" ".join(item["action"].split()),
        owner=" ".join(item["owner"].split()),
        due=due,
        status=status,
    )


def parse(raw: object, kpi_ids: Collection[str], source: Path | str) -> tuple[Action, ...]:
    """The `actions:` of a front matter, checked; ConfigError naming file, action and field.

    An absent or empty `actions:` (the draft's skeleton) is no action at all.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(
            f"{source}: front matter 'actions' must be a list of actions "
            f"(each with {', '.join(FIELDS)})"
        )
    return tuple(_one(item, i, len(raw), kpi_ids, source) for i, item in enumerate(raw))


def reference_day(cut_off: datetime | None, first_day_after: date) -> date:
    """The day overdue is judged on: the cut-off's day (in the project zone), else the day
    after the period (`first_day_after`)."""
    return cut_off.date() if cut_off is not None else first_day_after


def of_kpi(actions: Iterable[Action], kpi: str) -> tuple[Action, ...]:
    """The actions on one KPI, in the order written."""
    return tuple(a for a in actions if a.kpi == kpi)


@dataclass(frozen=True)
class Tally:
    """Open and overdue actions, and escalated KPIs without any action."""

    open: int = 0
    overdue: int = 0
    without: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.open + other.open, self.overdue + other.overdue, self.without + other.without
        )


def tally(actions: Iterable[Action], on: date) -> Tally:
    """The actions of ONE escalated KPI: how many are open, how many of those are overdue on
    `on`, and `without` 1 when there is none at all (sum the tallies over the KPIs)."""
    listed = tuple(actions)
    return Tally(
        open=sum(a.status == "open" for a in listed),
        overdue=sum(a.overdue(on) for a in listed),
        without=0 if listed else 1,
    )


def tally_text(t: Tally) -> str:
    """`4 open actions, 1 overdue`, `no open action`; `2 escalated KPIs without an action` added."""
    parts = [f"{t.open} open action{'s' if t.open != 1 else ''}" if t.open else "no open action"]
    if t.overdue:
        parts.append(f"{t.overdue} overdue")
    if t.without:
        parts.append(f"{t.without} escalated KPI{'s' if t.without != 1 else ''} without an action")
    return ", ".join(parts)
