"""Commentary files: where they are, their front matter and sections, rendered to safe HTML.

A commentary file is `data/commentary/<period>/<node>.md` (a node path such as
`enterprise/emea` is a nested folder) with optional YAML front matter and one
`## ` section per part of the pack: Summary and each perspective.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from .. import actions as actions_mod
from .. import fileio, layout, periods
from ..config import Project
from ..errors import ConfigError, ReportlibError
from ..packdata import scorecard_hash
from . import tidy

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
    actions: tuple[actions_mod.Action, ...] = ()
    """The front matter's actions on KPIs, checked (DOMAIN.md §8)."""

    @property
    def draft(self) -> bool:
        """True for a generated draft nobody has marked as reviewed (`status: draft`)."""
        return is_draft(self.front_matter)


def is_draft(front_matter: dict[str, Any]) -> bool:
    """A generated draft nobody has marked as reviewed: `status: draft` in the front matter."""
    return str(front_matter.get("status", "")).lower() == "draft"


class OutsideProjectError(ReportlibError):
    """A file read for the pack resolves (through a symbolic link or `..`) outside the project."""


def inside_project(project: Project, path: Path, what: str = "commentary file") -> Path:
    """`path` when it resolves inside the project folder; else OutsideProjectError naming it.

    Symbolic links anywhere on the way are followed, so a link to a file outside the
    project is refused before anything reads it (its text never reaches the pack). The
    data folder counts as part of the project even where the settings put it elsewhere.
    """
    roots = (project.settings.root.resolve(), project.settings.data_path.resolve())

    try:
        real = fileio.real_path(path)
    except OSError as e:
        raise OutsideProjectError(
            f"{what} {path}: cannot be resolved ({e.strerror})", file=str(path)
        ) from e
    if not any(real.is_relative_to(r) for r in roots):
        raise OutsideProjectError(
            f"{what} {path} leads to {real}, outside the project folder: refused",
            file=str(path),
        )
    return path


def check_folder(project: Project) -> None:
    """Refuse (OutsideProjectError) any entry of `data/commentary/` that leads outside the project.

    `run` calls this before it computes anything, so a link out of the project stops the
    run in one line up front, whichever month's commentary it is in (the escalation notes
    read earlier months too), rather than after the scorecard step or inside a pack.
    """
    folder = project.settings.data_path / "commentary"
    if not folder.exists() and not folder.is_symlink():
        return
    inside_project(project, folder, "commentary folder")
    for here, dirs, files in os.walk(folder):  # links are not followed: each is checked instead
        for name in sorted(dirs + files):
            inside_project(project, Path(here) / name)


def path_for(project: Project, period: str, node_id: str) -> Path:
    """`data/commentary/<period>/<node>.md`; node paths become nested folders.

    The path must stay inside the project once symbolic links are followed
    (OutsideProjectError otherwise), so every reader of commentary is confined.
    """
    periods.check(period)
    parts = node_id.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ConfigError(f"node id {node_id!r} cannot name a commentary file")
    path = project.settings.data_path.joinpath("commentary", period, *parts[:-1], parts[-1] + ".md")
    return inside_project(project, path)


# --- Markdown -------------------------------------------------------------------------


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(SAFE_SCHEMES)


def _image_as_text(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    alt = "".join(t.content for t in (tokens[idx].children or []))
    return f'<span class="image-omitted">[image not shown{": " + escapeHtml(alt) if alt else ""}]</span>'


def markdown() -> MarkdownIt:
    """CommonMark with tables; raw HTML escaped, links only http(s)/mailto, no images.

    Tables are cut to what fits a commentary box, with a line saying what is not shown
    (`tidy.truncate_tables`).
    """
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
    md.enable(["table", "strikethrough", "replacements", "smartquotes"])
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_text)
    return tidy.install(md)


def tidy_text(text: str, source: Path | str = "commentary") -> str:
    """Commentary Markdown without bidi controls and with block quotes at most 3 deep.

    Both are logged as warnings naming `source`; no text is dropped but the controls.
    """
    controls = tidy.bidi_count(text)
    if controls:
        log.warning("%s: %d bidi control character(s) removed", source, controls)
        text = tidy.strip_bidi(text)
    text, flattened = tidy.cap_quotes(text)
    if flattened:
        log.warning(
            "%s: %d line(s) of block quotes nested deeper than %d shown at depth %d",
            source,
            flattened,
            tidy.MAX_QUOTE_DEPTH,
            tidy.MAX_QUOTE_DEPTH,
        )
    return text


def to_html(text: str, md: MarkdownIt | None = None) -> str:
    """Render commentary Markdown to HTML that carries no active content (see `tidy_text`)."""
    text, _ = tidy.cap_quotes(tidy.strip_bidi(text))
    return (md or markdown()).render(text)


# --- parsing ----------------------------------------------------------------------------


def _section_keys(project: Project) -> dict[str, str]:
    keys = {"summary": SUMMARY, "executive summary": SUMMARY}
    for p in project.hierarchy.perspectives:
        for alias in (p.id, p.name, f"{p.name} perspective", p.id.replace("_", " ")):
            keys[alias.strip().lower()] = p.id
    return keys


class _FrontLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a date-like value that is no real day (`2026-13-01`)
    stays text, so the check of an action's `due` can name the action and the field."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_FrontLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def split_front_matter(text: str, source: Path | str = "commentary") -> tuple[dict[str, Any], str]:
    """Separate optional `---` YAML front matter from the Markdown body."""
    m = _FRONT.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.load(m.group("yaml"), Loader=_FrontLoader) or {}  # a SafeLoader
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
    meta, body = split_front_matter(tidy_text(text, source), source)
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
    listed = actions_of(project, meta, path)
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
        actions=listed,
    )


def actions_of(
    project: Project, front_matter: dict[str, Any], source: Path | str
) -> tuple[actions_mod.Action, ...]:
    """The checked `actions:` of a front matter (ConfigError naming file, action and field)."""
    return actions_mod.parse(front_matter.get("actions"), {k.id for k in project.kpis}, source)


def check_period(project: Project, period: str) -> None:
    """Refuse (ConfigError, one line) a commentary file of `period` whose front matter or
    actions are wrong, before a run computes anything: a typo in an action's KPI or date
    would otherwise stop the pack of that node only, after the scorecard step."""
    folder = project.settings.data_path / "commentary" / period
    periods.parse(period)
    if not folder.is_dir():
        return
    for here, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".md"):
                continue
            path = inside_project(project, Path(here) / name)
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as e:
                raise ConfigError(f"{path}: cannot read commentary: {e}") from e
            meta, _ = split_front_matter(tidy.strip_bidi(text), path)
            actions_of(project, meta, path)


def is_stale(front_matter: dict[str, Any], scorecard_hash: str | None) -> bool:
    """Written against earlier figures: its front-matter scorecard_hash is not the current one (§8)."""
    written = front_matter.get("scorecard_hash")
    return bool(written and scorecard_hash and str(written) != scorecard_hash)


def stale_commentaries(project: Project, period: str) -> list[str]:
    """Nodes whose commentary for `period` was written against earlier figures (DOMAIN.md §8).

    Compares each commentary file's front-matter `scorecard_hash` with the sha256 of
    output/<period>/scorecard.csv; files without a hash are not judged.
    """
    current = scorecard_hash(project, period)  # refuses a period that is not a month
    nodes = layout.PeriodOutput(project.settings.output_path, period).nodes()
    if current is None or not nodes:
        return []
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
