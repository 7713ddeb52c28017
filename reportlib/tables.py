"""The two tables both the CLI and the notebooks show: scores by node, and data quality per table.

Pure functions from the figures (a period's scorecard rows) or the quality report to a
pandas DataFrame. `reportlib compute`/`run` and `validate` print them with rich; the
scorecard notebook displays them as they are. One definition, so the two never disagree.
"""

from __future__ import annotations

import pandas as pd

from .config import Project
from .quality import QualityReport

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


def quality_table(report: QualityReport) -> pd.DataFrame:
    """Rows in, kept and quarantined per table, the quarantined share (%) and the rule hits.

    Indexed by table name in the report's order; rows in = kept + quarantined rows, each
    quarantined row once; `rule hits` reads "repeat_response 1, ..." and counts a row
    under every rule it broke, so its sum may exceed the rows quarantined (rules with
    no hit are left out). Empty without tables.
    """
    rows = [
        {
            "table": name,
            "rows in": t.rows_in,
            "kept": t.rows_kept,
            "quarantined": t.rows_quarantined,
            "share %": round(100 * t.reject_share, 2),
            "rule hits": ", ".join(f"{r} {n:,}" for r, n in t.by_rule.items() if n),
        }
        for name, t in report.tables.items()
    ]
    return pd.DataFrame(rows).set_index("table") if rows else pd.DataFrame()


def gate_outcome(report: QualityReport) -> str:
    """`passed`, `overridden` (failed, accepted with a reason) or `failed`."""
    gate = report.gate
    return "passed" if gate.passed else "overridden" if gate.accepted else "failed"


def gate_line(report: QualityReport) -> str:
    """One line on the quality gate: its outcome, the reason for an override and the limit."""
    gate = report.gate
    reason = f": {gate.reason}" if gate.reason else ""
    limit = f" (limit {100 * gate.max_reject_share:g}% quarantined per table)"
    return f"quality gate {gate_outcome(report)}{reason}{limit}"
