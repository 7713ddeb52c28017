"""Pages an analyst adds to the pack from the notebook: a title, then a chart or a table.

`add_page` returns a new tuple of pages (the pages so far are never changed); the pack
renders them after the escalations, lists them in the contents and gives each a PDF
bookmark.
"""

from __future__ import annotations

import re

import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from ..charts import to_svg
from ..errors import RenderError
from .records import Page
from .views import svg_uri

_SLUG = re.compile(r"[^a-z0-9]+")


def page(
    title: str,
    *,
    figure: Figure | str | None = None,
    table: pd.DataFrame | None = None,
    caption: str = "",
    taken: frozenset[str] = frozenset(),
) -> Page:
    """One page: `figure` (a matplotlib Figure or an SVG string) and/or `table` under `title`.

    The table is printed as it is (its index as the first column when it is named), text
    escaped.
    `taken` are the anchors already used, so two pages with one title stay apart.
    """
    if not title.strip():
        raise RenderError("a page needs a title")
    if figure is None and table is None:
        raise RenderError(f"page {title!r}: give a figure or a table")
    svg = to_svg(figure) if isinstance(figure, Figure) else (figure or "")
    html = None
    if table is not None:
        shown = table.reset_index() if table.index.name is not None else table
        html = Markup(shown.to_html(classes="data", border=0, index=False, na_rep="–"))
    base = "page-" + (_SLUG.sub("-", title.lower()).strip("-") or "untitled")
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    return Page(id=anchor, title=title.strip(), image=svg_uri(svg), table=html, caption=caption)


def add_page(
    pages: tuple[Page, ...],
    title: str,
    *,
    figure: Figure | str | None = None,
    table: pd.DataFrame | None = None,
    caption: str = "",
) -> tuple[Page, ...]:
    """`pages` and one more at the end (see `page`); pass the result to `render_html`."""
    taken = frozenset(p.id for p in pages)
    return (*pages, page(title, figure=figure, table=table, caption=caption, taken=taken))
