"""Workforce pulses and the manual KPI values of the sample.

The workforce table has one row per month and leaf team: a segment×region cell in a
two-level sample, a branch in a three-level one (keyed by every level, as the customers
are). Teams of the deteriorating cell lose people and turn detractor over the last four
months; those of the improving cell grow more promoters (the story of `company`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import periods
from . import branches as branch_mod
from .arrays import labels
from .company import (
    DETERIORATING,
    IMPROVING,
    REGION_MIX,
    REGIONS,
    SEGMENT_MIX,
    SEGMENTS,
    Shape,
    Window,
    cell_of,
)


def _team_shares(shape: Shape) -> np.ndarray:
    """Share of the company in each leaf team, cell-major (branches of a cell split its share)."""
    share = (SEGMENT_MIX[:, None] * REGION_MIX[None, :]).reshape(-1)
    if shape.levels == 2:
        return share
    split = 1 / np.sqrt(np.arange(1, shape.branches + 1))
    return (share[:, None] * (split / split.sum())[None, :]).reshape(-1)


def workforce(rng: np.random.Generator, win: Window, shape: Shape) -> pa.Table:
    """Support and success teams per leaf × month: headcount, leavers, pulse counts."""
    share = _team_shares(shape)
    per_cell = shape.per_cell
    cell = np.arange(share.size) // per_cell
    headcount = np.rint(12 + 250 * share).astype(np.int64)
    worse = cell == cell_of(DETERIORATING)
    better = cell == cell_of(IMPROVING)
    cal = win.calendar
    rows: list[dict[str, np.ndarray]] = []
    for m in range(win.months):
        t = m / (win.months - 1)
        leave_p = np.full(share.size, 0.013)
        promoter_p = np.full(share.size, 0.42)
        detractor_p = np.full(share.size, 0.25)
        promoter_p[better] += -0.10 + 0.15 * t
        if m >= win.months - 4:
            step = m - (win.months - 4) + 1
            leave_p[worse] += 0.012 * step
            promoter_p[worse] -= 0.05 * step
            detractor_p[worse] += 0.06 * step
        leavers = rng.binomial(headcount, leave_p)
        season = np.where(cal[m] == 11, 0.5, np.where(cal[m] == 7, 0.6, 1.0))
        hours = rng.gamma(4.0 * headcount, 3.5 / 4.0)  # sum of one gamma(4) per employee
        training = np.round(hours * season, 1)
        respondents = np.minimum(rng.binomial(headcount, 0.55), (3 * headcount) // 4)
        promoters = rng.binomial(respondents, promoter_p)
        passive_p = (1 - promoter_p - detractor_p) / (1 - promoter_p)
        passives = rng.binomial(respondents - promoters, passive_p)
        rows.append(
            {
                "period": np.full(share.size, m),
                "team": np.arange(share.size),
                "headcount": headcount.copy(),
                "leavers": leavers,
                "training_hours": training,
                "promoters": promoters,
                "passives": passives,
                "detractors": respondents - promoters - passives,
            }
        )
        hires = rng.poisson(headcount * (leave_p + 0.005))
        headcount = np.maximum(8, headcount - leavers + hires)
    col = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    month_labels = pa.array([periods.label(win.first + m) for m in range(win.months)])
    cells = col["team"] // per_cell
    columns = {
        "period": pc.take(month_labels, pa.array(col["period"])),
        "segment": labels(SEGMENTS, cells // len(REGIONS)),
        "region": labels(REGIONS, cells % len(REGIONS)),
    }
    if shape.levels == 3:
        region = cells % len(REGIONS)
        columns["branch"] = labels(
            branch_mod.values(shape.branches), region * per_cell + col["team"] % per_cell
        )
    return pa.table(
        {
            **columns,
            "headcount": pa.array(col["headcount"]),
            "leavers": pa.array(col["leavers"].astype(np.int64)),
            "training_hours": pa.array(col["training_hours"]),
            "enps_promoters": pa.array(col["promoters"].astype(np.int64)),
            "enps_passives": pa.array(col["passives"].astype(np.int64)),
            "enps_detractors": pa.array(col["detractors"].astype(np.int64)),
        }
    )


def kpi_values(win: Window) -> pa.Table:
    """Two manual rows: an override in the last month and a hand-keyed pulse the month before."""
    last = periods.label(win.first + win.months - 1)
    previous = periods.shift(last, -1)
    return pa.table(
        {
            "period": pa.array([previous, last]),
            "node": pa.array([DETERIORATING, IMPROVING]),
            "kpi": pa.array(["enps", "training_hours_per_fte"]),
            "value": pa.array([-5.0, 4.5]),
            "n": pa.array([14, None], pa.int64()),
            "author": pa.array(["Jane Analyst", "Jane Analyst"]),
            "reason": pa.array(
                [
                    "Pulse survey in the Bogotá office ran on paper; answers keyed in by hand",
                    f"LMS export missed the {periods.long_name(last)} compliance course; "
                    "hours taken from the L&D tracker",
                ]
            ),
        }
    )
