"""Pages of a rendered board pack as PNG images, for the email's inline scorecard and `preview`.

The pack's PDF is the one source: a page image is drawn from the very file that is sent or
archived, so what a reader sees in the email or a preview is what the PDF shows. PDFium (the
PDF engine of Chromium, through the pypdfium2 wheel) draws the pages; Pillow, already
installed with matplotlib, writes the PNG. Nothing here writes files: callers do, atomically.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageChops

from .errors import RenderError

log = logging.getLogger(__name__)

EMAIL_WIDTH = 1200
"""Pixels across the email's scorecard image: sharp on a phone's screen at 2-3x, yet small."""

THUMBNAIL_WIDTH = 1000
"""Pixels across a preview thumbnail: an A4 page's table legible when opened full size."""

SCORECARD_BOOKMARK = "Scorecard"
"""The bookmark (the pack's outline) of the scorecard page."""


@contextmanager
def opened(pdf: Path) -> Iterator[pdfium.PdfDocument]:
    """The PDF opened with PDFium, closed on leaving; RenderError naming it if it cannot be read."""
    try:
        doc = pdfium.PdfDocument(pdf)
    except (pdfium.PdfiumError, OSError) as e:
        raise RenderError(f"{pdf}: cannot be read as a PDF ({e})", file=str(pdf)) from e
    try:
        yield doc
    finally:
        doc.close()


def page_count(pdf: Path) -> int:
    """How many pages the PDF has."""
    with opened(pdf) as doc:
        return len(doc)


def bookmark_page(doc: pdfium.PdfDocument, title: str) -> int | None:
    """The 0-based page of the first top-level bookmark whose title starts with `title`."""
    for item in doc.get_toc():
        if item.level == 0 and item.get_title().strip().startswith(title):
            dest = item.get_dest()
            index = None if dest is None else dest.get_index()
            if index is not None:
                return int(index)
    return None


TRIM_MARGIN = 12
"""Pixels of white kept around a trimmed page's content."""


def png(doc: pdfium.PdfDocument, index: int, width: int, *, trim: bool = False) -> bytes:
    """Page `index` (0-based) drawn `width` pixels wide on white, as PNG bytes.

    With `trim`, the blank page margins are cut off (but TRIM_MARGIN pixels), so the content
    is as large as it can be on a small screen.
    """
    page = doc[index]
    try:
        points, _ = page.get_size()
        bitmap = page.render(scale=width / points)
        image = bitmap.to_pil().convert("RGB")
    finally:
        page.close()
    if trim:
        box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
        if box is not None:
            left, top, right, bottom = box
            m = TRIM_MARGIN
            image = image.crop(
                (
                    max(left - m, 0),
                    max(top - m, 0),
                    min(right + m, image.width),
                    min(bottom + m, image.height),
                )
            )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def pages_png(pdf: Path, width: int = THUMBNAIL_WIDTH) -> list[bytes]:
    """Every page of the PDF as PNG bytes, in order."""
    with opened(pdf) as doc:
        return [png(doc, i, width) for i in range(len(doc))]


@functools.lru_cache(maxsize=32)
def scorecard_png(pdf: Path, sha256: str, width: int = EMAIL_WIDTH) -> bytes:
    """The pack's scorecard page (found by its bookmark; the first page without one) as PNG.

    Cached by the pack's sha256: recipients who share a node get the same image, drawn once.
    """
    with opened(pdf) as doc:
        index = bookmark_page(doc, SCORECARD_BOOKMARK)
        if index is None:
            log.warning("%s: no %r bookmark; the first page is shown", pdf, SCORECARD_BOOKMARK)
            index = 0
        return png(doc, index, width, trim=True)
