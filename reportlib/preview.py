"""`reportlib preview`: a node's board pack as PNG pages and one HTML page, to check before sending.

Everything is drawn from the rendered PDF (the file `send` attaches), not from a second
rendering: the pages are what the board will read, the analyst's own notebook pages
included. Each page becomes `output/<period>/preview/<node>/page-NN.png`, and `index.html`
beside them shows the pages in order under the pack's bookmarks, so a browser is enough to
look through a pack. Every file is written atomically; pages left from a longer earlier
pack are removed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import fileio, hierarchy, pdfimage, periods, resources
from .config import Project
from .errors import ConfigError
from .layout import PREVIEW_PAGE, PeriodOutput

log = logging.getLogger(__name__)

TEMPLATE = "preview.html.j2"
"""The preview's HTML page."""


@dataclass(frozen=True)
class ContentsLine:
    """A top-level bookmark of the pack and its page (1-based)."""

    title: str
    page: int


@dataclass(frozen=True)
class PageImage:
    """One page's PNG, by file name (relative to index.html) and page number (1-based)."""

    number: int
    file: str


@dataclass(frozen=True)
class Preview:
    """What `preview` wrote for one node: the HTML page and the page images."""

    node: str
    pdf: Path
    index: Path
    pages: tuple[Path, ...]


def preview_nodes(output: PeriodOutput, nodes: Sequence[str]) -> tuple[str, ...]:
    """The nodes asked for (every node with a pack by default); ConfigError for unknown nodes
    or a node whose pack was not rendered."""
    known = output.nodes()
    if not known:
        raise ConfigError(
            f"{output.dir}: no scorecard: run `reportlib run --period {output.period}` first"
        )
    unknown = [n for n in nodes if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown node{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the nodes of {output.period} are: {hierarchy.known_nodes(known, unknown)}"
        )
    if nodes:
        missing = [n for n in nodes if not output.pack_pdf(n).is_file()]
        if missing:
            raise ConfigError(
                f"no board pack for {', '.join(missing)} in {output.period}: run "
                f"`reportlib run --period {output.period} --node {missing[0]}` first"
            )
        return tuple(nodes)
    found = tuple(n for n in known if output.pack_pdf(n).is_file())
    if not found:
        raise ConfigError(
            f"no board packs in {output.dir}: run `reportlib run --period {output.period}` first"
        )
    return found


def write_preview(project: Project, output: PeriodOutput, node: str) -> Preview:
    """Write one node's page images and index.html from its pack PDF."""
    pdf = output.pack_pdf(node)
    width = pdfimage.THUMBNAIL_WIDTH
    with pdfimage.opened(pdf) as doc:
        count = len(doc)
        contents = [
            ContentsLine(item.get_title().strip(), int(index) + 1)
            for item in doc.get_toc()
            if item.level == 0
            and (dest := item.get_dest()) is not None
            and (index := dest.get_index()) is not None
        ]
        title = str(doc.get_metadata_dict().get("Title") or node)
        written = []
        for i in range(count):
            path = output.preview_page(node, i + 1)
            fileio.write_bytes(path, pdfimage.png(doc, i, width))
            written.append(path)
    _remove_extra_pages(output.preview_dir(node), count)
    pages = [PageImage(i + 1, p.name) for i, p in enumerate(written)]
    html = (
        resources.jinja_environment(resources.folder(project.settings.root, "templates", TEMPLATE))
        .get_template(TEMPLATE)
        .render(
            title=title,
            pdf_name=pdf.name,
            sha256=fileio.sha256(pdf),
            contents=contents,
            pages=pages,
            width=width,
        )
    )
    index = output.preview_index(node)
    fileio.write_text(index, html)
    log.info("%s: preview of %d pages in %s", node, count, index.parent)
    return Preview(node, pdf, index, tuple(written))


def _remove_extra_pages(folder: Path, count: int) -> None:
    """Remove page images beyond `count` left by an earlier, longer pack."""
    keep = {PREVIEW_PAGE.format(i + 1) for i in range(count)}
    for old in folder.glob("page-*.png"):
        if old.name not in keep:
            old.unlink()


def preview(project: Project, period: str, nodes: Sequence[str] = ()) -> list[Preview]:
    """`reportlib preview`: each node's pack (every rendered one by default) as PNG pages + HTML."""
    periods.check(period)
    output = PeriodOutput(project.settings.output_path, period)
    return [write_preview(project, output, node) for node in preview_nodes(output, nodes)]
