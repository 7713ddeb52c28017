"""The fictional company of the sample: its tables, its hierarchy, its story, and the arguments.

Everything the other sample modules share lives here: the table columns, the segment and
region mix, the records passed between the generators (`Window`, `Customers`, `Ids`) and
the argument check that turns a bad request into one `ConfigError` before anything is
written. The story (DOMAIN.md §2 hierarchy, §7 quality) is fixed: `smb/latam`
deteriorates over the last four months, `mid-market/emea` improves over the whole window,
December dips. With three levels every branch of a segment×region cell shares its cell's
story, plus a steady quality of its own, so branches differ from one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from .. import periods
from ..errors import ConfigError

COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id", "segment", "region", "acquired_on", "churned_on"),
    "customer_aliases": ("source", "external_id", "customer_id"),
    "survey_responses": (
        "response_id",
        "customer_id",
        "survey",
        "score",
        "sent_at",
        "responded_at",
        "channel",
        "duration_seconds",
        "comment",
    ),
    "tickets": (
        "ticket_id",
        "customer_id",
        "channel",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "contacts",
        "reopened",
        "sla_hours",
        "priority",
    ),
    "revenue": ("invoice_id", "customer_id", "invoice_date", "amount"),
    "workforce": (
        "period",
        "segment",
        "region",
        "headcount",
        "leavers",
        "training_hours",
        "enps_promoters",
        "enps_passives",
        "enps_detractors",
    ),
    "kpi_values": ("period", "node", "kpi", "value", "n", "author", "reason"),
}
"""The tables `generate_sample` writes and their columns, in file order (two levels)."""

LEVELS = ("segment", "region", "branch")
"""The hierarchy levels of the sample, from the top down; two-level samples use the first two."""

SEGMENTS = ("enterprise", "mid-market", "smb")
REGIONS = ("amer", "emea", "apac", "latam")
SURVEYS = ("nps", "csat", "ces")
DETERIORATING = "smb/latam"
IMPROVING = "mid-market/emea"

DAY = 86_400
HOUR = 3_600
EXTRACTION_HOURS = 6  # the data is extracted at 06:00 on the first day after `end`
PRE_WINDOW_DAYS = 5 * 365  # customers acquired before the window: up to five years earlier

SEGMENT_MIX = np.array([0.10, 0.30, 0.60])
REGION_MIX = np.array([0.40, 0.30, 0.20, 0.10])

MAX_BRANCHES = 60
"""Most branches per region a three-level sample can have."""
CUSTOMERS_PER_BRANCH = 200
"""Customers a three-level sample needs per branch of a region, so that every branch of
even the smallest segment×region cell (1% of the customers) has customers."""

DEFAULT_SURVEYS_PER_CUSTOMER = 1.2
DEFAULT_TICKETS_PER_CUSTOMER = 0.6
MAX_SURVEYS_PER_CUSTOMER = 5.0
MAX_TICKETS_PER_CUSTOMER = 50.0

# Survey and process quality, in standard deviations of the score ("effects").
_SEGMENT_SURVEY = np.array([0.10, 0.0, -0.05])
_REGION_SURVEY = np.array([0.05, 0.05, -0.12, -0.02])
_SEGMENT_PROCESS = np.array([0.30, 0.0, -0.20])
_REGION_PROCESS = np.array([0.05, 0.10, -0.30, -0.05])
#                             Jan    Feb  Mar  Apr  May  Jun  Jul    Aug    Sep  Oct  Nov  Dec
_SEASON_SURVEY = np.array([-0.05, 0, 0, 0, 0, 0, -0.03, -0.05, 0, 0, 0, -0.20])
_SEASON_PROCESS = np.array([-0.15, 0, 0, 0, 0, 0, 0, -0.10, 0, 0, 0, -0.10])
_DETERIORATION_SURVEY = np.array([-0.30, -0.45, -0.60, -0.75])  # last four months
_DETERIORATION_PROCESS = np.array([-1.0, -1.6, -2.2, -2.8])
_IMPROVEMENT_FROM, _IMPROVEMENT_TO = -0.55, 0.25  # first month -> last month

Format = Literal["csv", "parquet"]
Built = tuple[pa.Table, dict[str, int], int]
"""What a table generator returns: the table, planted rows per rule, its latest timestamp."""


def columns(levels: int = 2) -> dict[str, tuple[str, ...]]:
    """The tables and their columns for a sample of `levels` levels (3 adds `branch`)."""
    if levels == 2:
        return dict(COLUMNS)

    def with_branch(cols: tuple[str, ...]) -> tuple[str, ...]:
        at = cols.index("region") + 1
        return (*cols[:at], "branch", *cols[at:])

    return {
        name: with_branch(cols) if name in ("customers", "workforce") else cols
        for name, cols in COLUMNS.items()
    }


@dataclass(frozen=True)
class SampleReport:
    """What `generate_sample` wrote: row counts, planted bad rows, config files, cut-off."""

    out: Path
    tables: dict[str, int]
    planted: dict[str, dict[str, int]]
    config_written: tuple[Path, ...]
    as_of: str


@dataclass(frozen=True)
class Window:
    """The data window: `months` periods, then the extraction hours of the next month."""

    first: int
    months: int
    starts: np.ndarray  # epoch seconds of month starts, months + 2 entries
    cutoff: int  # epoch seconds of the extraction

    @property
    def calendar(self) -> np.ndarray:
        """Calendar month (0 = January) of each period."""
        return (self.first + np.arange(self.months)) % 12


@dataclass(frozen=True)
class Customers:
    """The customers, one entry per customer code (customer code = id number - 1).

    `branch` is None in a two-level sample; in a three-level one it is each customer's
    branch within its region, and `survey_shift` / `process_shift` its branch's own quality.
    """

    seg: np.ndarray  # int8 segment code
    reg: np.ndarray
    acquired: np.ndarray  # epoch day
    churned: np.ndarray  # epoch day, or a large value when not churned
    churned_null: np.ndarray
    branch: np.ndarray | None = None
    survey_shift: np.ndarray | None = None
    process_shift: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.seg)

    @property
    def cell(self) -> np.ndarray:
        """Segment×region cell index, segment-major."""
        return self.seg.astype(np.int64) * len(REGIONS) + self.reg


@dataclass(frozen=True)
class Ids:
    """All customer identifiers as one string dictionary, and the codes into it."""

    strings: pa.Array
    typeform: np.ndarray  # per customer: code of its typeform id, or -1
    zendesk: np.ndarray
    unknown_survey: np.ndarray  # codes of ids mapping to no customer
    unknown_ticket: np.ndarray
    unknown_revenue: np.ndarray
    alias_rows: pa.Table


@dataclass(frozen=True)
class Shape:
    """The hierarchy asked for: 2 levels (segment, region) or 3 with `branches` per region."""

    levels: int = 2
    branches: int = 0

    @property
    def per_cell(self) -> int:
        """Teams (leaves) per segment×region cell: its branches, or the cell itself."""
        return self.branches if self.levels == 3 else 1

    @property
    def nodes(self) -> int:
        """Nodes of the tree when every leaf has customers: all, segments, cells, branches."""
        cells = len(SEGMENTS) * len(REGIONS)
        return 1 + len(SEGMENTS) + cells + (cells * self.branches if self.levels == 3 else 0)


def check_shape(levels: int, branches: int, customers: int) -> Shape:
    """The hierarchy arguments, each bad combination one clear `ConfigError`."""
    if (
        isinstance(levels, bool)
        or not isinstance(levels, (int, np.integer))
        or levels not in (2, 3)
    ):
        raise ConfigError(
            f"levels must be 2 (segment, region) or 3 (segment, region, branch), got {levels!r}"
        )
    if isinstance(branches, bool) or not isinstance(branches, (int, np.integer)) or branches < 0:
        raise ConfigError(
            f"branches must be a whole number of branches per region, got {branches!r}"
        )
    if levels == 2 and branches:
        raise ConfigError(
            f"branches ({branches}) need three levels: add --levels 3 (segment, region, branch)"
        )
    if levels == 3 and not branches:
        raise ConfigError("three levels need the number of branches per region: add --branches N")
    if branches > MAX_BRANCHES:
        raise ConfigError(f"branches must be at most {MAX_BRANCHES} per region, got {branches}")
    if levels == 3 and customers < CUSTOMERS_PER_BRANCH * branches:
        raise ConfigError(
            f"{branches} branches per region need at least "
            f"{CUSTOMERS_PER_BRANCH * branches} customers (so that every branch has some), "
            f"got {customers}"
        )
    return Shape(levels=int(levels), branches=int(branches))


def check_arguments(
    seed: int,
    months: int,
    customers: int,
    end: str,
    fmt: str,
    surveys_rate: float,
    tickets_rate: float,
) -> Window:
    """The other arguments, each bad one a `ConfigError`; returns the data window."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(months, (int, np.integer)) or months < 13:
        raise ConfigError(
            f"months must be at least 13 (a year-on-year comparison needs 13), got {months!r}"
        )
    if not isinstance(customers, (int, np.integer)) or customers < 50:
        raise ConfigError(f"customers must be at least 50, got {customers!r}")
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"format must be csv or parquet, got {fmt!r}")
    if not 0 < surveys_rate <= MAX_SURVEYS_PER_CUSTOMER:
        raise ConfigError(
            f"surveys_per_customer must be in (0, {MAX_SURVEYS_PER_CUSTOMER:g}], got {surveys_rate!r}"
        )
    if not 0 < tickets_rate <= MAX_TICKETS_PER_CUSTOMER:
        raise ConfigError(
            f"tickets_per_customer must be in (0, {MAX_TICKETS_PER_CUSTOMER:g}], got {tickets_rate!r}"
        )
    last = periods.parse(end)
    first = last - int(months) + 1
    starts = (np.datetime64(periods.label(first), "M") + np.arange(int(months) + 2)).astype(
        "datetime64[s]"
    )
    starts_s = starts.astype(np.int64)
    return Window(
        first=first,
        months=int(months),
        starts=starts_s,
        cutoff=int(starts_s[-2]) + EXTRACTION_HOURS * HOUR,
    )


# --------------------------------------------------------------------------- the story


def effects(win: Window) -> tuple[np.ndarray, np.ndarray]:
    """Survey and process quality per cell (12) × period: segment, region, season, story."""
    t = np.arange(win.months) / (win.months - 1)
    cal = win.calendar
    survey = (_SEGMENT_SURVEY[:, None] + _REGION_SURVEY[None, :]).reshape(-1)[:, None] + (
        _SEASON_SURVEY[cal] + 0.10 * t
    )[None, :]
    process = (_SEGMENT_PROCESS[:, None] + _REGION_PROCESS[None, :]).reshape(-1)[:, None] + (
        _SEASON_PROCESS[cal] + 0.10 * t
    )[None, :]
    better = cell_of(IMPROVING)
    survey[better] += _IMPROVEMENT_FROM + (_IMPROVEMENT_TO - _IMPROVEMENT_FROM) * t
    process[better] += _IMPROVEMENT_FROM + (_IMPROVEMENT_TO - _IMPROVEMENT_FROM) * t
    worse = cell_of(DETERIORATING)
    survey[worse, -4:] += _DETERIORATION_SURVEY
    process[worse, -4:] += _DETERIORATION_PROCESS
    return survey, process


def cell_of(node: str) -> int:
    """Index of a `segment/region` node among the 12 cells (segment-major)."""
    segment, region = node.split("/")
    return SEGMENTS.index(segment) * len(REGIONS) + REGIONS.index(region)


def active(cust: Customers, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers active in [start, stop) seconds, with their active interval clipped to it."""
    acq = cust.acquired * DAY
    churn = np.minimum(cust.churned, np.iinfo(np.int64).max // (2 * DAY)) * DAY
    act = np.flatnonzero((acq < stop) & (churn > start))
    return act, np.maximum(acq[act], start), np.minimum(churn[act], stop)
