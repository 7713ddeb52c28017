"""The pack's HTML: the section records through the Jinja2 templates (templates/board_pack.html.j2).

A project's own `templates/` folder overrides reportlib's when it has the main template.
"""

from __future__ import annotations

import logging
from pathlib import Path

import jinja2

from .. import period_words, resources
from ..charts import Charts
from ..commentary import Commentary, bidi_count, inside_project, strip_bidi
from ..config import Project
from ..errors import RenderError
from ..packdata import PackContext
from .records import Page
from .views import pack_view

MAIN_TEMPLATE = "board_pack.html.j2"
SECTIONS = (
    "cover",
    "contents",
    "restatement",
    "heatmap",
    "summary",
    "scorecard",
    "perspectives",
    "comparison",
    "channels",
    "verbatims",
    "escalations",
    "pages",
    "appendix",
)
"""The sections in the order of the pack; each is a template `_<section>.html.j2`."""

log = logging.getLogger(__name__)


def templates_dir(project: Project) -> Path:
    """The project's own `templates/` when it has a board pack template, else reportlib's.

    Every file of a project's own templates folder (fonts and images included) must stay
    inside the project once symbolic links are followed: the pack never prints a file
    from elsewhere (OutsideProjectError names the first that does not).
    """
    folder = resources.folder(project.settings.root, "templates", MAIN_TEMPLATE)
    if folder == project.settings.root / "templates":
        inside_project(project, folder, "templates folder")
        for path in sorted(folder.rglob("*")):
            inside_project(project, path, "template file")
    return folder


def _render(ctx: PackContext, template: str, variables: dict[str, object]) -> str:
    env = resources.jinja_environment(templates_dir(ctx.project))
    # "this month" / "this quarter": the words of the pack's period (period_words.py).
    variables = {
        "words": period_words.words(ctx.period, ctx.project.settings.trend_months),
        **variables,
    }
    try:
        html = env.get_template(template).render(**variables)
    except jinja2.TemplateError as e:
        lineno = getattr(e, "lineno", None)
        where = f"{getattr(e, 'filename', None) or template}" + (
            f" line {lineno}" if lineno else ""
        )
        raise RenderError(f"template {where}: {e.message or type(e).__name__}") from e
    return neutralise_bidi(html, f"{ctx.node.id} {ctx.period}")


def neutralise_bidi(html: str, what: str = "board pack") -> str:
    """The pack's HTML without bidi control characters, wherever its text came from.

    Node, segment and KPI names come from data and configuration; a U+202E among them
    would show the text reversed in the PDF. Commentary is cleaned when read; this pass
    catches every other text of the pack.
    """
    controls = bidi_count(html)
    if controls:
        log.warning("%s: %d bidi control character(s) removed from the pack's text", what, controls)
    return strip_bidi(html)


def render_html(
    ctx: PackContext, charts: Charts, commentary: Commentary, pages: tuple[Page, ...] = ()
) -> str:
    """The whole board pack as one HTML document (with the analyst's added `pages`)."""
    return _render(ctx, MAIN_TEMPLATE, pack_view(ctx, charts, commentary, pages).variables())


def render_section(
    ctx: PackContext,
    charts: Charts,
    commentary: Commentary,
    section: str,
    pages: tuple[Page, ...] = (),
) -> str:
    """One section's HTML fragment (e.g. "scorecard"), for notebooks and snapshot tests."""
    if section not in SECTIONS:
        raise RenderError(f"unknown section {section!r} (sections: {', '.join(SECTIONS)})")
    view = pack_view(ctx, charts, commentary, pages)
    return _render(ctx, f"_{section}.html.j2", view.variables())
