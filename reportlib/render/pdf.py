"""The pack's PDF: WeasyPrint renders the HTML offline, reading only files inside the project."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from .. import commentary, fileio, layout, periods
from ..charts import all_charts
from ..config import Project
from ..errors import RenderError
from ..packdata import PackContext, load_context
from .html import render_html, templates_dir

log = logging.getLogger(__name__)

FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".otf")

_FONT_CONFIGS: dict[tuple[object, ...], FontConfiguration] = {}
"""One WeasyPrint font configuration per templates folder and fonts, kept for the process."""


class RestrictedFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves `data:` URIs and files under the allowed folders only."""

    def __init__(self, roots: list[Path]) -> None:
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.roots = [r.resolve() for r in roots]

    def allowed(self, url: str) -> bool:
        """True for `data:` URIs and `file:` URLs that resolve inside an allowed folder."""
        parts = urlsplit(url)
        if parts.scheme == "data":
            return True
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return False
        path = Path(unquote(parts.path)).resolve()
        return any(path.is_relative_to(r) for r in self.roots)

    def fetch(self, url: str, headers: Any = None) -> Any:
        """Fetch an allowed URL; anything else raises RenderError (WeasyPrint then skips it)."""
        if not self.allowed(url):
            raise RenderError(
                f"the board pack may not fetch {url[:120]}: only files inside the project"
            )
        return super().fetch(url, headers)


def stamp_time(ctx: PackContext) -> datetime:
    """The time a pack is stamped with: the data cut-off (else the period's first day), in UTC.

    The same figures must give the same bytes, so nothing in the PDF may carry the time it
    was rendered: its creation and modification dates and the subset fonts' timestamps are
    this time instead.
    """
    if ctx.as_of:
        when = datetime.fromisoformat(ctx.as_of.replace("Z", "+00:00"))
    else:
        when = datetime.combine(periods.first_day(ctx.period), datetime.min.time())
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


@contextmanager
def source_date(when: datetime) -> Iterator[None]:
    """$SOURCE_DATE_EPOCH set to `when` for the block (and restored after).

    fontTools stamps the 'head' table of every font it subsets with the current time unless
    this variable says otherwise (reproducible-builds.org's convention).
    """
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(when.timestamp()))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def font_config(templates: Path) -> FontConfiguration:
    """The process's WeasyPrint font configuration for the pack fonts in `templates`.

    WeasyPrint decodes each `@font-face` font (woff2 → TrueType) and registers it with
    Fontconfig once per font configuration; a worker renders many packs, so it keeps one
    per templates folder and reuses it: the fonts are read once per worker, not per pack.
    A changed, added or removed font file gives a new configuration (the key holds every
    font file's path, size and modification time).
    """
    fonts = [
        (str(p), p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(templates.rglob("*"))
        if p.suffix.lower() in FONT_SUFFIXES and p.is_file()
    ]
    key: tuple[object, ...] = (str(templates), *fonts)
    config = _FONT_CONFIGS.get(key)
    if config is None:
        stale = [k for k in _FONT_CONFIGS if k[0] == key[0]]
        for k in stale:  # the folder's fonts changed: drop its old configuration
            del _FONT_CONFIGS[k]
        config = _FONT_CONFIGS[key] = FontConfiguration()
    return config


def write_pdf(html: str, out: Path, *, ctx: PackContext) -> Path:
    """Render the HTML to an A4 landscape PDF at `out` (atomically), offline and reproducibly."""
    templates = templates_dir(ctx.project)
    fetcher = RestrictedFetcher([ctx.project.settings.root, templates])
    t = time.perf_counter()
    try:
        doc = HTML(string=html, base_url=str(templates) + "/", url_fetcher=fetcher).render(
            font_config=font_config(templates)
        )
    except Exception as e:  # WeasyPrint raises many kinds; name the pack in one line
        raise RenderError(
            f"could not render the board pack for {ctx.node.id} {ctx.period}: {type(e).__name__}: {e}"
        ) from e
    when = stamp_time(ctx)
    doc.metadata.created = doc.metadata.modified = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with source_date(when):
        fileio.write_with(out, lambda p: doc.write_pdf(p))
    log.info("wrote %s (%d pages, %.1f s)", out, len(doc.pages), time.perf_counter() - t)
    return out


def default_out(project: Project, period: str, node_id: str) -> Path:
    """`output/<period>/<node>/board-pack.pdf`."""
    return layout.PeriodOutput(project.settings.output_path, period).pack_pdf(node_id)


def build_pack(project: Project, period: str, node_id: str, out: Path | None = None) -> Path:
    """Load, chart, read commentary, render and write one node's board pack."""
    ctx = load_context(project, period, node_id)
    html = render_html(ctx, all_charts(ctx), commentary.load(project, period, node_id))
    return write_pdf(html, out or default_out(project, period, node_id), ctx=ctx)
