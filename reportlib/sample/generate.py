"""`generate_sample`: the seven sample tables, one at a time, from one seed.

Every table is drawn with numpy from streams spawned off one seed, so the same arguments
give byte-identical files. A three-level sample draws its branches from a stream of its
own, so the two-level company is the same whether or not branches exist in the code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .arrays import write_table
from .company import (
    DEFAULT_SURVEYS_PER_CUSTOMER,
    DEFAULT_TICKETS_PER_CUSTOMER,
    Built,
    Format,
    SampleReport,
    check_arguments,
    check_shape,
    effects,
)
from .config import write_default_config
from .customers import customers_table, make_customers, make_ids
from .operations import revenue, tickets
from .surveys import surveys
from .workforce import kpi_values, workforce

log = logging.getLogger(__name__)

_BRANCH_STREAM = 7
"""Spawn key of the stream that places customers in branches (after the seven tables')."""


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
    levels: int = 2,
    branches: int = 0,
) -> SampleReport:
    """Write the seven sample tables into `out` (and default config into `config_dir`).

    `levels=2` is the segment/region company; `levels=3` adds a `branch` column to the
    customers and workforce tables, with `branches` branches under each region (nodes:
    all, 3 segments, 12 cells and 12 × `branches` branches). Bad arguments raise
    `ConfigError` before anything is written.
    """
    surveys_rate = (
        DEFAULT_SURVEYS_PER_CUSTOMER if surveys_per_customer is None else surveys_per_customer
    )
    tickets_rate = (
        DEFAULT_TICKETS_PER_CUSTOMER if tickets_per_customer is None else tickets_per_customer
    )
    win = check_arguments(seed, months, customers, end, fmt, surveys_rate, tickets_rate)
    shape = check_shape(levels, branches, customers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    streams = np.random.SeedSequence(seed).spawn(7)
    rng = [np.random.default_rng(s) for s in streams]
    branch_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_BRANCH_STREAM,)))

    cust = make_customers(rng[0], customers, win, shape, branch_rng)
    ids = make_ids(rng[1], cust)
    effects_survey, effects_process = effects(win)
    builders: tuple[tuple[str, Callable[[], Built]], ...] = (
        ("customers", lambda: customers_table(rng[0], cust, ids, shape)),
        ("customer_aliases", lambda: (ids.alias_rows, {}, 0)),
        (
            "survey_responses",
            lambda: surveys(rng[2], cust, ids, win, surveys_rate, effects_survey),
        ),
        ("tickets", lambda: tickets(rng[3], cust, ids, win, tickets_rate, effects_process)),
        ("revenue", lambda: revenue(rng[4], cust, ids, win)),
        ("workforce", lambda: (workforce(rng[5], win, shape), {}, 0)),
        ("kpi_values", lambda: (kpi_values(win), {}, 0)),
    )
    rows: dict[str, int] = {}
    planted: dict[str, dict[str, int]] = {}
    latest = 0
    for name, build in builders:  # one table in memory at a time
        table, planted[name], last = build()
        write_table(table, out / f"{name}.{fmt}", fmt)
        rows[name] = table.num_rows
        latest = max(latest, last)
        del table
    as_of = datetime.fromtimestamp(latest, UTC).replace(tzinfo=None)
    config_written = (
        write_default_config(Path(config_dir), levels=shape.levels, branches=shape.branches)
        if config_dir is not None
        else ()
    )
    report = SampleReport(
        out=out,
        tables=rows,
        planted=planted,
        config_written=config_written,
        as_of=as_of.isoformat(timespec="seconds"),
    )
    log.info(
        "sample data in %s (%d levels%s): %s; planted %s; as_of %s",
        out,
        shape.levels,
        f", {shape.branches} branches per region, up to {shape.nodes} nodes"
        if shape.levels == 3
        else "",
        ", ".join(f"{k} {v}" for k, v in report.tables.items()),
        sum(sum(v.values()) for v in planted.values()),
        report.as_of,
    )
    return report
