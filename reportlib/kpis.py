"""The built-in KPI formulas of DOMAIN.md §3, one function per KPI.

Each function takes the measures frame (index node × period, see `measures.py`) and
returns a frame on the same index with `value` and `n`, plus for survey KPIs the
95% interval (`ci_low`, `ci_high`) and what the significance test needs: `se` for
NPS-type values, `x` (successes) for proportions (DOMAIN.md §4). A zero
denominator gives an empty value (status `no-data`), never an error.

Declared KPIs (kpis.yaml `source: declared`) get their value here too, from the columns
their measures added to the frame (`declared.py`). `tables_needed` names the input
tables the configured KPIs read: a table is required only then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import periods, stats
from .config import KpiDef
from .declaration import Measure
from .errors import ConfigError, DataError

COLUMNS = ("value", "n", "ci_low", "ci_high", "se", "x")

COMPANY = "all"
"""The root node: the whole company (DOMAIN.md §2)."""

PERIOD_MONTHS = "period_months"
"""The measures' column of a quarter's or a year to date's months (`measures.PERIOD_MONTHS`)."""


def _frame(m: pd.DataFrame, value: object, n: object, **extra: object) -> pd.DataFrame:
    out = pd.DataFrame(index=m.index, columns=list(COLUMNS), dtype="float64")
    out["value"] = np.asarray(value, dtype="float64")
    out["n"] = np.asarray(n, dtype="float64")
    for k, v in extra.items():
        out[k] = np.asarray(v, dtype="float64")
    return out


def _ratio(num: pd.Series, den: pd.Series, scale: float = 100.0) -> np.ndarray:
    a, b = num.to_numpy("float64"), den.to_numpy("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, scale * a / b, np.nan)


def _col(m: pd.DataFrame, name: str) -> pd.Series:
    """A measure column; all-zero/empty when its table was not loaded (an optional table)."""
    if name in m.columns:
        return m[name]
    return pd.Series(0.0, index=m.index)


def _months_ago(m: pd.DataFrame, col: str, months: int) -> pd.Series:
    """The same node's measure `months` earlier (NaN before the computed range)."""
    nodes = m.index.get_level_values("node")
    month = m.index.get_level_values("month") - months
    prev = _col(m, col).reindex(pd.MultiIndex.from_arrays([nodes, month], names=m.index.names))
    return pd.Series(prev.to_numpy(), index=m.index)


# --- Financial -------------------------------------------------------------------


def covered(m: pd.DataFrame, months: int = 0) -> np.ndarray:
    """True where the revenue table covers the row's month (`months` earlier): any invoice
    company-wide in it (DOMAIN.md §3). The company is the root node `all`."""
    index = m.index.get_level_values("month")
    company = _col(m, "invoices").xs(COMPANY, level="node")
    invoiced = pd.Series(company.to_numpy("float64"), index=company.index)
    return (invoiced.reindex(index - months).fillna(0.0) > 0).to_numpy()


def revenue(m: pd.DataFrame) -> pd.DataFrame:
    """Σ amount with invoice_date in p; 0 for a node without invoices in a covered month,
    empty only for a month the revenue table does not cover (DOMAIN.md §3)."""
    return _frame(m, np.where(covered(m), _col(m, "revenue"), np.nan), _col(m, "invoices"))


def revenue_growth_yoy(m: pd.DataFrame, per_year: int = 12) -> pd.DataFrame:
    """100·(rev_p − rev_{p−12}) / rev_{p−12}; empty if rev_{p−12} ≤ 0 or either month is not
    covered, so a node that fell to 0 shows −100% (DOMAIN.md §3).

    `per_year`: periods a year (4 for quarters: against the same quarter a year earlier).
    """
    cur, n = _col(m, "revenue"), _col(m, "invoices")
    prev = _months_ago(m, "revenue", per_year)
    ok = covered(m) & covered(m, per_year) & (prev > 0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(ok, 100.0 * (cur - prev) / prev, np.nan)
    return _frame(m, value, n)


def nrr(m: pd.DataFrame) -> pd.DataFrame:
    """Cohort C with revenue in p−12: 100·Σrev_p(C) / Σrev_{p−12}(C)."""
    return _frame(m, _ratio(_col(m, "nrr_current"), _col(m, "nrr_base")), _col(m, "nrr_cohort"))


# --- Customer --------------------------------------------------------------------


def _nps_like(
    m: pd.DataFrame, promoters: pd.Series, detractors: pd.Series, n: pd.Series
) -> pd.DataFrame:
    value = stats.nps_value(promoters, detractors, n)
    se = stats.nps_se(promoters, detractors, n)
    lo, hi = stats.nps_interval(value, se)
    return _frame(m, value, n, ci_low=lo, ci_high=hi, se=se)


def _proportion(m: pd.DataFrame, x: pd.Series, n: pd.Series) -> pd.DataFrame:
    lo, hi = stats.wilson_interval(x, n)
    return _frame(m, _ratio(x, n), n, ci_low=lo, ci_high=hi, x=x)


def nps(m: pd.DataFrame) -> pd.DataFrame:
    """P = score ≥ 9, D = score ≤ 6; 100·(P − D)/n, with the §4 interval."""
    return _nps_like(m, _col(m, "nps_promoters"), _col(m, "nps_detractors"), _col(m, "nps_n"))


def csat(m: pd.DataFrame) -> pd.DataFrame:
    """Top-2-box: 100·#(score ≥ 4)/n, Wilson interval."""
    return _proportion(m, _col(m, "csat_top"), _col(m, "csat_n"))


def ces(m: pd.DataFrame) -> pd.DataFrame:
    """100·#(score ≥ 5)/n on the 1–7 scale, Wilson interval."""
    return _proportion(m, _col(m, "ces_top"), _col(m, "ces_n"))


def logo_retention(m: pd.DataFrame) -> pd.DataFrame:
    """100·#(S not churned before period end)/#S, S = active at period start."""
    s = _col(m, "customers_active_start")
    return _frame(m, _ratio(_col(m, "customers_retained"), s), s)


# --- Internal process --------------------------------------------------------------


def fcr(m: pd.DataFrame) -> pd.DataFrame:
    """Tickets resolved in p: 100·#(contacts = 1 and not reopened)/#resolved."""
    n = _col(m, "tickets_resolved")
    return _frame(m, _ratio(_col(m, "tickets_fcr"), n), n)


def first_response_hours(m: pd.DataFrame) -> pd.DataFrame:
    """Median hours to first response, tickets opened in p and answered by as_of."""
    n = _col(m, "tickets_answered")
    return _frame(m, np.where(n > 0, _col(m, "first_response_hours_median"), np.nan), n)


def sla_compliance(m: pd.DataFrame) -> pd.DataFrame:
    """100·#(answered by the deadline)/#considered; pending tickets left out."""
    n = _col(m, "sla_considered")
    return _frame(m, _ratio(_col(m, "sla_met"), n), n)


def resolution_hours(m: pd.DataFrame) -> pd.DataFrame:
    """Median hours from opening to resolution, tickets resolved in p."""
    n = _col(m, "tickets_resolved")
    return _frame(m, np.where(n > 0, _col(m, "resolution_hours_median"), np.nan), n)


def reopen_rate(m: pd.DataFrame) -> pd.DataFrame:
    """Tickets resolved in p: 100·#reopened/#resolved."""
    n = _col(m, "tickets_resolved")
    return _frame(m, _ratio(_col(m, "tickets_reopened"), n), n)


# --- Learning and growth -------------------------------------------------------------


def enps(m: pd.DataFrame) -> pd.DataFrame:
    """100·(promoters − detractors)/(promoters + passives + detractors), NPS interval."""
    p, d = _col(m, "enps_promoters"), _col(m, "enps_detractors")
    n = p + _col(m, "enps_passives") + d
    return _nps_like(m, p, d, n)


def _headcount(m: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Σ headcount in a month, as the denominator and the n; over a longer period the
    average headcount Σ / its months, and as n that average rounded to whole heads."""
    h = _col(m, "headcount")
    if PERIOD_MONTHS not in m.columns:
        return h, h
    average = h / m[PERIOD_MONTHS]
    return average, average.round()


def training_hours_per_fte(m: pd.DataFrame) -> pd.DataFrame:
    """Σ training_hours / Σ headcount; over a quarter or a year to date, the period's training
    hours per average FTE (Σ training_hours / (Σ headcount / months), DOMAIN.md §8)."""
    h, n = _headcount(m)
    return _frame(m, _ratio(_col(m, "training_hours"), h, scale=1.0), n)


def attrition_rate(m: pd.DataFrame) -> pd.DataFrame:
    """100·Σ leavers / Σ headcount (monthly); over a quarter, the quarter's leavers over its
    average headcount (Σ headcount / 3), so the rate is the quarter's (DOMAIN.md §3, §8)."""
    h, n = _headcount(m)
    return _frame(m, _ratio(_col(m, "leavers"), h), n)


PER_MONTH_TARGETS: dict[str, Literal["sum", "compound", "retain"]] = {
    "revenue": "sum",
    "training_hours_per_fte": "sum",
    "attrition_rate": "compound",
    "logo_retention": "retain",
}
"""KPIs whose value depends on the period's length, so their targets (set per month in
targets.csv) are scaled to a quarter or a year to date: amounts add up over the months,
a leaving rate compounds, a staying rate multiplies (`period_target`)."""


def period_target(kpi_id: str, monthly: float, months: int) -> float:
    """A monthly target or threshold as the same ambition over `months` months (DOMAIN.md §8).

    Revenue and training hours per FTE: months × the monthly figure. Attrition: the rate
    that monthly rate compounds to, 100·(1 − (1 − m/100)^months). Logo retention: the
    share still there after `months` months at the monthly rate, 100·(r/100)^months.
    Other KPIs (rates of cases, medians, scores) keep their target as it is.
    """
    how = PER_MONTH_TARGETS.get(kpi_id)
    if how == "retain":
        return 100.0 * (monthly / 100.0) ** months
    if how == "sum":
        return monthly * months
    if how == "compound":
        return 100.0 * (1.0 - (1.0 - monthly / 100.0) ** months)
    return monthly


ANNUALISED = frozenset({"attrition_rate"})
"""Periodic rates the pack also shows annualised (`annualised`)."""


def annualised(monthly_percent: float, per_year: float = 12) -> float:
    """A monthly rate in percent as its annual equivalent: 100·(1 − (1 − m/100)^12) (DOMAIN.md §3).

    Compounded rather than 12 × m: each month's leavers leave from those still there, so
    the annual rate can approach but never pass 100% (12 × 9% would say 108%); for small
    rates the two agree (1% a month: 11.4% against 12%). `per_year`: the periods in a year
    of the rate's cadence, 4 for a quarterly rate (1 − (1 − q)^4); a fraction (12/9) for a
    rate over nine months to date.
    """
    m = min(max(float(monthly_percent), 0.0), 100.0) / 100.0
    return 100.0 * (1.0 - (1.0 - m) ** per_year)


# --- Declared KPIs (kpis.yaml `source: declared`, see declaration.py) -------------------


def declared_measures(k: KpiDef) -> dict[str, Measure]:
    """A declared KPI's measures by role: `measure`, or `numerator` and `denominator`."""
    roles = {"measure": k.measure, "numerator": k.numerator, "denominator": k.denominator}
    return {role: m for role, m in roles.items() if m is not None}


def measure_column(kpi_id: str, role: str, stat: Literal["rows", "sum"]) -> str:
    """The measures frame's column of a declared measure: its row count or its column's sum."""
    return f"{kpi_id}.{role}.{stat}"


def _declared_value(m: pd.DataFrame, k: KpiDef, role: str, measure: Measure) -> pd.Series:
    rows = _col(m, measure_column(k.id, role, "rows"))
    if measure.aggregate == "count":
        return rows
    total = _col(m, measure_column(k.id, role, "sum"))
    if measure.aggregate == "sum":
        return total
    return pd.Series(_ratio(total, rows, scale=1.0), index=m.index)


def declared(k: KpiDef, m: pd.DataFrame) -> pd.DataFrame:
    """A declared KPI: scale × its measure, or scale × numerator / denominator (empty where the
    denominator is not positive). n is the number of rows behind the measure (the denominator)."""
    parts = declared_measures(k)
    if "measure" in parts:
        value = _declared_value(m, k, "measure", parts["measure"])
        n = _col(m, measure_column(k.id, "measure", "rows"))
        return _frame(m, np.where(value.notna(), k.scale * value, np.nan), n)
    num = _declared_value(m, k, "numerator", parts["numerator"])
    den = _declared_value(m, k, "denominator", parts["denominator"])
    n = _col(m, measure_column(k.id, "denominator", "rows"))
    return _frame(m, _ratio(num, den, scale=k.scale), n)


Test = Literal["nps", "proportion"]


@dataclass(frozen=True)
class Formula:
    """A built-in formula, the input tables it reads and the §4 significance test its
    changes get (None for censuses)."""

    compute: Callable[..., pd.DataFrame]
    tables: tuple[str, ...]
    test: Test | None = None
    yearly: bool = False
    """Compares a period with the same period a year earlier: `compute(m, per_year)`."""


_REV, _SURVEY, _TICKETS, _WORK = ("revenue",), ("survey_responses",), ("tickets",), ("workforce",)

BUILTINS: dict[str, Formula] = {
    "revenue": Formula(revenue, _REV),
    "revenue_growth_yoy": Formula(revenue_growth_yoy, _REV, yearly=True),
    "nrr": Formula(nrr, _REV),
    "nps": Formula(nps, _SURVEY, "nps"),
    "csat": Formula(csat, _SURVEY, "proportion"),
    "ces": Formula(ces, _SURVEY, "proportion"),
    "logo_retention": Formula(logo_retention, ("customers",)),
    "fcr": Formula(fcr, _TICKETS),
    "first_response_hours": Formula(first_response_hours, _TICKETS),
    "sla_compliance": Formula(sla_compliance, _TICKETS),
    "resolution_hours": Formula(resolution_hours, _TICKETS),
    "reopen_rate": Formula(reopen_rate, _TICKETS),
    "enps": Formula(enps, _WORK, "nps"),
    "training_hours_per_fte": Formula(training_hours_per_fte, _WORK),
    "attrition_rate": Formula(attrition_rate, _WORK),
}

ALWAYS_NEEDED = frozenset({"customers"})
"""Every node comes from customers (DOMAIN.md §1, §2): needed whatever the KPIs are."""


def kpi_tables(k: KpiDef) -> tuple[str, ...]:
    """The input tables KPI `k` reads (none for a manual KPI)."""
    if k.source == "builtin":
        return BUILTINS[k.id].tables if k.id in BUILTINS else ()
    return tuple(dict.fromkeys(m.table for m in declared_measures(k).values()))


def tables_needed(kpis: tuple[KpiDef, ...]) -> frozenset[str]:
    """The input tables the configured KPIs need: a table is required only then.

    `customers` always; `customer_aliases` and kpi_values.csv never (both optional).
    """
    return ALWAYS_NEEDED.union(*(kpi_tables(k) for k in kpis))


class MissingTableError(ConfigError, DataError):
    """A table a configured KPI needs is not in the source: the catalogue and the data disagree."""


def missing_table(kpis: tuple[KpiDef, ...], table: str, where: str) -> DataError:
    """The error for a needed table the source lacks: which KPI needs it, in one line."""
    users = [k.id for k in kpis if table in kpi_tables(k)]
    if table in ALWAYS_NEEDED or not users:
        return DataError(f"required table {table} is missing", file=where)
    more = len(users) - 1
    others = f" (and {more} more KPI{'s' if more > 1 else ''})" if more else ""
    return MissingTableError(
        f"required table {table} is missing: KPI {users[0]}{others} of kpis.yaml needs it; "
        "provide the table or remove the KPIs that need it from kpis.yaml",
        file=where,
    )


def check_catalogue(kpis: tuple[KpiDef, ...]) -> None:
    """Every `builtin` KPI must name a formula here."""
    for k in kpis:
        if k.source == "builtin" and k.id not in BUILTINS:
            raise ConfigError(
                f"kpis.yaml: KPI {k.id!r} is 'builtin' but there is no built-in formula of that id "
                f"(built-ins: {', '.join(BUILTINS)}); use `source: manual` for values from kpi_values.csv"
                " or `source: declared` for measures declared in kpis.yaml"
            )


def _builtin(formula: Formula, m: pd.DataFrame, cadence: periods.Cadence) -> pd.DataFrame:
    args: tuple[Any, ...] = (
        (cadence.per_year,) if formula.yearly and cadence.name != "month" else ()
    )
    return formula.compute(m, *args)


def compute_all(
    kpis: tuple[KpiDef, ...], m: pd.DataFrame, cadence: periods.Cadence = periods.MONTH
) -> dict[str, pd.DataFrame]:
    """Values of every built-in and declared KPI of the catalogue for every node × period."""
    check_catalogue(kpis)
    out = {k.id: _builtin(BUILTINS[k.id], m, cadence) for k in kpis if k.source == "builtin"}
    out.update({k.id: declared(k, m) for k in kpis if k.source == "declared"})
    return out
