"""Analysts' commentary: Markdown files per node and period, rendered safely, and drafts from the figures.

`files` reads a commentary file (front matter, one section per part of the pack) into a
`Commentary`; `notes` finds what the commentary says about one KPI for the escalations
page (DOMAIN.md §8); `drafts` writes a starting point from the figures.
"""

from __future__ import annotations

from .drafts import draft, write_drafts
from .files import (
    SAFE_SCHEMES,
    SUMMARY,
    Commentary,
    is_draft,
    is_stale,
    load,
    markdown,
    parse,
    path_for,
    split_front_matter,
    stale_commentaries,
    to_html,
)
from .notes import (
    MAX_PASSAGES,
    KpiMatcher,
    KpiNote,
    Passage,
    aliases,
    kpi_note,
    kpi_notes,
    passages,
    quote,
)

__all__ = [
    "MAX_PASSAGES",
    "SAFE_SCHEMES",
    "SUMMARY",
    "Commentary",
    "KpiMatcher",
    "KpiNote",
    "Passage",
    "aliases",
    "draft",
    "is_draft",
    "is_stale",
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
    "to_html",
    "write_drafts",
]
