"""`reportlib preview`: a real pack's pages as PNG and its index.html, from the rendered PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from reportlib import cli, pdfimage
from reportlib.config import Project, load_project
from reportlib.errors import ConfigError
from reportlib.layout import PeriodOutput
from reportlib.pipeline import compute
from reportlib.preview import preview
from reportlib.render.pdf import build_pack

from .conftest import write_project

pytestmark = pytest.mark.slow

PERIOD = "2026-03"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The tiny project computed, with the packs of `all` and `ent/eu` rendered."""
    p = load_project(write_project(tmp_path_factory.mktemp("preview")))
    compute(p, PERIOD)
    for node in ("all", "ent/eu"):
        build_pack(p, PERIOD, node)
    return p


def test_every_page_becomes_a_png_and_the_index_shows_them(project: Project) -> None:
    out = PeriodOutput(project.settings.output_path, PERIOD)
    [done] = preview(project, PERIOD, ["ent/eu"])
    pdf = out.pack_pdf("ent/eu")
    pages = len(PdfReader(pdf).pages)
    assert done.index == out.preview_index("ent/eu") == out.dir / "preview/ent/eu/index.html"
    assert done.pages == tuple(out.preview_page("ent/eu", i) for i in range(1, pages + 1))
    for i, path in enumerate(done.pages):
        image = Image.open(io.BytesIO(path.read_bytes()))
        assert image.format == "PNG" and image.width == pdfimage.THUMBNAIL_WIDTH
        assert image.width > image.height  # A4 landscape
        with pdfimage.opened(pdf) as doc:  # the page as PDFium draws it, pixel for pixel
            assert path.read_bytes() == pdfimage.png(doc, i, pdfimage.THUMBNAIL_WIDTH)
    html = done.index.read_text(encoding="utf-8")
    for i in range(1, pages + 1):
        assert f'<img src="page-{i:02d}.png" alt="Page {i} of {pages}"' in html
    # the contents are the pack's bookmarks, each linked to its page
    reader = PdfReader(pdf)
    for item in reader.outline:
        if isinstance(item, list):
            continue
        page = reader.get_destination_page_number(item) + 1
        assert f'<a href="#page-{page}">{item.title}</a> · page {page}' in html
    assert not list(done.index.parent.glob("*.tmp*")), "no temporary files left"


def test_pages_of_a_longer_earlier_pack_are_removed(project: Project) -> None:
    out = PeriodOutput(project.settings.output_path, PERIOD)
    stale = out.preview_page("all", 99)
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"old")
    [done] = preview(project, PERIOD, ["all"])
    assert not stale.exists()
    assert sorted(done.index.parent.glob("page-*.png")) == sorted(done.pages)


def test_unknown_or_unrendered_nodes_are_refused(project: Project) -> None:
    with pytest.raises(ConfigError, match="unknown node ent/xx; the nodes of 2026-03 are"):
        preview(project, PERIOD, ["ent/xx"])
    with pytest.raises(ConfigError, match=r"no board pack for smb in 2026-03: run `reportlib run"):
        preview(project, PERIOD, ["smb"])


def test_the_command_previews_every_rendered_pack(project: Project, capsys) -> None:
    config = project.config_file
    assert cli.main(["preview", "--config", str(config), "--period", PERIOD]) == 0
    said = capsys.readouterr().out
    out = PeriodOutput(project.settings.output_path, PERIOD)
    for node in ("all", "ent/eu"):
        assert f"{node}: " in said
        assert out.preview_index(node).is_file()
    assert not out.preview_dir("smb").exists()


def test_a_cover_thumbnail_shows_the_cover(project: Project, tmp_path: Path) -> None:
    """The first thumbnail is the cover: mostly white, with the dark band of the cover's left."""
    [done] = preview(project, PERIOD, ["all"])
    image = Image.open(done.pages[0]).convert("RGB")
    band = image.getpixel((int(image.width * 0.055), image.height // 2))
    assert sum(band) < 200, band  # the navy band
    assert image.getpixel((image.width // 2, image.height // 2)) == (255, 255, 255)
