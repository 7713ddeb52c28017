"""Analysts' commentary: Markdown files per node and period, rendered safely, and drafts from the figures.

`files` reads a commentary file (front matter, one section per part of the pack) into a
`Commentary`, refusing a file that leads outside the project; `tidy` keeps hostile text
from breaking the page (bidi controls, deep quotes, wide tables); `notes` finds what the commentary says about one KPI for the escalations
page (DOMAIN.md §8), and the actions recorded on it (`kpi_actions`); `drafts` writes a starting point from the figures.
"""

from __future__ import annotations

from .drafts import draft, write_drafts
from .files import (
    SAFE_SCHEMES,
    SUMMARY,
    Commentary,
    OutsideProjectError,
    actions_of,
    check_folder,
    check_period,
    inside_project,
    is_draft,
    is_stale,
    load,
    markdown,
    parse,
    path_for,
    split_front_matter,
    stale_commentaries,
    tidy_text,
    to_html,
)
from .notes import (
    MAX_PASSAGES,
    KpiActions,
    KpiMatcher,
    KpiNote,
    Passage,
    aliases,
    kpi_actions,
    kpi_note,
    kpi_notes,
    passages,
    quote,
)
from .tidy import (
    BIDI_CONTROLS,
    MAX_QUOTE_DEPTH,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    bidi_count,
    strip_bidi,
    truncation_note,
)

__all__ = [
    "BIDI_CONTROLS",
    "MAX_PASSAGES",
    "MAX_QUOTE_DEPTH",
    "MAX_TABLE_COLUMNS",
    "MAX_TABLE_ROWS",
    "SAFE_SCHEMES",
    "SUMMARY",
    "Commentary",
    "KpiActions",
    "KpiMatcher",
    "KpiNote",
    "OutsideProjectError",
    "Passage",
    "actions_of",
    "aliases",
    "bidi_count",
    "check_folder",
    "check_period",
    "draft",
    "inside_project",
    "is_draft",
    "is_stale",
    "kpi_actions",
    "kpi_note",
    "kpi_notes",
    "load",
    "markdown",
    "parse",
    "passages",
    "path_for",
    "quote",
    "split_front_matter",
    "stale_commentaries",
    "strip_bidi",
    "tidy_text",
    "to_html",
    "truncation_note",
    "write_drafts",
]
