"""Actions on escalated KPIs as the pack prints them: a list under each escalation, a count
for the escalations of the nodes below, and a line in the executive summary (DOMAIN.md §8).

`actions` reads and checks them; here they are only formatted, against the reference day
(`views.action_day`: the day of the data cut-off) that decides which are overdue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from .. import actions as act
from ..commentary import KpiActions
from ..formatting import day_text, period_name
from .records import ActionsView, ActionView

NONE = "No action recorded"
"""What an escalated KPI without any action says, on the page and in the count."""

NO_OPEN = "No open action"
"""What an escalated KPI says whose actions are all done or dropped while it is still red."""


def action_view(a: act.Action, on: date, locale: str) -> ActionView:
    return ActionView(
        action=a.action,
        owner=a.owner,
        due=day_text(a.due.isoformat(), locale),
        status=a.status.capitalize(),
        status_id=a.status,
        overdue=a.overdue(on),
    )


def count_text(listed: Iterable[act.Action], on: date) -> str:
    """`2 open, 1 overdue`; `none open (1 done)`; `No action recorded` when there is none."""
    items = tuple(listed)
    if not items:
        return NONE
    t = act.tally(items, on)
    if not t.open:
        closed = len(items)
        return f"none open ({closed} closed)"
    return f"{t.open} open" + (f", {t.overdue} overdue" if t.overdue else "")


def actions_view(
    found: KpiActions | None, period: str, on: date, locale: str, *, escalated: bool
) -> ActionsView:
    """The actions on one KPI; an escalated KPI without any says `No action recorded`."""
    listed = () if found is None else found.actions
    source = ""
    if found is not None:
        source = (
            "Actions"
            if found.period == period
            else f"Actions recorded in {period_name(found.period, locale)}"
        )
    none = ""
    if escalated and not listed:
        none = NONE
    elif escalated and not any(a.status == "open" for a in listed):
        none = NO_OPEN
    return ActionsView(
        items=tuple(action_view(a, on, locale) for a in listed),
        source=source,
        none=none,
        count=count_text(listed, on),
    )


def total(found: Iterable[KpiActions | None], on: date) -> act.Tally:
    """Open and overdue actions over some escalated KPIs, and how many have none."""
    out = act.Tally()
    for f in found:
        out = out + act.tally(() if f is None else f.actions, on)
    return out
