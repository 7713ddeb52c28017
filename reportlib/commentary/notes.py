"""What the commentary says about one KPI: the passages quoted beside an escalation (DOMAIN.md §8).

The escalations page quotes, for each escalated KPI, the latest commentary that names it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from .. import periods
from ..actions import Action
from ..config import KpiDef, Project
from ..errors import ConfigError
from ..packdata import scorecard_hash
from .files import (
    SUMMARY,
    Commentary,
    actions_of,
    is_draft,
    is_stale,
    markdown,
    parse,
    path_for,
    to_html,
)

log = logging.getLogger(__name__)

MAX_PASSAGES = 4
"""At most this many passages about one KPI are quoted beside an escalation."""

_BRACKETS = re.compile(r"\s*\(([^()]*)\)")
_ACRONYM = re.compile(r"^[a-z]?[A-Z]{2,}$")


def aliases(k: KpiDef) -> tuple[str, ...]:
    """What commentary calls a KPI: its name, the name without brackets, an acronym in brackets, its id.

    "Employee NPS (eNPS)" gives "Employee NPS" and "eNPS"; "Revenue growth (YoY)" gives no
    "YoY" (a qualifier, not an acronym); `reopen_rate` also gives "reopen rate".
    """
    names = [k.name, _BRACKETS.sub("", k.name)]
    names += [a.strip() for a in _BRACKETS.findall(k.name) if _ACRONYM.match(a.strip())]
    names += [k.id, k.id.replace("_", " ")]
    return tuple(dict.fromkeys(" ".join(n.split()) for n in names if n.strip()))


@dataclass(frozen=True)
class KpiMatcher:
    """Finds the KPIs a text mentions: any alias, case-insensitive, as whole words.

    Longer aliases win where they overlap, so "Employee NPS" counts as eNPS, not NPS.
    """

    pattern: re.Pattern[str]
    kpi_of: dict[str, str]

    @classmethod
    def of(cls, kpis: Iterable[KpiDef]) -> KpiMatcher:
        """A matcher over every alias of every KPI; an alias two KPIs share goes to the first."""
        kpi_of: dict[str, str] = {}
        for k in kpis:
            for a in aliases(k):
                kpi_of.setdefault(a.lower(), k.id)
        alts = sorted(kpi_of, key=lambda a: (-len(a), a))
        body = "|".join(r"\s+".join(re.escape(w) for w in a.split()) for a in alts)
        # Word edges are letters and digits only: "_Reopen rate_" and "**NPS**" still match.
        return cls(re.compile(rf"(?<![^\W_])({body})(?![^\W_])", re.I), kpi_of)

    def mentions(self, text: str) -> set[str]:
        """Ids of the KPIs the text names."""
        return {
            self.kpi_of[" ".join(m.group(1).lower().split())] for m in self.pattern.finditer(text)
        }


@dataclass(frozen=True)
class Passage:
    """A top-level paragraph, block quote or list item of a Markdown text, by its source lines."""

    start: int
    end: int
    text: str
    """Its plain words (no link targets or markup), to search for KPI names."""
    list_at: int | None = None
    """For a list item: which list it belongs to (items of one list are quoted as one list)."""


def _plain(inline: Any) -> str:
    words = []
    for c in inline.children or []:
        if c.type in ("text", "code_inline"):
            words.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            words.append(" ")
    return "".join(words)


def passages(text: str, md: MarkdownIt | None = None) -> list[Passage]:
    """The passages of a Markdown text that can be quoted on their own; headings, tables and code are not."""
    out: list[Passage] = []
    opener: Any = None
    words: list[str] = []
    list_at: int | None = None
    for i, t in enumerate((md or markdown()).parse(text)):
        if t.level == 0 and t.type in ("bullet_list_open", "ordered_list_open"):
            list_at = i
        if opener is None:
            if t.map and (
                (t.level == 0 and t.type in ("paragraph_open", "blockquote_open"))
                or (t.level == 1 and t.type == "list_item_open")
            ):
                opener, words = t, []
            continue
        if t.type == "inline":
            words.append(_plain(t))
        elif t.level == opener.level and t.type == opener.type.replace("_open", "_close"):
            item = opener.type == "list_item_open"
            out.append(
                Passage(opener.map[0], opener.map[1], " ".join(words), list_at if item else None)
            )
            opener = None
    return out


def quote(text: str, chosen: list[Passage], md: MarkdownIt | None = None) -> str:
    """Safe HTML of some passages of a Markdown text, in order; items of one list stay one list."""
    lines = text.splitlines()
    chunks: list[str] = []
    prev: Passage | None = None
    for p in chosen:
        body = "\n".join(lines[p.start : p.end]).strip("\n")
        if prev is not None and p.list_at is not None and p.list_at == prev.list_at:
            chunks[-1] += "\n" + body
        else:
            chunks.append(body)
        prev = p
    return to_html("\n\n".join(chunks), md)


@dataclass(frozen=True)
class KpiNote:
    """The latest commentary about one KPI at a node, shown beside its escalation (DOMAIN.md §8)."""

    kpi: str
    node: str
    period: str
    """The month of the commentary file quoted (this month's or an earlier one)."""
    section: str
    """The section quoted: the KPI's perspective, else the Summary, else another perspective."""
    html: str
    """Safe HTML of the passages that mention the KPI (raw HTML escaped, as in `to_html`)."""
    passages: int
    more: int
    """Passages that mention the KPI but are not quoted (beyond MAX_PASSAGES)."""
    stale: bool
    """Written against earlier figures of its month: the data was restated since (§8)."""
    draft: bool
    """A generated draft nobody has marked as reviewed."""
    path: Path | None


@dataclass(frozen=True)
class _Source:
    """One commentary file's Markdown sections, as searched for KPI mentions."""

    period: str
    path: Path | None
    markdown: dict[str, str]
    stale: bool
    draft: bool
    actions: tuple[Action, ...] = ()


def _source(
    project: Project, period: str, node_id: str, current: Commentary | None
) -> _Source | None:
    """A node's commentary for `period` (the pack's own when given); None when absent or unreadable."""
    if current is not None and (current.period, current.node) == (period, node_id):
        if current.missing:
            return None
        meta, sections, path = current.front_matter, current.markdown, current.path
        listed = current.actions
    else:
        path = path_for(project, period, node_id)
        if not path.is_file():
            return None
        try:
            meta, sections, _ = parse(project, path.read_text(encoding="utf-8-sig"), path)
        except (OSError, UnicodeDecodeError, ConfigError) as e:
            log.warning("%s: commentary not searched for escalated KPIs (%s)", path, e)
            return None
        try:
            listed = actions_of(project, meta, path)
        except ConfigError as e:
            log.warning("%s: its actions are not shown (%s)", path, e)
            listed = ()
    return _Source(
        period=period,
        path=path,
        markdown=sections,
        stale=is_stale(meta, scorecard_hash(project, period)),
        draft=is_draft(meta),
        actions=listed,
    )


def _note(
    project: Project, k: KpiDef, src: _Source, node_id: str, match: KpiMatcher, md: MarkdownIt
) -> KpiNote | None:
    """The passages of `src` that mention `k`, from the first section in search order that has any."""
    order = [k.perspective, SUMMARY, *(p.id for p in project.hierarchy.perspectives)]
    for section in dict.fromkeys(order):
        text = src.markdown.get(section)
        if not text:
            continue
        hits = [p for p in passages(text, md) if k.id in match.mentions(p.text)]
        if hits:
            return KpiNote(
                kpi=k.id,
                node=node_id,
                period=src.period,
                section=section,
                html=quote(text, hits[:MAX_PASSAGES], md),
                passages=min(len(hits), MAX_PASSAGES),
                more=max(0, len(hits) - MAX_PASSAGES),
                stale=src.stale,
                draft=src.draft,
                path=src.path,
            )
    return None


def kpi_notes(
    project: Project,
    period: str,
    node_id: str,
    since: Mapping[str, str | None],
    *,
    current: Commentary | None = None,
) -> dict[str, KpiNote | None]:
    """For each KPI (id → first month of its red streak), the latest commentary that mentions it (§8).

    The rule: look at the node's commentary for `period`, then each earlier month back to
    the start of the KPI's streak (never before the trend window). The newest file that
    names the KPI (by name, bracketed acronym or id; case-insensitive, whole words) is
    quoted: its paragraphs, list items and block quotes that name it, from the KPI's
    perspective section, else the Summary, else another perspective. None when no file
    in those months names it. `current` is the pack's own commentary for `period`.
    """
    md = markdown()
    match = KpiMatcher.of(project.kpis)
    floor = periods.shift(period, -(project.settings.trend_months - 1))
    sources: dict[str, _Source | None] = {}
    out: dict[str, KpiNote | None] = {}
    for kpi_id, start in since.items():
        k = project.kpi(kpi_id)
        first = min(max(start or period, floor), period)
        out[kpi_id] = None
        for p in reversed(periods.span(first, period)):
            if p not in sources:
                sources[p] = _source(project, p, node_id, current)
            src = sources[p]
            note = None if src is None else _note(project, k, src, node_id, match, md)
            if note is not None:
                out[kpi_id] = note
                break
    return out


def kpi_note(
    project: Project,
    period: str,
    node_id: str,
    kpi: str,
    since: str | None,
    *,
    current: Commentary | None = None,
) -> KpiNote | None:
    """The latest commentary about one KPI at a node since `since` (see `kpi_notes` for the rule)."""
    return kpi_notes(project, period, node_id, {kpi: since}, current=current)[kpi]


@dataclass(frozen=True)
class KpiActions:
    """The actions recorded on one KPI at a node, from the newest commentary that lists any."""

    kpi: str
    period: str
    """The month of the commentary file they come from."""
    actions: tuple[Action, ...]
    path: Path | None


def kpi_actions(
    project: Project,
    period: str,
    node_id: str,
    since: Mapping[str, str | None],
    *,
    current: Commentary | None = None,
) -> dict[str, KpiActions | None]:
    """For each KPI (id → first month of its red streak), its actions (DOMAIN.md §8).

    The same months as `kpi_notes`: the node's commentary for `period`, then each earlier
    month back to the start of the streak (never before the trend window). The newest file
    whose front matter lists an action on the KPI gives all its actions on that KPI, so an
    action agreed when the KPI turned red still shows while it stays red, until a later
    month's commentary lists the KPI's actions again. None when no file lists one.
    """
    floor = periods.shift(period, -(project.settings.trend_months - 1))
    sources: dict[str, _Source | None] = {}
    out: dict[str, KpiActions | None] = {}
    for kpi_id, start in since.items():
        first = min(max(start or period, floor), period)
        out[kpi_id] = None
        for p in reversed(periods.span(first, period)):
            if p not in sources:
                sources[p] = _source(project, p, node_id, current)
            src = sources[p]
            mine = () if src is None else tuple(a for a in src.actions if a.kpi == kpi_id)
            if src is not None and mine:
                out[kpi_id] = KpiActions(kpi_id, p, mine, src.path)
                break
    return out
