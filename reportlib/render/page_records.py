"""Records of the pages the design round added: the cover's flags, the restatement page and
the heat-map's grid of every KPI at each child (formatted, as `records`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..formatting import StatusStyle


@dataclass(frozen=True)
class CoverFlag:
    """A warning on the cover: `kind` (restated, quality-override) and its text."""

    kind: str
    text: str


@dataclass(frozen=True)
class RestatementRow:
    """A figure or status of the node or a descendant that differs from the previous version."""

    node: str
    kpi: str
    before: str
    after: str
    change: str
    status_before: StatusStyle
    status_after: StatusStyle
    before_id: str = "no-data"
    after_id: str = "no-data"


@dataclass(frozen=True)
class Restatement:
    """The restatement page (DOMAIN.md §8): shown when the period's figures were restated."""

    shown: bool
    title: str = "Restatement"
    reason: str = ""
    rows: tuple[RestatementRow, ...] = ()
    more: int = 0
    """Changed rows not listed (beyond the page's limit)."""
