"""From KPI values to the scorecard: targets, status, uncertainty, deltas and their tests (DOMAIN.md §4–§6).

The result is one long frame with the columns of DESIGN.md "Outputs", one row per
node × KPI × period, plus `score:<perspective>` and `score:overall` rows (from `scores`, the §6 roll-up).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import periods, stats
from .config import KpiDef, ManualValue, Project, Target
from .errors import ConfigError
from .hierarchy import Hierarchy
from .kpis import BUILTINS, PER_MONTH_TARGETS, period_target

# Re-exported: the statuses and score bands are part of the scorecard's vocabulary.
from .scores import RAG, score, score_rows
from .scores import SCORE_AT_TARGET as SCORE_AT_TARGET
from .scores import SCORE_AT_THRESHOLD as SCORE_AT_THRESHOLD
from .scores import STATUSES as STATUSES
from .scores import Status as Status

COLUMNS = (
    "period",
    "node",
    "node_name",
    "perspective",
    "kpi",
    "value",
    "n",
    "ci_low",
    "ci_high",
    "target",
    "threshold",
    "status",
    "score",
    "prev_value",
    "mom_delta",
    "mom_significant",
    "yoy_delta",
    "yoy_significant",
    "kpi_version",
    "uncertain",
    "mom_test",
    "yoy_test",
    "scored",
    "total",
    "coverage",
)
"""Columns of scorecard.csv / .parquet and history.parquet, in order.

The last six say how far a figure can be trusted (DOMAIN.md §4, §6): `uncertain` (a RAG
status whose 95% interval contains the line it was judged against), `mom_test` and
`yoy_test` (`tested`, `not-tested` or `definition-changed`; missing when there is no
change to speak of), and on score rows `scored` of `total` parts (KPIs of a perspective,
perspectives of the overall score) carrying `coverage` (0–1) of the weight.
"""

TESTED, NOT_TESTED, DEFINITION_CHANGED = "tested", "not-tested", "definition-changed"
"""The values of `mom_test` / `yoy_test` (DOMAIN.md §4)."""

# --- §5 targets ------------------------------------------------------------------


def resolve_target(
    targets: Iterable[Target],
    kpi: str,
    node_chain: tuple[str, ...],
    period: str,
    since: str | None = None,
) -> Target | None:
    """The target row in force for `period` at the most specific node that has one (§5).

    `node_chain` is the node itself, then its ancestors nearest first; `*` comes last.
    Among a node's rows the latest `effective_from ≤ period` wins; rows that start
    later are never applied retroactively. `since` is the month the KPI's definition in
    force changed (None: it never did): a row from before it was set for the old
    definition and does not apply, so the KPI is `no-target` until one is stated for
    the new definition, and a definition change alone never turns a KPI red (§5).
    """
    rows = [
        t
        for t in targets
        if t.kpi == kpi
        and t.effective_from <= period
        and (since is None or t.effective_from >= since)
    ]
    for node in (*node_chain, "*"):
        mine = [t for t in rows if t.node == node]
        if mine:
            return max(mine, key=lambda t: t.effective_from)
    return None


def check_targets(targets: Iterable[Target], tree: Hierarchy, source: str = "targets.csv") -> None:
    """Every targets row must name a known node (or `*`)."""
    known = set(tree.ids)
    for t in targets:
        if t.node != "*" and t.node not in known:
            raise ConfigError(
                f"{source} line {t.line}: unknown node {t.node!r} "
                f"(known: {', '.join(sorted(known))})"
            )


# --- §5 status and §6 score ------------------------------------------------------


def status(
    value: float | None,
    n: float | None,
    *,
    direction: str,
    min_n: int | None,
    target: float | None,
    threshold: float | None,
) -> Status:
    """RAG status, direction-aware, with `no-data`, `insufficient` and `no-target` (§4, §5)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no-data"
    if min_n is not None and (n is None or (isinstance(n, float) and math.isnan(n)) or n < min_n):
        return "insufficient"
    if target is None or threshold is None or math.isnan(target) or math.isnan(threshold):
        return "no-target"
    if direction == "down":
        value, target, threshold = -value, -target, -threshold
    if value >= target:
        return "green"
    if value >= threshold:
        return "amber"
    return "red"


def uncertain(
    status_value: str,
    low: float | None,
    high: float | None,
    *,
    target: float | None,
    threshold: float | None,
) -> bool:
    """True when a RAG status's 95% interval contains the line it was judged against (§4).

    Green is judged against the target, red against the threshold, amber against both
    (it lies between them). A KPI without an interval (a census) is never uncertain.
    """
    if status_value not in RAG or _missing(low) or _missing(high):
        return False
    lines = {"green": (target,), "red": (threshold,), "amber": (target, threshold)}[status_value]
    return any(not _missing(x) and float(low) <= float(x) <= float(high) for x in lines)  # type: ignore[arg-type]


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def change_test(delta: float, *, sample: bool, manual: bool, same_definition: bool) -> str:
    """How a MoM or YoY change was judged (§4): `definition-changed` (not computed),
    `not-tested` (a census KPI, or either side a manual value), `tested`, or "" when
    there is no change (a side is missing)."""
    if _missing(delta):
        return ""
    if not same_definition:
        return DEFINITION_CHANGED
    return TESTED if sample and not manual else NOT_TESTED


# --- assembling the scorecard ----------------------------------------------------


@dataclass(frozen=True)
class Override:
    """A manual value that replaced (or supplied) a figure, for the audit appendix."""

    period: str
    node: str
    kpi: str
    computed_value: float | None
    value: float
    n: int | None
    author: str
    reason: str


@dataclass(frozen=True)
class Scorecard:
    """Every node × KPI × period in the computed range, and the manual values applied."""

    frame: pd.DataFrame
    overrides: tuple[Override, ...]

    def period(self, period: str) -> pd.DataFrame:
        return self.frame[self.frame["period"] == period].reset_index(drop=True)

    def window(self, last: str, months: int) -> pd.DataFrame:
        """The rows of the `months` periods up to `last` (periods of `last`'s cadence)."""
        first = periods.shift(last, -(months - 1))
        f = self.frame
        return f[(f["period"] >= first) & (f["period"] <= last)].reset_index(drop=True)


def _apply_manual(
    values: dict[str, pd.DataFrame],
    kpis: tuple[KpiDef, ...],
    manual: tuple[ManualValue, ...],
    tree: Hierarchy,
    index: pd.MultiIndex,
) -> tuple[dict[str, pd.DataFrame], tuple[Override, ...]]:
    """Fill manual KPIs and apply overrides from kpi_values.csv (§8)."""
    known = set(tree.ids)
    out = {k: v.copy() for k, v in values.items()}
    applied = []
    for k in kpis:
        if k.id not in out:
            out[k.id] = pd.DataFrame(
                index=index, columns=["value", "n", "ci_low", "ci_high", "se", "x"], dtype="float64"
            )
    months = set(index.get_level_values("month"))
    for mv in manual:
        if mv.node not in known:
            raise ConfigError(f"kpi_values.csv line {mv.line}: unknown node {mv.node!r}")
        month = periods.parse(mv.period)
        if month not in months:
            continue
        frame = out[mv.kpi]
        key = (mv.node, month)
        before = float(frame.at[key, "value"])  # type: ignore[arg-type]
        frame.loc[key, ["value", "n", "ci_low", "ci_high", "se", "x"]] = [
            mv.value,
            np.nan if mv.n is None else mv.n,
            np.nan,
            np.nan,
            np.nan,
            np.nan,
        ]
        applied.append(
            Override(
                period=mv.period,
                node=mv.node,
                kpi=mv.kpi,
                computed_value=None if math.isnan(before) else before,
                value=mv.value,
                n=mv.n,
                author=mv.author,
                reason=mv.reason,
            )
        )
    return out, tuple(applied)


def _significance(test: str | None, cur: pd.DataFrame, old: pd.DataFrame) -> np.ndarray:
    """§4: z for NPS-type changes from SEs, pooled two-proportion z for proportions."""
    if test is None:
        return np.full(len(cur), None, dtype=object)
    if test == "nps":
        z = stats.z_difference(cur["value"] - old["value"], cur["se"], old["se"])
        z = np.where(cur["se"].isna() | old["se"].isna(), np.nan, z)
    else:
        z = stats.z_two_proportions(cur["x"], cur["n"], old["x"], old["n"])
    return stats.significant(z)


def _kpi_rows(
    k: KpiDef,
    v: pd.DataFrame,
    project: Project,
    tree: Hierarchy,
    manual: frozenset[tuple[str, int]] = frozenset(),
    cadence: periods.Cadence = periods.MONTH,
) -> pd.DataFrame:
    """One KPI's scorecard rows: target, status, uncertainty, score and changes (§4–§6).

    `manual` holds the (node, month) pairs whose value is a manual value (kpi_values.csv).
    With a quarter or a year to date (`cadence`), the index holds its periods: the target
    and the definition are those in force at a period's last month (DOMAIN.md §8), and
    the changes compare with the previous period (QoQ in the `mom_*` columns) and the same
    period a year earlier.
    """
    nodes = v.index.get_level_values("node")
    months = v.index.get_level_values("month")
    df = v.reset_index()
    df["period"] = [cadence.label(int(m)) for m in months]
    # The month whose target and definition apply: the period's last month (§8).
    ref = (
        df["period"]
        if cadence.name == "month"
        else pd.Series([periods.label(cadence.month_range(int(m))[1]) for m in months])
    )
    chains = {n.id: (n.id, *n.ancestors) for n in tree.nodes}
    # The definition version (and its min_n) in force in each period (§8), and the month
    # that version took effect when it replaced an earlier one (targets before it lapse, §5).
    in_force = {p: k.in_force(p) for p in set(ref)}
    since = {p: k.changed_since(p) for p in in_force}
    resolved = [
        resolve_target(project.targets, k.id, chains[node], per, since[per])
        for node, per in zip(nodes, ref, strict=True)
    ]
    df["target"] = [t.target if t else np.nan for t in resolved]
    df["threshold"] = [t.threshold if t else np.nan for t in resolved]
    if cadence.name != "month" and k.id in PER_MONTH_TARGETS:
        # Targets are set per month: a quarter's revenue target is three months' (§8).
        for col in ("target", "threshold"):
            df[col] = [period_target(k.id, x, cadence.months) for x in df[col]]
    df["status"] = [
        status(val, n, direction=k.direction, min_n=in_force[per].min_n, target=tg, threshold=th)
        for val, n, tg, th, per in zip(
            df["value"], df["n"], df["target"], df["threshold"], ref, strict=True
        )
    ]
    df["score"] = [
        score(val, tg, th, k.direction) if st in RAG else np.nan
        for val, tg, th, st in zip(
            df["value"], df["target"], df["threshold"], df["status"], strict=True
        )
    ]
    df["uncertain"] = [
        uncertain(st, lo, hi, target=tg, threshold=th)
        for st, lo, hi, tg, th in zip(
            df["status"], df["ci_low"], df["ci_high"], df["target"], df["threshold"], strict=True
        )
    ]

    def shifted(months_back: int) -> pd.DataFrame:
        idx = pd.MultiIndex.from_arrays([nodes, months - months_back], names=v.index.names)
        return v.reindex(idx).reset_index(drop=True)

    test = BUILTINS[k.id].test if k.source == "builtin" else None
    per_year = cadence.per_year
    version = {
        int(m): k.in_force(periods.label(cadence.month_range(int(m))[1])).version
        for m in set(months) | set(months - per_year) | set(months - 1)
    }
    cur = v.reset_index(drop=True)
    prev, year = shifted(1), shifted(per_year)
    df["prev_value"] = prev["value"].to_numpy()
    for which, back, old in (("mom", 1, prev), ("yoy", per_year, year)):
        delta = (df["value"] - old["value"]).to_numpy()
        same = np.array([version[m] == version[m - back] for m in months], dtype=bool)
        df[f"{which}_test"] = [
            change_test(
                d,
                sample=test is not None,
                manual=(node, m) in manual or (node, m - back) in manual,
                same_definition=ok,
            )
            for d, node, m, ok in zip(delta, nodes, months, same, strict=True)
        ]
        # Across a definition change the two sides measure different things: no change (§4).
        df[f"{which}_delta"] = np.where(same, delta, np.nan)
        sig = _significance(test, cur, old)
        df[f"{which}_significant"] = np.where(
            df[f"{which}_test"] == TESTED, sig, np.asarray(None, dtype=object)
        )
    df["kpi"] = k.id
    df["perspective"] = k.perspective
    df["kpi_version"] = [str(in_force[p].version) for p in ref]
    return df


def build(
    project: Project,
    tree: Hierarchy,
    values: dict[str, pd.DataFrame],
    index: pd.MultiIndex,
    manual: tuple[ManualValue, ...] = (),
    cadence: periods.Cadence = periods.MONTH,
) -> Scorecard:
    """Assemble the full scorecard frame from per-KPI values.

    With a quarter or a year to date (`cadence`, the index holding its periods), manual
    values are not applied: kpi_values.csv holds monthly figures, and a longer period's
    figure is computed from the raw rows only (DOMAIN.md §8); a manual KPI is `no-data`.
    """
    check_targets(project.targets, tree)
    if cadence.name != "month":
        manual = ()
    values, overrides = _apply_manual(values, project.kpis, manual, tree, index)
    by_kpi = {
        k.id: frozenset((o.node, periods.parse(o.period)) for o in overrides if o.kpi == k.id)
        for k in project.kpis
    }
    kpi_rows = pd.concat(
        [_kpi_rows(k, values[k.id], project, tree, by_kpi[k.id], cadence) for k in project.kpis],
        ignore_index=True,
    )
    scores = score_rows(kpi_rows, project, cadence.per_year)
    scores["mom_significant"] = None
    scores["yoy_significant"] = None
    # A score's change is a difference of weighted means: no test applies (§4).
    for which in ("mom", "yoy"):
        scores[f"{which}_test"] = np.where(scores[f"{which}_delta"].notna(), NOT_TESTED, "")
    scores["uncertain"] = False
    frame = pd.concat([kpi_rows, scores], ignore_index=True)
    names = {n.id: n.name for n in tree.nodes}
    frame["node_name"] = frame["node"].map(names)
    node_order = {nid: i for i, nid in enumerate(tree.ids)}
    kpi_order = {
        **{
            k.id: i
            for i, k in enumerate(
                sorted(project.kpis, key=lambda k: project.perspective_ids.index(k.perspective))
            )
        },
        **{f"score:{p}": 1000 + i for i, p in enumerate(project.perspective_ids)},
        "score:overall": 2000,
    }
    frame["_n"] = frame["node"].map(node_order)
    frame["_k"] = frame["kpi"].map(kpi_order)
    frame = frame.sort_values(["month", "_n", "_k"], kind="stable")
    frame["n"] = frame["n"].astype("Int64")
    for col in ("scored", "total"):
        frame[col] = frame[col].astype("Int64")
    for col in ("mom_significant", "yoy_significant"):
        frame[col] = frame[col].astype("boolean")
    frame["uncertain"] = frame["uncertain"].astype(bool)
    for col in ("mom_test", "yoy_test"):
        # No change to speak of is a missing value: an empty cell in the CSV, null in Parquet.
        frame[col] = frame[col].replace("", None).astype("string")
    frame = frame[list(COLUMNS)].reset_index(drop=True)
    return Scorecard(frame=frame, overrides=overrides)


def red_streaks(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """Consecutive red periods ending at `period`, per node × KPI (DOMAIN.md §8 escalation).

    Returns columns node, kpi, streak, since (first period of the streak); KPIs not
    red in `period` have streak 0. A period with no row (no data) breaks a streak.
    """
    kpi_rows = frame[~frame["kpi"].str.startswith("score:") & (frame["period"] <= period)]
    out = []
    for (node, kpi), g in kpi_rows.groupby(["node", "kpi"], sort=False):
        by_period = dict(zip(g["period"], g["status"], strict=True))
        streak, p = 0, period
        while by_period.get(p) == "red":
            streak += 1
            p = periods.shift(p, -1)
        out.append((node, kpi, streak, periods.shift(period, -(streak - 1)) if streak else None))
    return pd.DataFrame(out, columns=["node", "kpi", "streak", "since"])


def escalations(frame: pd.DataFrame, period: str, after: int) -> pd.DataFrame:
    """KPIs red for at least `after` consecutive periods up to `period` (default 3)."""
    s = red_streaks(frame, period)
    return s[s["streak"] >= after].reset_index(drop=True)


def resolved_escalations(frame: pd.DataFrame, period: str, after: int) -> pd.DataFrame:
    """KPIs escalated in the previous period and no longer red in `period` (DOMAIN.md §8).

    Listed for this one period only. Columns node, kpi, streak and since (of the red
    run that ended) and status (now); a KPI with no row in `period` is not resolved.
    """
    prev = escalations(frame, periods.shift(period, -1), after)
    cols = ["node", "kpi", "streak", "since", "status"]
    if prev.empty:
        return pd.DataFrame(columns=cols)
    now = frame[(frame["period"] == period) & ~frame["kpi"].str.startswith("score:")]
    now = now[now["status"] != "red"][["node", "kpi", "status"]]
    return prev.merge(now, on=["node", "kpi"], how="inner")[cols].reset_index(drop=True)
