"""The board pack: figures, charts and commentary → section records → Jinja2 HTML → PDF.

`views` formats a node's figures into one frozen record per section (`records`), `html`
lays them out with the templates, `pdf` renders the HTML offline with WeasyPrint, and
`pages` adds an analyst's own pages (a chart or a table) from the notebook.
"""

from __future__ import annotations

from ..charts import Charts
from ..packdata import PackContext, load_context
from .html import (
    MAIN_TEMPLATE,
    SECTIONS,
    neutralise_bidi,
    render_html,
    render_section,
    templates_dir,
)
from .kpiviews import svg_uri
from .pages import add_page, page, page_table
from .pdf import RestrictedFetcher, build_pack, default_out, write_pdf
from .records import PackView, Page
from .views import as_of_text, pack_view

__all__ = [
    "MAIN_TEMPLATE",
    "SECTIONS",
    "Charts",
    "PackContext",
    "PackView",
    "Page",
    "RestrictedFetcher",
    "add_page",
    "as_of_text",
    "build_pack",
    "default_out",
    "load_context",
    "neutralise_bidi",
    "pack_view",
    "page",
    "page_table",
    "render_html",
    "render_section",
    "svg_uri",
    "templates_dir",
    "write_pdf",
]
