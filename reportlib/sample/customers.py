"""The sample's customers: who they are, where they sit in the hierarchy, and their ids.

Customers are drawn in exact segment and region proportions, with acquisition and churn
dates; in a three-level sample each also gets a branch of its region (`branches`).
`make_ids` builds every identifier the fact tables use (canonical, typeform and zendesk
aliases, and ids of no customer for the planted rows of DOMAIN.md §7).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import branches as branch_mod
from .arrays import dates, format_ids, id_width, labels
from .company import (
    DAY,
    PRE_WINDOW_DAYS,
    REGION_MIX,
    REGIONS,
    SEGMENT_MIX,
    SEGMENTS,
    Built,
    Customers,
    Ids,
    Shape,
    Window,
)

_CHURN_PER_MONTH = np.array([0.0035, 0.008, 0.016])  # enterprise, mid-market, smb
_PRE_WINDOW_SHARE = 0.70


def quota(rng: np.random.Generator, n: int, mix: np.ndarray) -> np.ndarray:
    """Codes 0..len(mix)-1 in exactly the proportions of `mix` (largest remainder), shuffled."""
    exact = mix * n
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(mix), dtype=np.int8), counts))


def month_start_day(days: np.ndarray) -> np.ndarray:
    """Epoch day of the first of the month containing each epoch day."""
    return (
        days.astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )


def make_customers(
    rng: np.random.Generator, n: int, win: Window, shape: Shape, branch_rng: np.random.Generator
) -> Customers:
    """`n` customers in customer-number order (numbers follow acquisition, as in a CRM)."""
    seg = quota(rng, n, SEGMENT_MIX)
    reg = quota(rng, n, REGION_MIX)
    start_day = win.starts[0] // DAY
    month_days = win.starts[: win.months + 1] // DAY
    pre = rng.random(n) < _PRE_WINDOW_SHARE
    acquired = np.empty(n, dtype=np.int64)
    acquired[pre] = start_day - 1 - rng.integers(0, PRE_WINDOW_DAYS, pre.sum())
    growth = 1.0 + 0.5 * np.arange(win.months) / (win.months - 1)  # intake grows by half
    month = rng.choice(win.months, size=(~pre).sum(), p=growth / growth.sum())
    length = month_days[month + 1] - month_days[month]
    acquired[~pre] = month_days[month] + np.floor(rng.random(month.size) * length).astype(np.int64)

    lifetime = rng.exponential(30.44 / _CHURN_PER_MONTH[seg])
    churned = acquired + 20 + np.ceil(lifetime).astype(np.int64)
    # Some churn is booked on the first day of a month (contract end dates).
    snap = rng.random(n) < 0.05
    firsts = month_start_day(churned)
    snap &= firsts > acquired + 20
    churned[snap] = firsts[snap]
    cutoff_day = win.starts[win.months] // DAY
    null = churned >= cutoff_day
    churned[null] = np.iinfo(np.int64).max // (2 * DAY)

    order = np.lexsort((rng.random(n), acquired))
    cust = Customers(
        seg=seg[order],
        reg=reg[order],
        acquired=acquired[order],
        churned=churned[order],
        churned_null=null[order],
    )
    if shape.levels == 2:
        return cust
    return branch_mod.assign(branch_rng, cust, shape.branches)


def make_ids(rng: np.random.Generator, cust: Customers) -> Ids:
    """Canonical ids C000001.., typeform / zendesk aliases (1:1) and ids of no customer."""
    n = cust.n
    width = id_width(n, 6)
    canonical = format_ids("C", np.arange(1, n + 1), width)
    has_tf = rng.random(n) < 0.20
    has_zd = rng.random(n) < 0.25
    n_tf, n_zd = int(has_tf.sum()), int(has_zd.sum())
    n_unknown = n // 4 + 50  # enough for every planted survey row to get its own
    tf_numbers = rng.choice(16**10, size=n_tf + n_unknown, replace=False)
    zd_numbers = 10_000_000 + rng.choice(90_000_000, size=n_zd + n_unknown, replace=False)
    tf = format_ids("tf_", tf_numbers, 10, base=16)
    zd = format_ids("ZD-", zd_numbers, 8)
    ghosts = format_ids("C", n + 1 + np.arange(n_unknown), width)  # deleted from the CRM
    strings = pa.concat_arrays([canonical, tf, zd, ghosts])

    typeform = np.full(n, -1, dtype=np.int64)
    typeform[has_tf] = n + np.arange(n_tf)
    zendesk = np.full(n, -1, dtype=np.int64)
    zendesk[has_zd] = n + n_tf + n_unknown + np.arange(n_zd)
    ghost = n + n_tf + n_unknown + n_zd + n_unknown + np.arange(n_unknown)
    unknown_tf = n + n_tf + np.arange(n_unknown)
    unknown_zd = n + n_tf + n_unknown + n_zd + np.arange(n_unknown)

    tf_customers = np.flatnonzero(has_tf)
    zd_customers = np.flatnonzero(has_zd)
    source = np.repeat(np.array([0, 1], dtype=np.int8), [n_tf, n_zd])
    alias_rows = pa.table(
        {
            "source": labels(("typeform", "zendesk"), source),
            "external_id": pc.take(
                strings, pa.array(np.concatenate([typeform[tf_customers], zendesk[zd_customers]]))
            ),
            "customer_id": pc.take(strings, pa.array(np.concatenate([tf_customers, zd_customers]))),
        }
    )
    return Ids(
        strings=strings,
        typeform=typeform,
        zendesk=zendesk,
        unknown_survey=np.concatenate([ghost, unknown_tf]),
        unknown_ticket=np.concatenate([ghost, unknown_zd]),
        unknown_revenue=ghost,
        alias_rows=alias_rows,
    )


def customers_table(rng: np.random.Generator, cust: Customers, ids: Ids, shape: Shape) -> Built:
    """One row per customer, plus a handful of CRM duplicates (an id again, another's data)."""
    n = cust.n
    n_dup = max(2, min(10, n // 1000))
    dup_of = np.sort(rng.choice(n, size=n_dup, replace=False))
    data_of = (dup_of + 1 + rng.integers(0, n - 1, n_dup)) % n  # another customer's data
    rows = np.concatenate([np.arange(n), data_of])
    codes = np.concatenate([np.arange(n), dup_of])
    order = np.lexsort((np.arange(rows.size), codes))  # each duplicate right after its original
    rows, codes = rows[order], codes[order]
    columns = {
        "customer_id": pc.take(ids.strings, pa.array(codes)),
        "segment": labels(SEGMENTS, cust.seg[rows]),
        "region": labels(REGIONS, cust.reg[rows]),
    }
    if cust.branch is not None:
        values = branch_mod.values(shape.branches)
        columns["branch"] = labels(
            values, cust.reg[rows].astype(np.int64) * shape.branches + cust.branch[rows]
        )
    columns["acquired_on"] = dates(cust.acquired[rows])
    columns["churned_on"] = dates(cust.churned[rows], cust.churned_null[rows])
    return pa.table(columns), {"duplicate_id": n_dup}, 0
