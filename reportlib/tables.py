"""The two tables both the CLI and the notebooks show: scores by node, and data quality per table.

Pure functions from the figures (a period's scorecard rows) or the quality report to a
pandas DataFrame. `reportlib compute`/`run` and `validate` print them with rich; the
scorecard notebook displays them as they are. One definition, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .config import Project

OVERALL = "Overall"
"""The summary's column of overall scores."""


def summary_by_node(project: Project, current: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """Nodes × perspective scores (0–10), overall score and overall status for one period.

    Indexed by node id in the scorecard's order (parents before their children); columns
    `node` (its name), one per perspective (by name), `Overall` and `status`. Scores are
    rounded to `decimals`; a node without a score shows NaN.
    """
    scores = current[current["kpi"].str.startswith("score:")]
    wide = scores.pivot_table(
        index="node", columns="kpi", values="value", aggfunc="first", dropna=False
    )
    status = scores[scores["kpi"] == "score:overall"].set_index("node")["status"]
    names = current.drop_duplicates("node").set_index("node")["node_name"]
    order = list(dict.fromkeys(current["node"]))
    columns = {f"score:{p.id}": p.name for p in project.hierarchy.perspectives}
    columns["score:overall"] = OVERALL
    table = wide.reindex(index=order, columns=list(columns)).rename(columns=columns)
    table = table.round(decimals)
    table.insert(0, "node", names.reindex(order))
    table["status"] = status.reindex(order)
    table.index.name = "id"
    table.columns.name = None
    return table


def _dict(x: object) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def quality_table(report: Mapping[str, Any]) -> pd.DataFrame:
    """Rows in, kept and quarantined per table, the quarantined share (%) and the rules that hit.

    Indexed by table name in the report's order; `by rule` reads "repeat_response 1, ..."
    (rules with no rejected row are left out). Empty without tables.
    """
    rows = []
    for name, t in _dict(report.get("tables")).items():
        if not isinstance(t, Mapping):
            continue
        share = t.get("reject_share")
        rows.append(
            {
                "table": name,
                "rows in": t.get("rows_in"),
                "kept": t.get("rows_kept"),
                "quarantined": t.get("rows_quarantined"),
                "share %": None if share is None else round(100 * float(share), 2),
                "by rule": ", ".join(f"{r} {n:,}" for r, n in _dict(t.get("by_rule")).items() if n),
            }
        )
    return pd.DataFrame(rows).set_index("table") if rows else pd.DataFrame()


def gate_outcome(report: Mapping[str, Any]) -> str:
    """`passed`, `overridden` (failed, accepted with a reason) or `failed`."""
    gate = _dict(report.get("gate"))
    return "passed" if gate.get("passed") else "overridden" if gate.get("accepted") else "failed"


def gate_line(report: Mapping[str, Any]) -> str:
    """One line on the quality gate: its outcome, the reason for an override and the limit."""
    gate = _dict(report.get("gate"))
    reason = f": {gate['reason']}" if gate.get("reason") else ""
    limit = gate.get("max_reject_share")
    limit_text = "" if limit is None else f" (limit {100 * float(limit):g}% quarantined per table)"
    return f"quality gate {gate_outcome(report)}{reason}{limit_text}"
