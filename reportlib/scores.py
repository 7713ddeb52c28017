"""Scores 0–10 and their roll-up to perspectives and the overall score (DOMAIN.md §6).

A KPI's score is piecewise linear in its value (threshold ↦ 10/3, target ↦ 20/3); a
perspective's is the weighted mean of its KPIs' scores and the overall score the weighted
mean of the perspectives', each only when the scored parts carry at least half of the
weight (the coverage rule), else `insufficient`. Split from `scorecard`, which assembles
the rows; this module knows nothing of targets or tests.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np
import pandas as pd

from .config import Project

MIN_COVERAGE = 0.5
"""A perspective (or the overall score) is scored only when its scored parts carry at least
this share of its weight (DOMAIN.md §6)."""

# §6: the threshold maps to 3.33 and the target to 6.67 (exactly 10/3 and 20/3).
SCORE_AT_THRESHOLD = 10.0 / 3.0
SCORE_AT_TARGET = 20.0 / 3.0

Status = Literal["green", "amber", "red", "insufficient", "no-target", "no-data"]
"""A KPI's or score's status (DOMAIN.md §5): RAG, or why there is none."""
STATUSES: tuple[Status, ...] = get_args(Status)
RAG: tuple[Status, ...] = ("green", "amber", "red")


def score(value: float, target: float, threshold: float, direction: str) -> float:
    """Piecewise-linear 0–10 score: threshold ↦ 10/3, target ↦ 20/3, same slope beyond, clipped (§6).

    The same formula serves both directions because (v − thr)/(tgt − thr) already
    changes sign with them. A target equal to its threshold leaves no slope: meeting
    it scores 20/3, better 10, worse 0.
    """
    if target == threshold:
        better = value > target if direction == "up" else value < target
        if value == target:
            return SCORE_AT_TARGET
        return 10.0 if better else 0.0
    s = SCORE_AT_THRESHOLD + (value - threshold) / (target - threshold) * (
        SCORE_AT_TARGET - SCORE_AT_THRESHOLD
    )
    return min(10.0, max(0.0, s))


def band(score_value: float | None) -> Status:
    """Status of a perspective or overall score: red [0, 3.33), amber [3.33, 6.67), green (§6)."""
    if score_value is None or math.isnan(score_value):
        return "no-data"
    if score_value >= SCORE_AT_TARGET:
        return "green"
    if score_value >= SCORE_AT_THRESHOLD:
        return "amber"
    return "red"


def roll_up(rows: pd.DataFrame, by: list[str], weight: str) -> pd.DataFrame:
    """Weighted mean of `score` per group, ignoring missing scores and renormalising (§6).

    Besides `value` (the mean, NaN when nothing is scored) and `n` (parts scored), gives
    `total` (parts), `scored_weight` and `weight` (of all parts): the coverage rule's inputs.
    """
    scored = rows["score"].notna()
    w = rows[weight].where(scored, 0.0)
    parts = pd.DataFrame(
        {
            "num": (rows["score"].fillna(0.0) * w),
            "scored_weight": w,
            "weight": rows[weight],
            "n": scored.astype(int),
            "total": 1,
        }
    ).join(rows[by])
    cols = ["num", "scored_weight", "weight", "n", "total"]
    g = parts.groupby(by, sort=False)[cols].sum().reset_index()
    den = g["scored_weight"]
    g["value"] = np.where(den > 0, g["num"] / den.where(den > 0, 1.0), np.nan)
    return g.drop(columns=["num"])


def covered(scored_weight: float, weight: float) -> bool:
    """The half-of-the-weight rule (§6): scored parts carry at least half the weight.

    Exactly half counts as covered; the comparison allows for rounding in the sums
    (weights such as 1/3 do not add up exactly in binary).
    """
    if not weight > 0 or not scored_weight > 0:
        return False
    return scored_weight / weight >= MIN_COVERAGE - 1e-9


def _covered_scores(g: pd.DataFrame, has_data: pd.Series) -> pd.DataFrame:
    """Apply the coverage rule to a `roll_up`: the score only when covered, and its status:
    its band, `insufficient` when not covered, `no-data` when no part has a value (§6)."""
    out = g.copy()
    ok = [covered(a, b) for a, b in zip(out["scored_weight"], out["weight"], strict=True)]
    out["value"] = np.where(ok, out["value"], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["coverage"] = np.where(out["weight"] > 0, out["scored_weight"] / out["weight"], np.nan)
    out["status"] = [
        band(v) if good else ("insufficient" if data else "no-data")
        for v, good, data in zip(out["value"], ok, has_data, strict=True)
    ]
    return out


def score_rows(kpi_rows: pd.DataFrame, project: Project, per_year: int = 12) -> pd.DataFrame:
    """Perspective and overall scores per node × period (§6), as scorecard rows.

    A perspective is scored only when its scored KPIs carry at least half of its weight
    (and the overall score only when its scored perspectives do); otherwise it is
    `insufficient`, with no score. `scored`, `total` and `coverage` say why.
    `per_year`: periods a year of the rows' cadence (12 months, 4 quarters), for the
    year-on-year change.
    """
    weights = {k.id: k.weight for k in project.kpis}
    pw = {p.id: p.weight for p in project.hierarchy.perspectives}
    keys = ["node", "month", "period"]
    # Every perspective with KPIs gets a row for every node × month, scored or not; one without
    # KPIs is left out, and the overall score's weights renormalise over the others (§6).
    present = [p for p in project.perspective_ids if p in set(kpi_rows["perspective"])]
    k = kpi_rows[[*keys, "perspective", "score"]].assign(
        w=kpi_rows["kpi"].map(weights), data=(kpi_rows["status"] != "no-data").astype(int)
    )
    by = [*keys, "perspective"]
    g = roll_up(k, by, "w").merge(k.groupby(by, sort=False)["data"].sum().reset_index(), on=by)
    persp = _covered_scores(g, g["data"] > 0)
    persp = persp[persp["perspective"].isin(present)].reset_index(drop=True)
    persp["kpi"] = "score:" + persp["perspective"]
    parts = persp.rename(columns={"value": "score"}).assign(w=persp["perspective"].map(pw))
    og = roll_up(parts, keys, "w").merge(
        parts.assign(data=(parts["status"] != "no-data").astype(int))
        .groupby(keys, sort=False)["data"]
        .sum()
        .reset_index(),
        on=keys,
    )
    overall = _covered_scores(og, og["data"] > 0)
    overall["perspective"] = "overall"
    overall["kpi"] = "score:overall"
    rows = pd.concat([persp, overall], ignore_index=True)
    cols = ["node", "month", "period", "perspective", "kpi", "value", "n", "total", "coverage"]
    df = rows[[*cols, "status"]].copy()
    df["scored"] = df["n"].astype(int)
    df["total"] = df["total"].astype(int)
    df["score"] = df["value"]
    df["target"] = SCORE_AT_TARGET
    df["threshold"] = SCORE_AT_THRESHOLD
    idx = df.set_index(["node", "kpi", "month"])["value"]

    def back(months_back: int) -> np.ndarray:
        keys = pd.MultiIndex.from_arrays([df["node"], df["kpi"], df["month"] - months_back])
        return idx.reindex(keys).to_numpy()

    df["prev_value"] = back(1)
    df["mom_delta"] = df["value"] - df["prev_value"]
    df["yoy_delta"] = df["value"] - back(per_year)
    df["kpi_version"] = None
    return df


def coverage_phrase(scored: int, total: int, overall: bool = False) -> str:
    """ "3 of 4 KPIs scored" ("2 of 4 perspectives scored" for the overall score) (§6)."""
    return f"{scored} of {total} {'perspectives' if overall else 'KPIs'} scored"
