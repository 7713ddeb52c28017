"""Deterministic, realistic sample data for reportlib (DESIGN.md "Inputs").

`generate_sample` writes the seven canonical tables for a fictional B2B company:
customers with growth and churn, survey responses, tickets, invoices, workforce
pulses and two manual KPI values. Everything is drawn with numpy from one seed, so
the same arguments give byte-identical files. The story the data tells is fixed:
`smb/latam` deteriorates over the last four months, `mid-market/emea` improves over
the whole window, December dips. About 1-2% of each fact table is deliberately
bad, one quality rule (DOMAIN.md §7) per planted row, and the plantings are
counted in the returned `SampleReport`.

Generation is vectorised (loops only over months and survey types), so a
benchmark can ask for ten million survey responses: customers=400_000 with
surveys_per_customer=1.9 and tickets_per_customer=0.87 gives about 10 million
responses and 5 million tickets over 24 months.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import periods
from .errors import ConfigError

log = logging.getLogger(__name__)

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
"""The tables `generate_sample` writes and their columns, in file order."""

DEFAULT_CONFIG_FILES = ("kpis.yaml", "segments.yaml", "targets.csv", "distribution.yaml")

SEGMENTS = ("enterprise", "mid-market", "smb")
REGIONS = ("amer", "emea", "apac", "latam")
SURVEYS = ("nps", "csat", "ces")
DETERIORATING = "smb/latam"
IMPROVING = "mid-market/emea"

DAY = 86_400
HOUR = 3_600
EXTRACTION_HOURS = 6  # the data is extracted at 06:00 on the first day after `end`
PRE_WINDOW_DAYS = 5 * 365  # customers acquired before the window: up to five years earlier

_SEGMENT_MIX = np.array([0.10, 0.30, 0.60])
_REGION_MIX = np.array([0.40, 0.30, 0.20, 0.10])
_CHURN_PER_MONTH = np.array([0.0035, 0.008, 0.016])  # enterprise, mid-market, smb
_PRE_WINDOW_SHARE = 0.70

# Survey and process quality, in standard deviations of the score ("effects").
_SEGMENT_SURVEY = np.array([0.10, 0.0, -0.05])
_REGION_SURVEY = np.array([0.05, 0.05, -0.12, -0.02])
_SEGMENT_PROCESS = np.array([0.30, 0.0, -0.20])
_REGION_PROCESS = np.array([0.05, 0.10, -0.30, -0.05])
#                             Jan    Feb  Mar  Apr  May  Jun  Jul    Aug    Sep  Oct  Nov  Dec
_SEASON_SURVEY = np.array([-0.05, 0, 0, 0, 0, 0, -0.03, -0.05, 0, 0, 0, -0.20])
_SEASON_PROCESS = np.array([-0.15, 0, 0, 0, 0, 0, 0, -0.10, 0, 0, 0, -0.10])
_SURVEY_VOLUME = np.array([1.0, 1, 1, 1, 1, 1, 0.95, 0.9, 1, 1, 1, 0.8])
_TICKET_VOLUME = np.array([1.15, 1.05, 1, 1, 1, 0.95, 0.95, 0.9, 1, 1, 1, 0.85])
_DETERIORATION_SURVEY = np.array([-0.30, -0.45, -0.60, -0.75])  # last four months
_DETERIORATION_PROCESS = np.array([-1.0, -1.6, -2.2, -2.8])
_IMPROVEMENT_FROM, _IMPROVEMENT_TO = -0.55, 0.25  # first month -> last month

# Surveys: share of responses, score model N(mu + scale*effect, sd) rounded and clipped.
_SURVEY_SHARE = np.array([0.40, 0.35, 0.25])
_SCORE_MU = np.array([8.0, 4.1, 5.3])
_SCORE_SD = np.array([1.8, 0.9, 1.3])
_SCORE_LO = np.array([0, 1, 1])
_SCORE_HI = np.array([10, 5, 7])
_DURATION_MEDIAN = np.array([45.0, 60.0, 75.0])
_SURVEY_CHANNELS = ("email", "in-app", "sms")
_SURVEY_CHANNEL_MIX = np.array([0.55, 0.35, 0.10])
_COMMENTS_GOOD = (
    "Great support team, quick answers.",
    "Easy to find what I needed",
    "Réponse rapide et claire, merci !",
    "The new dashboard is much faster",
    "Sorted out during my coffee at the café, impressive",
    'Love the "quick start" templates',
)
_COMMENTS_MIXED = (
    "OK overall, but the mobile app is slow",
    "Fine. Documentation could be clearer",
    "Good product; pricing page is confusing",
)
_COMMENTS_BAD = (
    "Took three emails to get a straight answer",
    "Onboarding took too long",
    'The "quick start" guide is out of date, please fix.',
    "Export to Excel is broken again",
    "Price increase was not communicated, disappointing",
    "Had to call twice; the second agent solved it",
    "Atendimento demorado, não resolveram o problema",
)

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

# Revenue: monthly invoice amounts by segment (lognormal median, sigma).
_AMOUNT_MEDIAN = np.array([18_000.0, 2_500.0, 250.0])
_AMOUNT_SIGMA = np.array([0.5, 0.5, 0.6])
_AMOUNT_DRIFT = np.array([0.004, 0.002, 0.0])  # per month

_DEFAULT_SURVEYS_PER_CUSTOMER = 1.2
_DEFAULT_TICKETS_PER_CUSTOMER = 0.6
_MAX_SURVEYS_PER_CUSTOMER = 5.0
_MAX_TICKETS_PER_CUSTOMER = 50.0

# Share of each fact table planted per rule (DOMAIN.md §7).
_PLANT_SURVEYS = {
    "duplicate_id": 0.003,
    "unknown_customer": 0.003,
    "score_range": 0.0025,
    "response_window": 0.0025,
    "speeder": 0.003,
    "repeat_response": 0.0025,
}
_PLANT_TICKETS = {"duplicate_id": 0.005, "unknown_customer": 0.004, "time_order": 0.005}
_PLANT_REVENUE = {"duplicate_id": 0.006, "unknown_customer": 0.005}

Format = Literal["csv", "parquet"]
_Built = tuple[pa.Table, dict[str, int], int]  # table, planted rows per rule, latest timestamp


@dataclass(frozen=True)
class SampleReport:
    """What `generate_sample` wrote: row counts, planted bad rows, config files, cut-off."""

    out: Path
    tables: dict[str, int]
    planted: dict[str, dict[str, int]]
    config_written: tuple[Path, ...]
    as_of: str


@dataclass(frozen=True)
class _Window:
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
class _Customers:
    seg: np.ndarray  # int8 segment code per customer (customer code = id number - 1)
    reg: np.ndarray
    acquired: np.ndarray  # epoch day
    churned: np.ndarray  # epoch day, or a large value when not churned
    churned_null: np.ndarray

    @property
    def n(self) -> int:
        return len(self.seg)

    @property
    def cell(self) -> np.ndarray:
        """Segment×region cell index, segment-major."""
        return self.seg.astype(np.int64) * len(REGIONS) + self.reg


@dataclass(frozen=True)
class _Ids:
    """All customer identifiers as one string dictionary, and the codes into it."""

    strings: pa.Array
    typeform: np.ndarray  # per customer: code of its typeform id, or -1
    zendesk: np.ndarray
    unknown_survey: np.ndarray  # codes of ids mapping to no customer
    unknown_ticket: np.ndarray
    unknown_revenue: np.ndarray
    alias_rows: pa.Table


def write_default_config(config_dir: Path) -> tuple[Path, ...]:
    """Copy the default kpis/segments/targets/distribution files into `config_dir` where missing."""
    config_dir = Path(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    defaults = resources.files("reportlib") / "defaults"
    for name in DEFAULT_CONFIG_FILES:
        target = config_dir / name
        if target.exists():
            log.debug("keeping existing %s", target)
            continue
        data = (defaults / name).read_bytes()
        _atomic_write(target, lambda tmp, data=data: tmp.write_bytes(data))
        written.append(target)
        log.info("wrote default %s", target)
    return tuple(written)


def generate_sample(
    out: Path,
    *,
    seed: int = 7,
    months: int = 24,
    customers: int = 5000,
    end: str = "2026-10",
    fmt: Format = "csv",
    config_dir: Path | None = None,
    surveys_per_customer: float | None = None,
    tickets_per_customer: float | None = None,
) -> SampleReport:
    """Write the seven sample tables into `out` (and default config into `config_dir`)."""
    surveys_rate = (
        _DEFAULT_SURVEYS_PER_CUSTOMER if surveys_per_customer is None else surveys_per_customer
    )
    tickets_rate = (
        _DEFAULT_TICKETS_PER_CUSTOMER if tickets_per_customer is None else tickets_per_customer
    )
    win = _check_arguments(seed, months, customers, end, fmt, surveys_rate, tickets_rate)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    streams = np.random.SeedSequence(seed).spawn(7)
    rng = [np.random.default_rng(s) for s in streams]

    cust = _make_customers(rng[0], customers, win)
    ids = _make_ids(rng[1], cust)
    effects_survey, effects_process = _effects(win)
    builders: tuple[tuple[str, Callable[[], _Built]], ...] = (
        ("customers", lambda: _customers_table(rng[0], cust, ids)),
        ("customer_aliases", lambda: (ids.alias_rows, {}, 0)),
        (
            "survey_responses",
            lambda: _surveys(rng[2], cust, ids, win, surveys_rate, effects_survey),
        ),
        ("tickets", lambda: _tickets(rng[3], cust, ids, win, tickets_rate, effects_process)),
        ("revenue", lambda: _revenue(rng[4], cust, ids, win)),
        ("workforce", lambda: (_workforce(rng[5], win), {}, 0)),
        ("kpi_values", lambda: (_kpi_values(win), {}, 0)),
    )
    rows: dict[str, int] = {}
    planted: dict[str, dict[str, int]] = {}
    latest = 0
    for name, build in builders:  # one table in memory at a time
        table, planted[name], last = build()
        _write_table(table, out / f"{name}.{fmt}", fmt)
        rows[name] = table.num_rows
        latest = max(latest, last)
        del table
    as_of = datetime.fromtimestamp(latest, UTC).replace(tzinfo=None)
    config_written = write_default_config(Path(config_dir)) if config_dir is not None else ()
    report = SampleReport(
        out=out,
        tables=rows,
        planted=planted,
        config_written=config_written,
        as_of=as_of.isoformat(timespec="seconds"),
    )
    log.info(
        "sample data in %s: %s; planted %s; as_of %s",
        out,
        ", ".join(f"{k} {v}" for k, v in report.tables.items()),
        sum(sum(v.values()) for v in planted.values()),
        report.as_of,
    )
    return report


# --------------------------------------------------------------------------- arguments


def _check_arguments(
    seed: int,
    months: int,
    customers: int,
    end: str,
    fmt: str,
    surveys_rate: float,
    tickets_rate: float,
) -> _Window:
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
    if not 0 < surveys_rate <= _MAX_SURVEYS_PER_CUSTOMER:
        raise ConfigError(
            f"surveys_per_customer must be in (0, {_MAX_SURVEYS_PER_CUSTOMER:g}], got {surveys_rate!r}"
        )
    if not 0 < tickets_rate <= _MAX_TICKETS_PER_CUSTOMER:
        raise ConfigError(
            f"tickets_per_customer must be in (0, {_MAX_TICKETS_PER_CUSTOMER:g}], got {tickets_rate!r}"
        )
    last = periods.parse(end)
    first = last - int(months) + 1
    starts = (np.datetime64(periods.label(first), "M") + np.arange(int(months) + 2)).astype(
        "datetime64[s]"
    )
    starts_s = starts.astype(np.int64)
    return _Window(
        first=first,
        months=int(months),
        starts=starts_s,
        cutoff=int(starts_s[-2]) + EXTRACTION_HOURS * HOUR,
    )


# --------------------------------------------------------------------------- customers


def _quota(rng: np.random.Generator, n: int, mix: np.ndarray) -> np.ndarray:
    """Codes 0..len(mix)-1 in exactly the proportions of `mix` (largest remainder), shuffled."""
    exact = mix * n
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(mix), dtype=np.int8), counts))


def _month_start_day(days: np.ndarray) -> np.ndarray:
    """Epoch day of the first of the month containing each epoch day."""
    return (
        days.astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )


def _make_customers(rng: np.random.Generator, n: int, win: _Window) -> _Customers:
    seg = _quota(rng, n, _SEGMENT_MIX)
    reg = _quota(rng, n, _REGION_MIX)
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
    firsts = _month_start_day(churned)
    snap &= firsts > acquired + 20
    churned[snap] = firsts[snap]
    cutoff_day = win.starts[win.months] // DAY
    null = churned >= cutoff_day
    churned[null] = np.iinfo(np.int64).max // (2 * DAY)

    # Customer numbers follow acquisition, as a CRM assigns them.
    order = np.lexsort((rng.random(n), acquired))
    return _Customers(
        seg=seg[order],
        reg=reg[order],
        acquired=acquired[order],
        churned=churned[order],
        churned_null=null[order],
    )


def _id_width(n: int, minimum: int) -> int:
    return max(minimum, len(str(n)))


def _make_ids(rng: np.random.Generator, cust: _Customers) -> _Ids:
    """Canonical ids C000001.., typeform / zendesk aliases (1:1) and ids of no customer."""
    n = cust.n
    width = _id_width(n, 6)
    canonical = _format_ids("C", np.arange(1, n + 1), width)
    has_tf = rng.random(n) < 0.20
    has_zd = rng.random(n) < 0.25
    n_tf, n_zd = int(has_tf.sum()), int(has_zd.sum())
    n_unknown = n // 4 + 50  # enough for every planted survey row to get its own
    tf_numbers = rng.choice(16**10, size=n_tf + n_unknown, replace=False)
    zd_numbers = 10_000_000 + rng.choice(90_000_000, size=n_zd + n_unknown, replace=False)
    tf = _format_ids("tf_", tf_numbers, 10, base=16)
    zd = _format_ids("ZD-", zd_numbers, 8)
    ghosts = _format_ids("C", n + 1 + np.arange(n_unknown), width)  # deleted from the CRM
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
            "source": _labels(("typeform", "zendesk"), source),
            "external_id": pc.take(
                strings, pa.array(np.concatenate([typeform[tf_customers], zendesk[zd_customers]]))
            ),
            "customer_id": pc.take(strings, pa.array(np.concatenate([tf_customers, zd_customers]))),
        }
    )
    return _Ids(
        strings=strings,
        typeform=typeform,
        zendesk=zendesk,
        unknown_survey=np.concatenate([ghost, unknown_tf]),
        unknown_ticket=np.concatenate([ghost, unknown_zd]),
        unknown_revenue=ghost,
        alias_rows=alias_rows,
    )


def _customers_table(rng: np.random.Generator, cust: _Customers, ids: _Ids) -> _Built:
    """One row per customer, plus a handful of CRM duplicates (an id again, another's data)."""
    n = cust.n
    n_dup = max(2, min(10, n // 1000))
    dup_of = np.sort(rng.choice(n, size=n_dup, replace=False))
    data_of = (dup_of + 1 + rng.integers(0, n - 1, n_dup)) % n  # another customer's data
    rows = np.concatenate([np.arange(n), data_of])
    codes = np.concatenate([np.arange(n), dup_of])
    order = np.lexsort((np.arange(rows.size), codes))  # each duplicate right after its original
    rows, codes = rows[order], codes[order]
    table = pa.table(
        {
            "customer_id": pc.take(ids.strings, pa.array(codes)),
            "segment": _labels(SEGMENTS, cust.seg[rows]),
            "region": _labels(REGIONS, cust.reg[rows]),
            "acquired_on": _dates(cust.acquired[rows]),
            "churned_on": _dates(cust.churned[rows], cust.churned_null[rows]),
        }
    )
    return table, {"duplicate_id": n_dup}, 0


# --------------------------------------------------------------------------- the story


def _effects(win: _Window) -> tuple[np.ndarray, np.ndarray]:
    """Survey and process quality per cell (12) × period: segment, region, season, story."""
    t = np.arange(win.months) / (win.months - 1)
    cal = win.calendar
    survey = (_SEGMENT_SURVEY[:, None] + _REGION_SURVEY[None, :]).reshape(-1)[:, None] + (
        _SEASON_SURVEY[cal] + 0.10 * t
    )[None, :]
    process = (_SEGMENT_PROCESS[:, None] + _REGION_PROCESS[None, :]).reshape(-1)[:, None] + (
        _SEASON_PROCESS[cal] + 0.10 * t
    )[None, :]
    better = _cell_of(IMPROVING)
    survey[better] += _IMPROVEMENT_FROM + (_IMPROVEMENT_TO - _IMPROVEMENT_FROM) * t
    process[better] += _IMPROVEMENT_FROM + (_IMPROVEMENT_TO - _IMPROVEMENT_FROM) * t
    worse = _cell_of(DETERIORATING)
    survey[worse, -4:] += _DETERIORATION_SURVEY
    process[worse, -4:] += _DETERIORATION_PROCESS
    return survey, process


def _cell_of(node: str) -> int:
    segment, region = node.split("/")
    return SEGMENTS.index(segment) * len(REGIONS) + REGIONS.index(region)


def _active(cust: _Customers, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers active in [start, stop) seconds, with their active interval clipped to it."""
    acq = cust.acquired * DAY
    churn = np.minimum(cust.churned, np.iinfo(np.int64).max // (2 * DAY)) * DAY
    act = np.flatnonzero((acq < stop) & (churn > start))
    return act, np.maximum(acq[act], start), np.minimum(churn[act], stop)


# --------------------------------------------------------------------------- surveys


def _surveys(
    rng: np.random.Generator,
    cust: _Customers,
    ids: _Ids,
    win: _Window,
    rate: float,
    effects: np.ndarray,
) -> _Built:
    """Survey responses; a customer's answers to one survey are always > 7 days apart."""
    per_survey = rate * _SURVEY_SHARE
    slots = 1 if per_survey.max() <= 1 else 2
    # Each customer answers a survey near the same point of the month ("phase"), ± 2/28
    # of a month: answers in consecutive slots are then at least 10 days apart.
    span = 24 if slots == 1 else 10
    phase = (2 + span * rng.random((cust.n, len(SURVEYS)))) / 28
    offsets = [0.0] if slots == 1 else [0.0, 14 / 28]
    parts: dict[str, list[np.ndarray]] = {"cust": [], "survey": [], "t": [], "month": []}
    cal = win.calendar
    for m in range(win.months):
        start, stop = int(win.starts[m]), int(win.starts[m + 1])
        act, lo, hi = _active(cust, start, stop)
        for k in range(len(SURVEYS)):
            p = per_survey[k] / slots * _SURVEY_VOLUME[cal[m]]
            for offset in offsets:
                hit = np.flatnonzero(rng.random(act.size) < p)
                c = act[hit]
                u = phase[c, k] + offset + rng.uniform(-2 / 28, 2 / 28, c.size)
                t = start + np.floor(u * (stop - start)).astype(np.int64)
                keep = (t >= lo[hit]) & (t < hi[hit])
                parts["cust"].append(c[keep])
                parts["survey"].append(np.full(keep.sum(), k, dtype=np.int8))
                parts["t"].append(t[keep])
                parts["month"].append(np.full(keep.sum(), m, dtype=np.int16))
    c, survey, responded, month = (
        np.concatenate(parts[k]) for k in ("cust", "survey", "t", "month")
    )
    order = np.lexsort((survey, c, responded))
    c, survey, responded, month = c[order], survey[order], responded[order], month[order]
    n = c.size

    effect = effects[cust.cell[c], month]
    score = np.rint(rng.normal(_SCORE_MU[survey] + _SCORE_SD[survey] * effect, _SCORE_SD[survey]))
    score = np.clip(score, _SCORE_LO[survey], _SCORE_HI[survey]).astype(np.int64)
    delay = np.clip(rng.lognormal(np.log(5 * HOUR), 1.3, n), 120, 3 * DAY).astype(np.int64)
    sent = responded - delay
    duration = np.clip(rng.lognormal(np.log(_DURATION_MEDIAN[survey]), 0.6, n), 10, 600).astype(
        np.int64
    )
    channel = rng.choice(len(_SURVEY_CHANNELS), size=n, p=_SURVEY_CHANNEL_MIX).astype(np.int8)
    comment = _comments(rng, survey, score)
    code = _maybe_alias(rng, c, ids.typeform)

    # Planted bad rows: disjoint sets of organic rows, away from the very start and end.
    eligible = np.flatnonzero((np.arange(n) >= 10) & (responded < win.starts[win.months] - 3 * DAY))
    counts = {rule: max(1, round(share * n)) for rule, share in _PLANT_SURVEYS.items()}
    picks = _disjoint(rng, eligible, counts)
    tag = np.zeros(n, dtype=np.int8)  # 0 clean, 1 duplicate id, 2 other bad rows
    tag[picks["duplicate_id"]] = 1
    rows = picks["unknown_customer"]
    # Distinct unknown ids, so that no two of them look like a repeated response.
    code[rows] = rng.choice(ids.unknown_survey, rows.size, replace=False)
    rows = picks["score_range"]
    score_null = np.zeros(n, dtype=bool)
    score[rows] = np.array([11, 0, 8])[survey[rows]]
    score_null[rows[rng.random(rows.size) < 0.25]] = True
    rows = picks["response_window"]
    early = rng.random(rows.size) < 0.5  # answered before it was sent; else > 30 days after
    sent[rows] = np.where(
        early,
        responded[rows] + rng.integers(HOUR, 2 * DAY, rows.size),
        responded[rows] - rng.integers(31 * DAY, 60 * DAY, rows.size),
    )
    duration[picks["speeder"]] = rng.integers(0, 3, counts["speeder"])
    for rule in ("unknown_customer", "score_range", "response_window", "speeder"):
        tag[picks[rule]] = 2

    # repeat_response: the same invitation submitted again 1 h to 2 days later.
    r = picks["repeat_response"]
    k = r.size
    columns = {
        "code": np.concatenate([code, code[r]]),
        "survey": np.concatenate([survey, survey[r]]),
        "score": np.concatenate(
            [
                score,
                np.clip(
                    score[r] + rng.integers(-1, 2, k), _SCORE_LO[survey[r]], _SCORE_HI[survey[r]]
                ),
            ]
        ),
        "score_null": np.concatenate([score_null, np.zeros(k, dtype=bool)]),
        "sent": np.concatenate([sent, sent[r]]),
        "responded": np.concatenate([responded, responded[r] + rng.integers(HOUR, 2 * DAY, k)]),
        "channel": np.concatenate([channel, channel[r]]),
        "duration": np.concatenate(
            [duration, np.clip(duration[r] + rng.integers(-5, 30, k), 10, 600)]
        ),
        "comment": np.concatenate([comment, np.full(k, -1, dtype=np.int16)]),
        "tag": np.concatenate([tag, np.full(k, 2, dtype=np.int8)]),
        "seq": np.concatenate([np.arange(n), r]),
    }
    del code, survey, score, score_null, sent, responded, channel, duration, comment, tag
    order = np.lexsort((columns["seq"], columns["responded"]))
    col = {name: columns.pop(name)[order] for name in list(columns)}
    del order
    number = _assign_ids(rng, col["tag"])
    comments = pa.array(_COMMENTS_GOOD + _COMMENTS_MIXED + _COMMENTS_BAD)
    table = pa.table(
        {
            "response_id": _format_ids("R", number, _id_width(n, 8)),
            "customer_id": pc.take(ids.strings, pa.array(col["code"])),
            "survey": _labels(SURVEYS, col["survey"]),
            "score": pa.array(col["score"], mask=col["score_null"]),
            "sent_at": _timestamps(col["sent"]),
            "responded_at": _timestamps(col["responded"]),
            "channel": _labels(_SURVEY_CHANNELS, col["channel"]),
            "duration_seconds": pa.array(col["duration"]),
            "comment": pc.take(comments, pa.array(col["comment"], mask=col["comment"] < 0)),
        }
    )
    last = int(max(col["sent"].max(), col["responded"].max()))
    return table, counts, last


def _comments(rng: np.random.Generator, survey: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Comment codes (-1 = none): unhappy respondents write more, and write complaints."""
    bad = score <= np.array([6, 2, 3])[survey]
    good = score >= np.array([9, 5, 6])[survey]
    p = np.where(bad, 0.30, 0.06)
    has = rng.random(score.size) < p
    n_good, n_mixed, n_bad = len(_COMMENTS_GOOD), len(_COMMENTS_MIXED), len(_COMMENTS_BAD)
    pick = rng.random(score.size)
    code = np.where(
        good,
        np.floor(pick * n_good),
        np.where(bad, n_good + n_mixed + np.floor(pick * n_bad), n_good + np.floor(pick * n_mixed)),
    ).astype(np.int16)
    return np.where(has, code, -1).astype(np.int16)


def _maybe_alias(rng: np.random.Generator, customer: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """Customer codes, half of them replaced by the customer's external id where it has one."""
    code = customer.astype(np.int64)
    swap = (alias[customer] >= 0) & (rng.random(customer.size) < 0.5)
    code[swap] = alias[customer[swap]]
    return code


def _disjoint(
    rng: np.random.Generator, eligible: np.ndarray, counts: dict[str, int]
) -> dict[str, np.ndarray]:
    """Disjoint random sets of rows, one per rule, sorted."""
    need = sum(counts.values())
    if need > eligible.size:
        raise ConfigError("sample too small to plant the bad rows: increase customers or months")
    chosen = rng.choice(eligible, size=need, replace=False)
    out: dict[str, np.ndarray] = {}
    at = 0
    for rule, k in counts.items():
        out[rule] = np.sort(chosen[at : at + k])
        at += k
    return out


def _assign_ids(rng: np.random.Generator, tag: np.ndarray) -> np.ndarray:
    """Sequential id numbers in file order; duplicates (tag 1) reuse an earlier clean row's id."""
    dup = tag == 1
    number = np.cumsum(~dup)
    clean = np.flatnonzero(tag == 0)
    where = np.flatnonzero(dup)
    before = np.searchsorted(clean, where)  # clean rows above each duplicate (always > 0)
    source = clean[np.floor(rng.random(where.size) * before).astype(np.int64)]
    number[where] = number[source]
    return number


# --------------------------------------------------------------------------- tickets


def _tickets(
    rng: np.random.Generator,
    cust: _Customers,
    ids: _Ids,
    win: _Window,
    rate: float,
    effects: np.ndarray,
) -> _Built:
    """Tickets, including the first hours of the next month up to the extraction."""
    cal = win.calendar
    parts_c: list[np.ndarray] = []
    parts_t: list[np.ndarray] = []
    parts_m: list[np.ndarray] = []
    for m in range(win.months + 1):
        start = int(win.starts[m])
        stop = int(win.starts[m + 1]) if m < win.months else win.cutoff
        length = int(win.starts[m + 1] - win.starts[m])
        act, lo, hi = _active(cust, start, stop)
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
    code = _maybe_alias(rng, c, ids.zendesk)

    eligible = np.flatnonzero((np.arange(n) >= 10) & ~first_null)
    counts = {rule: max(1, round(share * n)) for rule, share in _PLANT_TICKETS.items()}
    picks = _disjoint(rng, eligible, counts)
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

    number = _assign_ids(rng, tag)
    table = pa.table(
        {
            "ticket_id": _format_ids("T", number, _id_width(n, 7)),
            "customer_id": pc.take(ids.strings, pa.array(code)),
            "channel": _labels(_TICKET_CHANNELS, channel),
            "opened_at": _timestamps(opened),
            "first_response_at": _timestamps(first, first_null),
            "resolved_at": _timestamps(resolved, resolved_null),
            "contacts": pa.array(contacts),
            "reopened": pa.array(reopened),
            "sla_hours": pa.array(sla.astype(np.int64)),
            "priority": _labels(_PRIORITIES, priority),
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


def _revenue(rng: np.random.Generator, cust: _Customers, ids: _Ids, win: _Window) -> _Built:
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
    number = _assign_ids(rng, tag)
    table = pa.table(
        {
            "invoice_id": _format_ids("INV-", number, _id_width(code.size, 7)),
            "customer_id": pc.take(ids.strings, pa.array(code)),
            "invoice_date": _dates(days),
            "amount": pa.array(amounts, pa.float64()),
        }
    )
    return table, counts, 0


def _day_of_month(days: np.ndarray) -> np.ndarray:
    """Day of the month (1..31) of epoch days."""
    return days - _month_start_day(days) + 1


# --------------------------------------------------------------------------- workforce


def _workforce(rng: np.random.Generator, win: _Window) -> pa.Table:
    """Support and success teams per segment×region×month: headcount, leavers, pulse counts."""
    share = (_SEGMENT_MIX[:, None] * _REGION_MIX[None, :]).reshape(-1)
    headcount = np.rint(12 + 250 * share).astype(np.int64)
    worse = _cell_of(DETERIORATING)
    better = _cell_of(IMPROVING)
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
                "cell": np.arange(share.size),
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
    labels = pa.array([periods.label(win.first + m) for m in range(win.months)])
    return pa.table(
        {
            "period": pc.take(labels, pa.array(col["period"])),
            "segment": _labels(SEGMENTS, col["cell"] // len(REGIONS)),
            "region": _labels(REGIONS, col["cell"] % len(REGIONS)),
            "headcount": pa.array(col["headcount"]),
            "leavers": pa.array(col["leavers"].astype(np.int64)),
            "training_hours": pa.array(col["training_hours"]),
            "enps_promoters": pa.array(col["promoters"].astype(np.int64)),
            "enps_passives": pa.array(col["passives"].astype(np.int64)),
            "enps_detractors": pa.array(col["detractors"].astype(np.int64)),
        }
    )


def _kpi_values(win: _Window) -> pa.Table:
    """Two manual rows: an override in the last month and a hand-keyed pulse the month before."""
    last = periods.label(win.first + win.months - 1)
    previous = periods.shift(last, -1)
    return pa.table(
        {
            "period": pa.array([previous, last]),
            "node": pa.array(["smb/latam", "mid-market/emea"]),
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


# --------------------------------------------------------------------------- formatting


def _labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    return pc.take(pa.array(values), pa.array(np.asarray(codes, dtype=np.int64)))


def _format_ids(prefix: str, numbers: np.ndarray, width: int, *, base: int = 10) -> pa.Array:
    """Fixed-width ids such as C000042 or tf_00ff3a..., built without a Python loop per row."""
    numbers = np.asarray(numbers, dtype=np.int64)
    n = numbers.size
    while n and numbers.max() >= base**width:
        width += 1
    head = prefix.encode("ascii")
    row = len(head) + width
    chars = np.empty((n, row), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    for j in range(width):
        chars[:, len(head) + j] = digits[(numbers // base ** (width - 1 - j)) % base]
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int64)
    if offsets[-1] < 2**31:
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(chars)
        )
    large = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))
    return large.cast(pa.string())


def _timestamps(seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(seconds, dtype=np.int64), pa.timestamp("s"), mask=null)


def _dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    days = np.where(null, 0, days) if null is not None else days
    return pa.array(np.asarray(days, dtype=np.int32), pa.date32(), mask=null)


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(tmp)` on a temporary file next to `path`, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_table(table: pa.Table, path: Path, fmt: str) -> None:
    """CSV (header, comma, empty = null, 2-decimal amounts) or Parquet, written atomically."""
    if fmt == "parquet":
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return
    if "amount" in table.column_names:
        i = table.column_names.index("amount")
        table = table.set_column(i, "amount", pc.cast(table["amount"], pa.decimal128(16, 2)))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
            pacsv.write_csv(
                table,
                fh,
                pacsv.WriteOptions(include_header=False, quoting_style="needed"),
            )

    _atomic_write(path, write)


LATE_PREFIX = "L"
"""Response ids of late answers added by `add_late_responses` (L0000001, ...)."""


def add_late_responses(folder: Path, count: int = 40, *, seed: int = 11) -> tuple[str, int]:
    """Append `count` NPS answers from the last month that "arrived after the extract".

    They show a restatement (DOMAIN.md §8): the month's figures change when the job runs
    again. Each goes to a different active customer with no NPS answer in the seven days
    before or during the month (so none is a repeat response, §7), is answered before the
    cut-off, and leans to detractors. Each call appends new ones; returns (month, count).
    """
    import pandas as pd

    folder = Path(folder)
    fmt = "parquet" if (folder / "survey_responses.parquet").is_file() else "csv"
    path = folder / f"survey_responses.{fmt}"
    customers_path = folder / f"customers.{fmt}"
    if not path.is_file() or not customers_path.is_file():
        raise ConfigError(f"no sample data in {folder}: run `reportlib sample-data` first")
    if count < 1:
        raise ConfigError(f"late responses: count must be at least 1, got {count}")
    read = (
        pd.read_parquet
        if fmt == "parquet"
        else lambda f: pd.read_csv(f, dtype=str, keep_default_na=False)
    )
    surveys, customers = read(path), read(customers_path)
    answered = pd.to_datetime(surveys["responded_at"], errors="coerce")
    last = answered.max()
    start = pd.Timestamp(last.year, last.month, 1)
    end = start + pd.offsets.MonthBegin(1)
    recent = surveys.loc[
        (surveys["survey"] == "nps") & (answered >= start - pd.Timedelta(days=8)), "customer_id"
    ]
    acquired = pd.to_datetime(customers["acquired_on"], errors="coerce")
    churned = pd.to_datetime(customers["churned_on"].replace("", None), errors="coerce")
    active = (acquired < start) & (churned.isna() | (churned >= end))
    eligible = sorted(set(customers.loc[active, "customer_id"]) - set(recent))
    if len(eligible) < count:
        raise ConfigError(
            f"late responses: only {len(eligible)} customers can take one, not {count}"
        )
    ids = surveys["response_id"].astype(str)
    done = int(ids.str.startswith(LATE_PREFIX).sum())
    rng = np.random.default_rng([seed, done])
    who = rng.choice(np.array(eligible, dtype=object), size=count, replace=False)
    span = (min(end, last) - start).total_seconds()  # never after the latest answer
    responded = start + pd.to_timedelta(np.sort(rng.uniform(0, span, count)), unit="s")
    sent = responded - pd.to_timedelta(rng.uniform(3600, 3 * 86400, count), unit="s")
    scores = rng.choice(
        11, size=count, p=[0.09, 0.08, 0.09, 0.1, 0.1, 0.1, 0.12, 0.08, 0.08, 0.08, 0.08]
    )
    late = pd.DataFrame(
        {
            "response_id": [f"{LATE_PREFIX}{done + i + 1:07d}" for i in range(count)],
            "customer_id": who,
            "survey": "nps",
            "score": scores,
            "sent_at": sent.floor("s").strftime("%Y-%m-%d %H:%M:%S"),
            "responded_at": responded.floor("s").strftime("%Y-%m-%d %H:%M:%S"),
            "channel": "email",
            "duration_seconds": rng.integers(20, 180, count),
            "comment": "",
        }
    )
    if fmt == "parquet":
        old = pq.read_table(path)
        typed = pa.Table.from_pandas(
            late.assign(
                sent_at=pd.to_datetime(late["sent_at"]),
                responded_at=pd.to_datetime(late["responded_at"]),
            ),
            preserve_index=False,
        ).cast(old.schema)
        _write_table(pa.concat_tables([old, typed]), path, fmt)
    else:
        text = late.to_csv(index=False, header=False, lineterminator="\n")
        data = path.read_bytes()
        _atomic_write(path, lambda tmp: tmp.write_bytes(data + text.encode("utf-8")))
    month = f"{start:%Y-%m}"
    log.info("added %d late NPS responses for %s to %s", count, month, path)
    return month, count


__all__ = [
    "COLUMNS",
    "SampleReport",
    "add_late_responses",
    "generate_sample",
    "write_default_config",
]
