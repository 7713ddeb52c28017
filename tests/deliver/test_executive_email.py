"""The pack email as a real SMTP server receives it: parts, the inline scorecard image, the text.

The tiny project's `all` pack is sent to aiosmtpd on 127.0.0.1; the received bytes are parsed
back, so what is checked is what a mail client gets.
"""

from __future__ import annotations

import email
import io
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from reportlib import cli, pdfimage
from reportlib.layout import PeriodOutput

from .conftest import PERIOD, Misbehaving, use_server

pytestmark = [pytest.mark.slow, pytest.mark.long]


def _received(tmp_path: Path, delivery_run: Path, server: tuple[Misbehaving, int]) -> EmailMessage:
    handler, port = server
    root = use_server(delivery_run, tmp_path / "p", port)
    args = ["send", "--config", str(root / "reportlib.toml"), "--period", PERIOD]
    assert cli.main(args) == 0
    assert handler.copies("board@example.com") == 1
    data = next(d for rcpts, d in handler.messages if "board@example.com" in rcpts)
    msg = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_the_received_email_shows_the_scorecard_page_inline(
    tmp_path: Path, delivery_run: Path, server: tuple[Misbehaving, int]
) -> None:
    msg = _received(tmp_path, delivery_run, server)
    types = [p.get_content_type() for p in msg.walk()]
    assert types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "application/pdf",
    ]
    png = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    html = msg.get_body(("html",))
    assert html is not None
    cid = str(png["Content-ID"]).strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    image = Image.open(io.BytesIO(png.get_content()))
    assert image.format == "PNG"
    # The scorecard page, trimmed of its blank margins: as wide as drawn at most, landscape.
    assert image.width <= pdfimage.EMAIL_WIDTH and image.width > image.height
    # It is the pack's own scorecard page: the same pixels as drawn from the PDF sent.
    pdf = PeriodOutput(tmp_path / "p" / "output", PERIOD).pack_pdf("all")
    with pdfimage.opened(pdf) as doc:
        page = pdfimage.bookmark_page(doc, pdfimage.SCORECARD_BOOKMARK)
        assert page is not None and page > 0
        assert png.get_content() == pdfimage.png(doc, page, pdfimage.EMAIL_WIDTH, trim=True)
    attached = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert [p.get_filename() for p in attached] == ["board-pack-all.pdf"]
    assert attached[0].get_content() == pdf.read_bytes()


def test_the_received_bodies_read_attachment_first_with_the_score(
    tmp_path: Path, delivery_run: Path, server: tuple[Misbehaving, int]
) -> None:
    msg = _received(tmp_path, delivery_run, server)
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and html is not None
    text, page = plain.get_content(), html.get_content()
    assert text.splitlines()[2].startswith("Attached: the Tiny Co customer-experience board pack")
    assert "board-pack-all.pdf" in text.splitlines()[2]
    # The tiny project scores only its process perspective, a quarter of the weight: the
    # overall is not scored (DOMAIN.md §6); test_message.py shows "x / 10" where it is.
    for body in (text, page):
        assert "overall score: not scored, Insufficient" in text
        assert "not scored" in body and "/ 10" not in body
        assert "▲" not in body and "■" not in body and "●" not in body
        assert "http" not in body and "<a " not in body
    assert '<span style="font-weight: 700; color: #5f6670;">Insufficient</span>' in page
    assert 'name="viewport"' in page and "max-width: 600px" in page
