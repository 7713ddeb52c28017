"""The figures a pack's charts read, looked up without pandas: one index per pack.

A pack with children draws 46 charts, each reading a few KPI series (the node's, its
children's) from the scorecard's history. Filtering the history DataFrame for each costs
milliseconds of pandas overhead a call, more than writing the chart; so the rows of the
node and its children are read once into plain arrays (`index(ctx)`, cached per context)
and each chart takes its window from them. `Window` holds what `packdata.series` returns
for the same node, KPI and months: one entry per month of the window, missing months empty.

A context's frames are read once: to chart changed figures, make a new context
(`dataclasses.replace(ctx, history=...)`), as the notebook does, rather than editing its
DataFrames in place.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import periods
from .formatting import missing
from .packdata import PackContext

NUMBERS = ("value", "n", "ci_low", "ci_high", "target", "threshold", "score")
TEXTS = ("status", "kpi_version")


@dataclass(frozen=True, eq=False)
class Window:
    """A KPI's months at a node, oldest first: numbers as float arrays (NaN when missing)."""

    period: tuple[str, ...]
    value: np.ndarray
    n: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    target: np.ndarray
    threshold: np.ndarray
    score: np.ndarray
    status: tuple[str | None, ...]
    kpi_version: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.period)


def _floats(values: Any) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()


def _text(v: Any) -> str | None:
    return None if missing(v) else str(v)


class SeriesIndex:
    """The history and this period's rows of a pack's node and its children, by node and KPI."""

    def __init__(self, ctx: PackContext) -> None:
        self.period = ctx.period
        ids = [ctx.node.id, *(c.id for c in ctx.tree.children(ctx.node.id))]
        h = ctx.history
        h = h[h["node"].isin(ids) & (h["period"] <= ctx.period)]
        self._numbers = {c: _floats(h[c]) for c in NUMBERS}
        self._texts = {c: [_text(v) for v in h[c]] for c in TEXTS}
        self._rows: dict[tuple[str, str], dict[str, int]] = {}
        for i, (node, kpi, period) in enumerate(
            zip(h["node"].astype(str), h["kpi"].astype(str), h["period"].astype(str), strict=True)
        ):
            self._rows.setdefault((node, kpi), {})[period] = i
        cur = ctx.current
        cur = cur[cur["node"].isin(ids)]
        self._current: dict[tuple[str, str], Mapping[str, Any]] = {
            (str(r["node"]), str(r["kpi"])): {str(c): v for c, v in r.items()}
            for r in cur.to_dict("records")
        }

    def series(self, node: str, kpi: str, months: int | None = None) -> Window:
        """The KPI's months at `node` up to the period (the last `months`, or from its first)."""
        rows = self._rows.get((node, kpi), {})
        first = min(rows) if rows else self.period
        if months is not None:
            first = max(first, periods.shift(self.period, -(months - 1)))
        span = periods.span(first, self.period)
        at = np.array([rows.get(p, -1) for p in span], dtype="int64")
        found = at >= 0

        def numbers(column: str) -> np.ndarray:
            out = np.full(len(span), math.nan)
            out[found] = self._numbers[column][at[found]]
            return out

        def texts(column: str) -> tuple[str | None, ...]:
            col = self._texts[column]
            return tuple(col[i] if i >= 0 else None for i in at.tolist())

        return Window(
            period=tuple(span),
            value=numbers("value"),
            n=numbers("n"),
            ci_low=numbers("ci_low"),
            ci_high=numbers("ci_high"),
            target=numbers("target"),
            threshold=numbers("threshold"),
            score=numbers("score"),
            status=texts("status"),
            kpi_version=texts("kpi_version"),
        )

    def current(self, node: str, kpi: str) -> Mapping[str, Any] | None:
        """This period's row of the KPI at `node` (column → value), or None."""
        return self._current.get((node, kpi))


@functools.lru_cache(maxsize=2)
def index(ctx: PackContext) -> SeriesIndex:
    """The pack's index, built once per context (contexts compare by identity)."""
    return SeriesIndex(ctx)


def ticked(period: str) -> bool:
    """Whether a trend chart labels `period` on its time axis: every third month (January,
    April, July, October), every quarter, every year to date (a quarterly trend has 8 points)."""
    return periods.cadence_of(period).name != "month" or periods.index(period) % 3 == 0


def version_breaks(window: Window) -> list[tuple[str, str, str]]:
    """(period, old, new) where the KPI's definition version changed within `window` (DOMAIN.md §8)."""
    out: list[tuple[str, str, str]] = []
    prev: str | None = None
    for period, version in zip(window.period, window.kpi_version, strict=True):
        if version is None:
            continue
        if prev is not None and version != prev:
            out.append((period, prev, version))
        prev = version
    return out
