"""What each section of the board pack prints: one frozen record per section, already formatted.

The templates only lay these out; every figure is a string by the time it gets here, so a
template cannot format a number differently from the rest of the pack. `PackView` holds
the sections in the order of the pack; `Page` is a page an analyst added from the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from markupsafe import Markup

from ..formatting import StatusStyle
from .appendix_records import (
    DefinitionView,
    ManualView,
    MethodView,
    QualityView,
    RaciView,
)
from .page_records import CoverFlag, Restatement

Status = Literal["green", "amber", "red", "insufficient", "no-target", "no-data"]
"""A KPI's or score's status this month (DOMAIN.md §5); "no-data" when there is no value."""

Tone = Literal["good", "bad", "flat", "ns", "none"]
"""How a change reads: favourable, unfavourable, no change, not significant, or no change known."""


@dataclass(frozen=True)
class Cell:
    """A formatted delta: text, favourable or not, and its significance mark."""

    text: str
    tone: Tone
    mark: str
    significant: bool = False
    """The scorecard records this change as tested and significant at 95% (DOMAIN.md §4);
    headlines claim significance only then."""


@dataclass(frozen=True)
class Score:
    """A 0–10 score (overall or a perspective's) with its status and change on last month."""

    score: str
    status: StatusStyle
    status_id: Status
    change: str
    coverage: str = ""
    """"3 of 4 KPIs scored" (DOMAIN.md §6); empty when the row is missing."""
    reason: str = ""
    """Why there is no score: too little of the weight scored (§6); empty when scored."""


@dataclass(frozen=True)
class KpiView:
    """One KPI of the pack's node: its row of the scorecard, its card and its charts."""

    id: str
    name: str
    kind: str
    owner: str
    responsible: str
    sample: bool
    min_n: int | None
    manual: bool
    breaks: tuple[tuple[str, str, str], ...]
    spark: str
    trend: str
    comparison: str
    additive: bool
    value: str
    target: str
    has_target: bool
    threshold: str
    status: StatusStyle
    status_id: Status
    mom: Cell
    yoy: Cell
    n: str
    low_n: bool
    interval: str
    uncertain: bool = False
    """The 95% interval contains the target or red line the status was judged against (§4)."""
    annualised: str = ""
    """A monthly rate's annualised equivalent ("29.8% annualised"), for attrition."""
    n_text: str = "–"
    """n with what it counts ("1,524 responses", "443 invoices"), for the KPI cards."""
    child_manual: tuple[str, ...] = ()
    """Names of nodes below this one whose figure of this KPI is a manual value (§6)."""


@dataclass(frozen=True)
class PerspectiveView:
    """A perspective: its score, its KPIs and its commentary section (None when not written)."""

    id: str
    name: str
    weight: float
    score: Score
    kpis: tuple[KpiView, ...]
    commentary: Markup | None
    headline: str = ""  # the page's point in one sentence, from the figures (`headlines`)


@dataclass(frozen=True)
class MoverView:
    """A row of the summary's biggest movers."""

    kpi: str
    perspective: str
    prev: str
    value: str
    delta: str
    tone: Tone
    basis: str


@dataclass(frozen=True)
class NoteView:
    """The latest commentary on an escalated KPI, or the line saying there is none (DOMAIN.md §8)."""

    html: Markup | None
    source: str
    flags: tuple[str, ...]
    more: str
    none: str


@dataclass(frozen=True)
class ActionView:
    """An action on an escalated KPI (DOMAIN.md §8): what, who, by when, and where it stands."""

    action: str
    owner: str
    due: str
    status: str
    """`Open`, `Done` or `Dropped`."""
    status_id: str
    overdue: bool
    """Open and due before the day of the data cut-off."""


@dataclass(frozen=True)
class ActionsView:
    """The actions on one KPI at one node, or the line saying there is none."""

    items: tuple[ActionView, ...]
    source: str
    """`Actions recorded in March 2026` (the commentary they come from), or ""."""
    none: str
    """`No action recorded` for an escalated KPI without one, `No open action` for one whose
    actions are all done or dropped; else ""."""
    count: str
    """`2 open, 1 overdue` or `No action recorded`: the one cell of the escalations below."""


@dataclass(frozen=True)
class EscalationView:
    """A KPI on a red streak (escalated, approaching, or resolved this month)."""

    kpi: str
    perspective: str
    owner: str
    responsible: str
    since: str
    streak: int
    value: str
    target: str
    threshold: str
    note: NoteView | None = None
    status: StatusStyle | None = None
    """The status now, for a resolved escalation."""
    actions: ActionsView | None = None
    """Its actions (escalated and approaching KPIs, and those of the nodes below)."""


@dataclass(frozen=True)
class StatusCell:
    status_id: str
    status: StatusStyle


@dataclass(frozen=True)
class StatusHistoryRow:
    """One KPI's status in each of the recent months."""

    kpi: str
    cells: tuple[StatusCell, ...]


@dataclass(frozen=True)
class TableCell:
    text: str
    numeric: bool
    """Right-aligned with tabular figures."""


@dataclass(frozen=True)
class PageTable:
    """A table an analyst added, every cell already text (numbers grouped, missing as a dash)."""

    header: tuple[TableCell, ...]
    rows: tuple[tuple[TableCell, ...], ...]


@dataclass(frozen=True)
class Page:
    """A page an analyst added from the notebook: a title, then a chart or a table (or both).

    Rendered after the escalations, listed in the contents and the PDF bookmarks.
    """

    id: str
    """The page's anchor in the document (`page-<slug of the title>`)."""
    title: str
    image: str = ""
    """The chart as a `data:` URI of its SVG, or ""."""
    table: PageTable | None = None
    caption: str = ""


@dataclass(frozen=True)
class ContentsEntry:
    href: str
    title: str
    sub: bool = False


@dataclass(frozen=True)
class HeatCellView:
    """One score of the heat-map: the score (or a dash) on its status colour."""

    text: str
    status: StatusStyle
    status_id: Status


@dataclass(frozen=True)
class HeatRowView:
    """A child (depth 1) or a grandchild (depth 2, indented under its parent) of the node."""

    node_id: str
    name: str
    depth: int
    cells: tuple[HeatCellView, ...]
    reds: int
    escalations: int
    escalations_below: int = 0
    """Escalations of the nodes below this row's node."""


@dataclass(frozen=True)
class NodeTally:
    """A node below the pack's node: its escalations and KPIs off target this month."""

    name: str
    escalations: int
    reds: int


@dataclass(frozen=True)
class BelowMover:
    """A mover of a node below the pack's node."""

    node: str
    kpi: str
    prev: str
    value: str
    delta: str
    tone: Tone
    basis: str


@dataclass(frozen=True)
class Below:
    """What the nodes below the pack's node have this month (DOMAIN.md §2, §8)."""

    shown: bool
    """Only for a node with children."""
    nodes: int
    escalations: int
    escalations_where: str
    """`9 in SMB · LATAM and 2 in Enterprise · LATAM`."""
    reds: int
    reds_where: str
    tallies: tuple[NodeTally, ...]
    """The nodes with an escalation or a red KPI, most escalations first (a few)."""
    more: int
    """Nodes with an escalation or a red KPI not in `tallies`."""
    movers: tuple[BelowMover, ...]
    movers_total: int
    movers_nodes: int = 0
    """The nodes the movers are looked for in: the next two levels down."""


@dataclass(frozen=True)
class NodeEscalations:
    """The escalations of one node below the pack's node."""

    node_id: str
    name: str
    items: tuple[EscalationView, ...]


@dataclass(frozen=True)
class ChannelRow:
    """One channel's figure of a KPI: value, 95% interval (survey KPIs) and n."""

    channel: str
    value: str
    interval: str
    n: str
    low_n: bool
    """Fewer observations than the KPI's minimum n: shown grey, not to be compared."""


@dataclass(frozen=True)
class ChannelKpi:
    name: str
    rows: tuple[ChannelRow, ...]


@dataclass(frozen=True)
class Verbatim:
    """A customer's comment, redacted, with its score, channel, node and date."""

    text: str
    score: str
    channel: str
    node: str
    date: str
    same: int = 0
    """How many other customers left the same comment this month."""


# --- the sections -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The document's title and metadata (the PDF's title, author, keywords and dates)."""

    title: str
    company: str
    node_id: str
    node_name: str
    period: str
    period_name: str
    generator: str
    created: str


@dataclass(frozen=True)
class Cover:
    company: str
    node_name: str
    is_company: bool
    period_name: str
    prev_name: str
    classification: str
    overall: Score
    as_of: str
    as_of_recorded: bool
    restated: str | None
    generator: str
    messages: tuple[str, ...] = ()
    """The three key messages (`cover_views.key_messages`)."""
    flags: tuple[CoverFlag, ...] = ()
    """Restated, quality gate overridden: shown when they apply."""


@dataclass(frozen=True)
class Contents:
    entries: tuple[ContentsEntry, ...]
    statuses: tuple[tuple[Status, StatusStyle], ...]
    escalate_after: int


@dataclass(frozen=True)
class Summary:
    overall: Score
    groups: tuple[PerspectiveView, ...]
    counts: dict[str, int]
    n_kpis: int
    escalations: int
    escalate_after: int
    overview: str
    movers: tuple[MoverView, ...]
    prev_name: str
    period_name: str
    commentary: Markup | None
    draft: bool
    stale: bool
    below: Below | None = None
    """The escalations, reds and movers of the descendants (None for a node without children)."""
    sources: tuple[str, ...] = ()
    """Where each mover came from: one sentence per mover split over the children (§9)."""
    actions: str = ""
    """`4 open actions, 1 overdue` on the node's escalated KPIs (§8); "" without escalations."""
    headline: str = ""  # the page's point in one sentence, from the figures (`headlines`)


@dataclass(frozen=True)
class HeatMap:
    """The descendants of the node against its scores, worst first (a node with children only)."""

    shown: bool
    title: str
    """`Scores by segment and region`: also the contents entry."""
    node_name: str
    columns: tuple[str, ...]
    rows: tuple[HeatRowView, ...]
    notes: tuple[str, ...]
    """What the map leaves out, one line each."""
    headline: str = ""  # the page's point in one sentence, from the figures (`headlines`)
    grid_title: str = ""
    """`Every KPI by segment`: the grid's heading (the children's level)."""
    grid_nodes: tuple[str, ...] = ()
    """The children heading the KPI grid (empty: no grid; the map fills its page)."""
    grid: tuple[KpiGridRow, ...] = ()
    """Each KPI at each child, for a map of few rows (`cascade_views.GRID_ROWS`)."""


@dataclass(frozen=True)
class KpiGridRow:
    """One KPI across the children: its perspective and a cell (value, status) per child."""

    kpi: str
    perspective: str
    first: bool
    """The first KPI of its perspective (the grid draws a rule above it)."""
    cells: tuple[HeatCellView, ...]


@dataclass(frozen=True)
class Scorecard:
    period_name: str
    prev_name: str
    groups: tuple[PerspectiveView, ...]
    headline: str = ""  # the page's point in one sentence, from the figures (`headlines`)


@dataclass(frozen=True)
class Perspectives:
    groups: tuple[PerspectiveView, ...]
    trend_months: int
    headline: str = ""  # the page's point in one sentence, from the figures (`headlines`)


@dataclass(frozen=True)
class Comparison:
    title: str
    node_name: str
    children: tuple[str, ...]
    groups: tuple[PerspectiveView, ...]
    shown: bool
    """In the pack only for a node with children (and their charts)."""
    summary: str = ""
    """For a node with more children than a chart draws: what the page shows instead."""
    notes: tuple[tuple[str, str], ...] = ()
    """(KPI id, the line under its chart: top and bottom drawn, the others summarised)."""
    headline: str = ""  # the page's point in one sentence, from the figures (`headlines`)

    def note(self, kpi_id: str) -> str:
        """The line under one KPI's chart, or empty."""
        return dict(self.notes).get(kpi_id, "")


@dataclass(frozen=True)
class Channels:
    """Survey KPIs by response channel and ticket KPIs by ticket channel, this month."""

    shown: bool
    period_name: str
    surveys: tuple[ChannelKpi, ...]
    tickets: tuple[ChannelKpi, ...]
    headline: str = ""  # the page's point in one sentence, from the figures (`headlines`)


@dataclass(frozen=True)
class Verbatims:
    """The node's top NPS comments of the month: detractors and promoters, redacted."""

    shown: bool
    period_name: str
    detractors: tuple[Verbatim, ...]
    promoters: tuple[Verbatim, ...]
    n_detractors: int
    n_promoters: int
    headline: str = ""  # the page's point in one sentence, from the figures (`headlines`)


@dataclass(frozen=True)
class Escalations:
    period_name: str
    escalate_after: int
    escalations: tuple[EscalationView, ...]
    approaching: tuple[EscalationView, ...]
    resolved: tuple[EscalationView, ...]
    history_months: tuple[str, ...]
    status_history: tuple[StatusHistoryRow, ...]
    below: tuple[NodeEscalations, ...] = ()
    """The escalations of the nodes below, grouped by node (most first)."""
    below_more: str = ""
    """What the list of escalations below leaves out, or ""."""
    actions: str = ""
    """`4 open actions, 1 overdue` on the escalated KPIs (DOMAIN.md §8), or ""."""
    actions_below: str = ""
    """The same for the escalations below listed, or ""."""
    actions_day: str = ""
    """The day overdue actions are judged on (the data cut-off), as the pack writes it."""
    headline: str = ""  # the page's point in one sentence, from the figures (`headlines`)


@dataclass(frozen=True)
class Appendix:
    node_name: str
    quality: QualityView | None
    methodology: tuple[MethodView, ...]
    definition_history: tuple[DefinitionView, ...]
    raci: tuple[RaciView, ...]
    manual: tuple[ManualView, ...]


@dataclass(frozen=True)
class PackView:
    """Every section of one pack, in order (the heat-map and comparison only when `shown`)."""

    head: Head
    cover: Cover
    contents: Contents
    restatement: Restatement
    heatmap: HeatMap
    summary: Summary
    scorecard: Scorecard
    perspectives: Perspectives
    comparison: Comparison
    channels: Channels
    verbatims: Verbatims
    escalations: Escalations
    pages: tuple[Page, ...]
    appendix: Appendix

    def variables(self) -> dict[str, object]:
        """The template's variables: one per section, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
