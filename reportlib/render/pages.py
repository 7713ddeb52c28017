"""Pages an analyst adds to the pack from the notebook: a title, then a chart or a table.

`add_page` returns a new tuple of pages (the pages so far are never changed); the pack
renders them after the escalations, lists them in the contents and gives each a PDF
bookmark.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from anyascii import anyascii
from matplotlib.figure import Figure

from ..charts import to_svg
from ..errors import RenderError
from ..formatting import DASH, DEFAULT_LOCALE, format_number, missing
from .kpiviews import svg_uri
from .records import Page, PageTable, TableCell

_SLUG = re.compile(r"[^a-z0-9]+")


def page(
    title: str,
    *,
    figure: Figure | str | None = None,
    table: pd.DataFrame | None = None,
    caption: str = "",
    taken: frozenset[str] = frozenset(),
    locale: str = DEFAULT_LOCALE,
) -> Page:
    """One page: `figure` (a matplotlib Figure or an SVG string) and/or `table` under `title`.

    The table is printed as it is (its index as the first column when it is named):
    numbers right-aligned with thousands grouped and as many decimals as the column needs
    (up to 3), missing values as a dash, text escaped by the template.
    `taken` are the anchors already used, so two pages with one title stay apart.
    `locale` writes the numbers as the rest of the pack does (the project's `locale` setting,
    `ctx.project.settings.locale`).
    """
    if not title.strip():
        raise RenderError("a page needs a title")
    if figure is None and table is None:
        raise RenderError(f"page {title!r}: give a figure or a table")
    svg = to_svg(figure) if isinstance(figure, Figure) else (figure or "")
    grid = None if table is None else page_table(table, locale)
    base = "page-" + (_SLUG.sub("-", anyascii(title).lower()).strip("-") or "untitled")
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    return Page(id=anchor, title=title.strip(), image=svg_uri(svg), table=grid, caption=caption)


def _decimals(values: pd.Series) -> int:
    """Fewest decimals (up to 3) that show every finite value of a float column as it is."""
    finite = [float(v) for v in values if not missing(v) and np.isfinite(v)]
    return max((len(f"{v:.3f}".rstrip("0").split(".")[1]) for v in finite), default=0)


def page_table(table: pd.DataFrame, locale: str = DEFAULT_LOCALE) -> PageTable:
    """A DataFrame as the cells of a pack table (a named index becomes the first column)."""
    shown = table.reset_index() if table.index.name is not None else table
    columns = []
    for name in shown.columns:
        col = shown[name]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        decimals = _decimals(col) if pd.api.types.is_float_dtype(col) else 0
        cells = tuple(
            TableCell(
                DASH
                if missing(v)
                else format_number(float(v), decimals, locale)
                if numeric
                else str(v),
                numeric,
            )
            for v in col
        )
        columns.append((TableCell(str(name), numeric), cells))
    header = tuple(h for h, _ in columns)
    rows = tuple(zip(*(cells for _, cells in columns), strict=True)) if columns else ()
    return PageTable(header=header, rows=rows)


def add_page(
    pages: tuple[Page, ...],
    title: str,
    *,
    figure: Figure | str | None = None,
    table: pd.DataFrame | None = None,
    caption: str = "",
    locale: str = DEFAULT_LOCALE,
) -> tuple[Page, ...]:
    """`pages` and one more at the end (see `page`); pass the result to `render_html`."""
    taken = frozenset(p.id for p in pages)
    new = page(title, figure=figure, table=table, caption=caption, taken=taken, locale=locale)
    return (*pages, new)
