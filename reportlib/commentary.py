"""Analysts' commentary: Markdown files per node and period, rendered safely, and drafts from the figures.

A commentary file is `data/commentary/<period>/<node>.md` (a node path such as
`enterprise/emea` is a nested folder) with optional YAML front matter and one
`## ` section per part of the pack: Summary and each perspective. The escalations
page quotes, for each escalated KPI, the latest commentary that names it (`kpi_notes`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from . import periods
from .config import KpiDef, Project
from .errors import ConfigError
from .formatting import format_delta, format_score, format_value, missing, status_style
from .packdata import (
    PackContext,
    load_context,
    movers,
    node_rows,
    perspectives,
    row,
    scorecard_hash,
    status_counts,
)

log = logging.getLogger(__name__)

SUMMARY = "summary"
SAFE_SCHEMES = ("http://", "https://", "mailto:")

_HEADING = re.compile(r"^##[ \t]+(?P<title>.+?)[ \t#]*$")
_TITLE = re.compile(r"^#[ \t]+.+$")
_FRONT = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?", re.S | re.M)


@dataclass(frozen=True)
class Commentary:
    """One node's commentary for a period: safe HTML per section, and whether a file exists."""

    node: str
    period: str
    path: Path | None
    sections: dict[str, str]
    missing: bool
    front_matter: dict[str, Any] = field(default_factory=dict)
    unmatched: tuple[str, ...] = ()
    """Headings that matched no section; their text is kept under the summary."""
    markdown: dict[str, str] = field(default_factory=dict)
    """The Markdown source of each section, searched for KPI mentions (`kpi_notes`)."""

    @property
    def draft(self) -> bool:
        """True for a generated draft nobody has marked as reviewed (`status: draft`)."""
        return is_draft(self.front_matter)


def is_draft(front_matter: dict[str, Any]) -> bool:
    """A generated draft nobody has marked as reviewed: `status: draft` in the front matter."""
    return str(front_matter.get("status", "")).lower() == "draft"


def path_for(project: Project, period: str, node_id: str) -> Path:
    """`data/commentary/<period>/<node>.md`; node paths become nested folders."""
    periods.parse(period)
    parts = node_id.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ConfigError(f"node id {node_id!r} cannot name a commentary file")
    return project.settings.data_path.joinpath("commentary", period, *parts[:-1], parts[-1] + ".md")


# --- Markdown -------------------------------------------------------------------------


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(SAFE_SCHEMES)


def _image_as_text(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    alt = "".join(t.content for t in (tokens[idx].children or []))
    return f'<span class="image-omitted">[image not shown{": " + escapeHtml(alt) if alt else ""}]</span>'


def markdown() -> MarkdownIt:
    """CommonMark with tables; raw HTML escaped, links only http(s)/mailto, no images."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
    md.enable(["table", "strikethrough", "replacements", "smartquotes"])
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_text)
    return md


def to_html(text: str, md: MarkdownIt | None = None) -> str:
    """Render commentary Markdown to HTML that carries no active content."""
    return (md or markdown()).render(text)


# --- parsing ----------------------------------------------------------------------------


def _section_keys(project: Project) -> dict[str, str]:
    keys = {"summary": SUMMARY, "executive summary": SUMMARY}
    for p in project.hierarchy.perspectives:
        for alias in (p.id, p.name, f"{p.name} perspective", p.id.replace("_", " ")):
            keys[alias.strip().lower()] = p.id
    return keys


def split_front_matter(text: str, source: Path | str = "commentary") -> tuple[dict[str, Any], str]:
    """Separate optional `---` YAML front matter from the Markdown body."""
    m = _FRONT.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m.group("yaml")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(
            f"{source}: front matter is not valid YAML: {str(e).splitlines()[0]}"
        ) from e
    if not isinstance(meta, dict):
        raise ConfigError(f"{source}: front matter must be a mapping of keys to values")
    return meta, text[m.end() :]


def parse(
    project: Project, text: str, source: Path | str = "commentary"
) -> tuple[dict[str, Any], dict[str, str], tuple[str, ...]]:
    """Front matter, Markdown per section id, and headings that matched no section."""
    meta, body = split_front_matter(text, source)
    keys = _section_keys(project)
    chunks: dict[str, list[str]] = {}
    extra: list[tuple[str, list[str]]] = []
    current: list[str] = chunks.setdefault(SUMMARY, [])
    in_fence = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if m:
            title = m.group("title").strip()
            key = keys.get(title.rstrip(":").strip().lower())
            if key is None:
                log.warning(
                    "%s: section %r matches no part of the pack: shown under the summary",
                    source,
                    title,
                )
                extra.append((title, []))
                current = extra[-1][1]
            else:
                current = chunks.setdefault(key, [])
            continue
        if (
            not in_fence
            and _TITLE.match(line)
            and current is chunks[SUMMARY]
            and not "".join(current).strip()
        ):
            continue  # a leading "# Title" line names the file, not a section
        current.append(line)
    for title, lines in extra:
        chunks[SUMMARY].extend(["", f"### {title}", "", *lines])
    sections = {k: "\n".join(v).strip() + "\n" for k, v in chunks.items() if "\n".join(v).strip()}
    return meta, sections, tuple(t for t, _ in extra)


def load(project: Project, period: str, node_id: str) -> Commentary:
    """Read and render a node's commentary; a missing file gives `missing=True`."""
    path = path_for(project, period, node_id)
    if not path.is_file():
        return Commentary(node=node_id, period=period, path=None, sections={}, missing=True)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read commentary: {e}") from e
    meta, sections, unmatched = parse(project, text, path)
    md = markdown()
    return Commentary(
        node=node_id,
        period=period,
        path=path,
        sections={k: to_html(v, md) for k, v in sections.items()},
        missing=False,
        front_matter=meta,
        unmatched=unmatched,
        markdown=sections,
    )


def is_stale(front_matter: dict[str, Any], scorecard_hash: str | None) -> bool:
    """Written against earlier figures: its front-matter scorecard_hash is not the current one (§8)."""
    written = front_matter.get("scorecard_hash")
    return bool(written and scorecard_hash and str(written) != scorecard_hash)


def stale_commentaries(project: Project, period: str) -> list[str]:
    """Nodes whose commentary for `period` was written against earlier figures (DOMAIN.md §8).

    Compares each commentary file's front-matter `scorecard_hash` with the sha256 of
    output/<period>/scorecard.csv; files without a hash are not judged.
    """
    import pandas as pd

    card = project.settings.period_dir(period) / "scorecard.parquet"
    current = scorecard_hash(project, period)
    if current is None or not card.is_file():
        return []
    nodes = dict.fromkeys(pd.read_parquet(card, columns=["node"])["node"].astype(str))
    stale = []
    for node in nodes:
        path = path_for(project, period, node)
        if not path.is_file():
            continue
        try:
            meta, _ = split_front_matter(path.read_text(encoding="utf-8-sig"), path)
        except (OSError, UnicodeDecodeError, ConfigError) as e:
            log.warning("%s: cannot read commentary front matter (%s)", path, e)
            continue
        if is_stale(meta, current):
            stale.append(node)
    return stale


# --- what the commentary says about one KPI (escalations page) ---------------------------

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


def _source(
    project: Project, period: str, node_id: str, current: Commentary | None
) -> _Source | None:
    """A node's commentary for `period` (the pack's own when given); None when absent or unreadable."""
    if current is not None and (current.period, current.node) == (period, node_id):
        if current.missing:
            return None
        meta, sections, path = current.front_matter, current.markdown, current.path
    else:
        path = path_for(project, period, node_id)
        if not path.is_file():
            return None
        try:
            meta, sections, _ = parse(project, path.read_text(encoding="utf-8-sig"), path)
        except (OSError, UnicodeDecodeError, ConfigError) as e:
            log.warning("%s: commentary not searched for escalated KPIs (%s)", path, e)
            return None
    return _Source(
        period=period,
        path=path,
        markdown=sections,
        stale=is_stale(meta, scorecard_hash(project, period)),
        draft=is_draft(meta),
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


# --- drafts -------------------------------------------------------------------------------


def _kpi_line(ctx: PackContext, kpi_id: str) -> str:
    k = ctx.project.kpi(kpi_id)
    r = row(ctx, kpi_id)
    if r is None:
        return f"- **{k.name}**: no data."
    cur = ctx.project.settings.currency
    text = f"- **{k.name}**: {format_value(r['value'], k.unit, cur)}"
    if not missing(r["target"]):
        text += f" against a target of {format_value(r['target'], k.unit, cur)}"
    text += f" ({status_style(r['status']).label.lower()})"
    if r["status"] == "insufficient":
        text += f", only {int(r['n']) if not missing(r['n']) else 0} responses (minimum {k.min_n})"
    if not missing(r["mom_delta"]):
        text += f"; {format_delta(r['mom_delta'], k.unit, cur)} on last month"
        if k.sample and r["mom_significant"] is not None and not missing(r["mom_significant"]):
            text += "" if bool(r["mom_significant"]) else " (not significant)"
    return text + "."


def _score_sentence(ctx: PackContext, key: str, label: str) -> str:
    r = row(ctx, key)
    if r is None or missing(r["value"]):
        return f"{label}: no score this month (no KPI with a target and enough data)."
    text = (
        f"{label}: **{format_score(r['value'])} / 10** ({status_style(r['status']).label.lower()})"
    )
    if not missing(r["mom_delta"]):
        d = float(r["mom_delta"])
        text += (
            f", {'up' if d > 0 else 'down' if d < 0 else 'unchanged'} {abs(d):.1f} on last month"
            if round(d, 1)
            else ", unchanged on last month"
        )
    return text + "."


def draft(ctx: PackContext) -> str:
    """A Markdown starting point written from the figures: scores, movers, reds and escalations."""
    cur = ctx.project.settings.currency
    when = periods.long_name(ctx.period)
    counts = status_counts(ctx)
    total = sum(counts.values())
    lines = [
        "---",
        f"node: {ctx.node.id}",
        f"period: '{ctx.period}'",
        f"scorecard_hash: {ctx.scorecard_hash or 'null'}",
        "status: draft  # remove this line once the commentary is reviewed",
        "---",
        "",
        f"# {ctx.node.name}: {when}",
        "",
        "## Summary",
        "",
        _score_sentence(ctx, "score:overall", "Overall score"),
        f"{counts['green']} of {total} KPIs are on target, {counts['amber']} to watch and "
        f"{counts['red']} off target"
        + (
            f"; {counts['insufficient']} have too few responses to judge"
            if counts["insufficient"]
            else ""
        )
        + ".",
        "",
    ]
    moved = movers(ctx)
    if moved:
        lines.append("Biggest movers since last month:")
        lines.append("")
        for m in moved:
            verb = "improved" if m.good else "worsened" if m.good is False else "moved"
            lines.append(
                f"- **{m.kpi.name}** {verb} from {format_value(m.prev, m.kpi.unit, cur)} to "
                f"{format_value(m.value, m.kpi.unit, cur)} ({format_delta(m.delta, m.kpi.unit, cur)}"
                + (", significant" if m.significant else "")
                + ")."
            )
        lines.append("")
    else:
        lines += ["No KPI moved significantly since last month.", ""]
    esc = ctx.escalations
    if len(esc):
        lines.append(
            f"Escalations (off target for {ctx.project.settings.escalate_after} months or more):"
        )
        lines.append("")
        for _, e in esc.iterrows():
            k = ctx.project.kpi(str(e["kpi"]))
            lines.append(
                f"- **{k.name}**: {int(e['streak'])} months since {periods.long_name(str(e['since']))} "
                f"(owner: {k.owner})."
            )
        lines.append("")
    lines += ["_Add the story behind these figures: causes, actions, owners and dates._", ""]
    rows = node_rows(ctx)
    for p, kpis in perspectives(ctx.project):
        lines += [f"## {p.name}", "", _score_sentence(ctx, f"score:{p.id}", "Score"), ""]
        shown = [
            k.id
            for k in kpis
            if k.id in rows.index and rows.at[k.id, "status"] in ("red", "amber", "insufficient")
        ]
        shown += [m.kpi.id for m in moved if m.kpi.perspective == p.id and m.kpi.id not in shown]
        if shown:
            lines += [_kpi_line(ctx, kid) for kid in shown]
        else:
            lines.append("All KPIs with a target are on target.")
        lines += ["", f"_What drove the {p.name.lower()} figures, and what is being done?_", ""]
    return "\n".join(lines)


def _create(path: Path, text: str) -> bool:
    """Write `text` to a new file atomically; False (and nothing written) if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.link(tmp, path)  # fails if the file exists: an analyst's edits are never overwritten
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def latest_computed_period(project: Project) -> str:
    """The latest period with a computed scorecard under output/."""
    out = project.settings.output_path
    found = sorted(
        d.name
        for d in (out.iterdir() if out.is_dir() else ())
        if (d / "scorecard.parquet").is_file() and _is_period(d.name)
    )
    if not found:
        raise ConfigError(f"no computed scorecard under {out}: run `reportlib compute` first")
    return found[-1]


def _is_period(name: str) -> bool:
    try:
        periods.parse(name)
    except ConfigError:
        return False
    return True


def write_drafts(project: Project, period: str, node_ids: list[str] | None = None) -> list[Path]:
    """Write a draft for each node (default: every node) that has no commentary file yet."""
    if node_ids is None:
        node_ids = list(load_context(project, period, "all").tree.ids)
    written = []
    for node_id in node_ids:
        path = path_for(project, period, node_id)
        if path.exists():
            log.info("%s exists: left as it is", path)
            continue
        if _create(path, draft(load_context(project, period, node_id))):
            written.append(path)
    return written
