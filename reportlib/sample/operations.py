"""Support tickets and invoices of the sample.

Tickets follow the process story (`company.effects`, plus the branch's own quality in a
three-level sample): slower answers, more contacts and reopenings where it is worse.
Invoices are one per active customer per month on its billing day, with a few credit
notes. Both carry planted bad rows, one quality rule each (DOMAIN.md §7).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import dates, format_ids, id_width, labels, timestamps
from .company import DAY, HOUR, Built, Customers, Ids, Window, active
from .customers import month_start_day
from .surveys import assign_ids, disjoint, maybe_alias

# Tickets.
_TICKET_CHANNELS = ("email", "phone", "chat")
_TICKET_CHANNEL_MIX = np.array([0.50, 0.20, 0.30])
_TICKET_SEGMENT_RATE = np.array([2.0, 1.3, 0.7]) / 1.01  # per customer, relative
_PRIORITIES = ("p1", "p2", "p3", "p4")
_SLA_HOURS = np.array([1, 4, 8, 24])
_PRIORITY_MIX = np.array(
    [[0.10, 0.25, 0.40, 0.25], [0.05, 0.18, 0.42, 0.35], [0.03, 0.12, 0.40, 0.45]]
)
_RESOLUTION_MEDIAN_HOURS = np.array([2.0, 8.0, 24.0, 48.0])
_TICKET_VOLUME = np.array([1.15, 1.05, 1, 1, 1, 0.95, 0.95, 0.9, 1, 1, 1, 0.85])

# Revenue: monthly invoice amounts by segment (lognormal median, sigma).
_AMOUNT_MEDIAN = np.array([18_000.0, 2_500.0, 250.0])
_AMOUNT_SIGMA = np.array([0.5, 0.5, 0.6])
_AMOUNT_DRIFT = np.array([0.004, 0.002, 0.0])  # per month

# Share of each table planted per rule (DOMAIN.md §7).
_PLANT_TICKETS = {"duplicate_id": 0.005, "unknown_customer": 0.004, "time_order": 0.005}
_PLANT_REVENUE = {"duplicate_id": 0.006, "unknown_customer": 0.005}


def tickets(
    rng: np.random.Generator,
    cust: Customers,
    ids: Ids,
    win: Window,
    rate: float,
    effects: np.ndarray,
) -> Built:
    """Tickets, including the first hours of the next month up to the extraction."""
    cal = win.calendar
    parts_c: list[np.ndarray] = []
    parts_t: list[np.ndarray] = []
    parts_m: list[np.ndarray] = []
    for m in range(win.months + 1):
        start = int(win.starts[m])
        stop = int(win.starts[m + 1]) if m < win.months else win.cutoff
        length = int(win.starts[m + 1] - win.starts[m])
        act, lo, hi = active(cust, start, stop)
        volume = _TICKET_VOLUME[cal[m] if m < win.months else (cal[-1] + 1) % 12]
        lam = rate * volume * _TICKET_SEGMENT_RATE[cust.seg[act]] * (hi - lo) / length
        k = rng.poisson(lam)
        if m == win.months and k.sum() < 3:  # make sure the extraction hours hold tickets
            k[rng.choice(act.size, 3, replace=False, p=lam / lam.sum())] += 1
        c = np.repeat(act, k)
        opened = np.repeat(lo, k) + np.floor(rng.random(c.size) * np.repeat(hi - lo, k)).astype(
            np.int64
        )
        parts_c.append(c)
        parts_t.append(opened)
        parts_m.append(np.full(c.size, min(m, win.months - 1), dtype=np.int16))
    c, opened, month = np.concatenate(parts_c), np.concatenate(parts_t), np.concatenate(parts_m)
    order = np.lexsort((c, opened))
    c, opened, month = c[order], opened[order], month[order]
    n = c.size

    effect = effects[cust.cell[c], month]
    if cust.process_shift is not None:
        effect = effect + cust.process_shift[c]
    seg = cust.seg[c]
    cum = np.cumsum(_PRIORITY_MIX, axis=1)[seg]
    priority = (rng.random(n)[:, None] > cum[:, :-1]).sum(axis=1).astype(np.int8)
    sla = _SLA_HOURS[priority]
    slow = np.exp(-0.35 * effect)
    first_h = rng.lognormal(np.log(0.3 * sla * slow), 0.9)
    first = opened + np.maximum(60, np.rint(first_h * HOUR)).astype(np.int64)
    res_h = rng.lognormal(np.log(_RESOLUTION_MEDIAN_HOURS[priority] * slow), 1.0)
    resolved = first + np.maximum(300, np.rint(res_h * HOUR)).astype(np.int64)
    one_contact = rng.random(n) < np.clip(0.80 + 0.08 * effect, 0.3, 0.95)
    extra = np.minimum(rng.geometric(0.6, n), 4)
    contacts = np.where(one_contact, 1, 1 + extra).astype(np.int64)
    reopened = rng.random(n) < np.clip(0.06 - 0.03 * effect, 0.02, 0.4)
    channel = rng.choice(len(_TICKET_CHANNELS), size=n, p=_TICKET_CHANNEL_MIX).astype(np.int8)
    first_null = first > win.cutoff
    resolved_null = resolved > win.cutoff
    reopened &= ~resolved_null
    code = maybe_alias(rng, c, ids.zendesk)

    eligible = np.flatnonzero((np.arange(n) >= 10) & ~first_null)
    counts = {rule: max(1, round(share * n)) for rule, share in _PLANT_TICKETS.items()}
    picks = disjoint(rng, eligible, counts)
    tag = np.zeros(n, dtype=np.int8)
    tag[picks["duplicate_id"]] = 1
    rows = picks["unknown_customer"]
    code[rows] = rng.choice(ids.unknown_ticket, rows.size)
    rows = picks["time_order"]
    # Answered "before" it was opened (a clock or import glitch), or resolved before opened.
    by_resolution = ~resolved_null[rows] & (rng.random(rows.size) < 0.4)
    a, b = rows[~by_resolution], rows[by_resolution]
    first[a] = opened[a] - rng.integers(5 * 60, 3 * HOUR, a.size)
    resolved[b] = opened[b] - rng.integers(HOUR, 2 * DAY, b.size)
    tag[picks["unknown_customer"]] = 2
    tag[rows] = 2

    number = assign_ids(rng, tag)
    table = pa.table(
        {
            "ticket_id": format_ids("T", number, id_width(n, 7)),
            "customer_id": pc.take(ids.strings, pa.array(code)),
            "channel": labels(_TICKET_CHANNELS, channel),
            "opened_at": timestamps(opened),
            "first_response_at": timestamps(first, first_null),
            "resolved_at": timestamps(resolved, resolved_null),
            "contacts": pa.array(contacts),
            "reopened": pa.array(reopened),
            "sla_hours": pa.array(sla.astype(np.int64)),
            "priority": labels(_PRIORITIES, priority),
        }
    )
    last = int(
        max(
            opened.max(),
            first[~first_null].max(initial=0),
            resolved[~resolved_null].max(initial=0),
        )
    )
    return table, counts, last


# --------------------------------------------------------------------------- revenue


def revenue(rng: np.random.Generator, cust: Customers, ids: Ids, win: Window) -> Built:
    """One invoice per active customer per month on its billing day, a few credit notes."""
    n = cust.n
    seg = cust.seg
    amount = rng.lognormal(np.log(_AMOUNT_MEDIAN[seg]), _AMOUNT_SIGMA[seg])
    billing_day = np.minimum(_day_of_month(cust.acquired), 28)
    month_days = win.starts // DAY
    parts_c: list[np.ndarray] = []
    parts_d: list[np.ndarray] = []
    parts_a: list[np.ndarray] = []
    for m in range(win.months):
        t = m / (win.months - 1)
        p_expand = 0.035 - 0.012 * t
        p_contract = 0.018 + 0.010 * t
        u = rng.random(n)
        factor = np.exp(_AMOUNT_DRIFT[seg] + rng.normal(0, 0.01, n))
        factor *= np.where(u < p_expand, rng.uniform(1.05, 1.40, n), 1.0)
        factor *= np.where(u > 1 - p_contract, rng.uniform(0.65, 0.95, n), 1.0)
        amount = amount * factor
        day = month_days[m] + billing_day - 1
        act = np.flatnonzero((cust.acquired <= day) & (cust.churned > day))
        parts_c.append(act)
        parts_d.append(day[act])
        parts_a.append(np.round(amount[act], 2))
    c, day, amt = np.concatenate(parts_c), np.concatenate(parts_d), np.concatenate(parts_a)
    organic = c.size

    # Credit notes (allowed by the sample config): part of an invoice refunded days later.
    notes = np.sort(rng.choice(organic, size=max(1, organic // 300), replace=False))
    last_day = month_days[win.months] - 1
    note_day = np.minimum(day[notes] + rng.integers(1, 11, notes.size), last_day)
    note_amt = -np.round(amt[notes] * rng.uniform(0.1, 0.5, notes.size), 2)

    counts = {rule: max(1, round(share * organic)) for rule, share in _PLANT_REVENUE.items()}
    # duplicate_id: another invoice's data exported again under an existing id.
    copies = rng.choice(np.arange(10, organic), size=counts["duplicate_id"], replace=False)
    # unknown_customer: invoices of customers missing from the CRM.
    k = counts["unknown_customer"]
    ghost_day = month_days[0] + rng.integers(0, last_day - month_days[0] + 1, k)
    ghost_amt = np.round(rng.lognormal(np.log(_AMOUNT_MEDIAN[2]), 0.6, k), 2)

    code = np.concatenate([c, c[notes], c[copies], rng.choice(ids.unknown_revenue, k)])
    days = np.concatenate([day, note_day, day[copies], ghost_day])
    amounts = np.concatenate([amt, note_amt, amt[copies], ghost_amt])
    tag = np.concatenate(
        [
            np.zeros(organic + notes.size, np.int8),
            np.ones(copies.size, np.int8),
            np.full(k, 2, np.int8),
        ]
    )
    seq = np.concatenate(
        [np.arange(organic), np.arange(notes.size) + organic, copies, np.arange(k) + organic]
    )
    order = np.lexsort((tag, seq, days))
    code, days, amounts, tag = code[order], days[order], amounts[order], tag[order]
    number = assign_ids(rng, tag)
    table = pa.table(
        {
            "invoice_id": format_ids("INV-", number, id_width(code.size, 7)),
            "customer_id": pc.take(ids.strings, pa.array(code)),
            "invoice_date": dates(days),
            "amount": pa.array(amounts, pa.float64()),
        }
    )
    return table, counts, 0


def _day_of_month(days: np.ndarray) -> np.ndarray:
    """Day of the month (1..31) of epoch days."""
    return days - month_start_day(days) + 1
