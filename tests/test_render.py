"""The board pack PDF: real WeasyPrint output inspected with pypdf, and the HTML it comes from."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from pypdf import PdfReader
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from reportlib import commentary, layout, periods, render, resources
from reportlib import scorecard as sc
from reportlib.charts import Charts
from reportlib.config import Project, load_project
from reportlib.errors import RenderError
from reportlib.pipeline import compute

from .conftest import SURVEYS, write_project

PERIOD = "2026-03"
KPI_VALUES = (
    "period,node,kpi,value,n,author,reason\n"
    "2026-03,ent/eu,enps,20,8,Jane Analyst,Pulse survey ran on paper in the Lyon office\n"
)
A4_LANDSCAPE = (841.89, 595.28)


class HTMLSnapshot(SingleFileSnapshotExtension):
    """One .html file per snapshot, diffable in review."""

    file_extension = "html"
    _write_mode = WriteMode.TEXT


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Tiny project, computed (quality report included), with one manual value."""
    # Planted for the quality appendix: R99 repeats C1's NPS answer two days later
    # (repeat_response) and credit notes are not allowed, so I6 is quarantined.
    surveys = SURVEYS + "R99,C1,nps,3,2026-03-02 10:00:00,2026-03-03 10:00:00,email,40,\n"
    config = write_project(
        tmp_path_factory.mktemp("render"),
        tables={"survey_responses": surveys},
        kpi_values=KPI_VALUES,
        quality="allow_credit_notes = false\n",
    )
    p = load_project(config)
    compute(p, PERIOD, accept_quality="tiny fixture: the rows are planted on purpose")
    return p


@pytest.fixture(scope="module")
def packs(project: Project) -> dict[str, Path]:
    """Real PDFs for a node with children and a leaf (the expensive part: built once)."""
    return {node: render.build_pack(project, PERIOD, node) for node in ("all", "ent/eu")}


def text_of(reader: PdfReader) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def outline_titles(outline: list) -> list[str]:
    out: list[str] = []
    for item in outline:
        if isinstance(item, list):
            out += outline_titles(item)
        else:
            out.append(item.title)
    return out


def fonts_in(resources, seen: set[int] | None = None):
    """Every font dictionary reachable from a resources dict, including inside form XObjects (charts)."""
    seen = set() if seen is None else seen
    resources = resources.get_object() if resources is not None else {}
    for font in (resources.get("/Font") or {}).values():
        yield font.get_object()
    for xobj in (resources.get("/XObject") or {}).values():
        ref = getattr(xobj, "idnum", None)
        if ref in seen:
            continue
        seen.add(ref)
        xobj = xobj.get_object()
        if xobj.get("/Subtype") == "/Form" and "/Resources" in xobj:
            yield from fonts_in(xobj["/Resources"], seen)


def embedded(font) -> bool:
    descriptors = [font.get("/FontDescriptor")]
    descriptors += [
        d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts") or []
    ]
    return any(
        d is not None
        and any(k in d.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
        for d in descriptors
    )


@pytest.mark.slow
@pytest.mark.parametrize("node", ["all", "ent/eu"])
def test_pack_pages_outline_text_and_fonts(
    project: Project, packs: dict[str, Path], node: str
) -> None:
    path = packs[node]
    assert path == project.settings.output_path / PERIOD / Path(*node.split("/")) / "board-pack.pdf"
    reader = PdfReader(path)
    n = len(reader.pages)
    assert 9 <= n <= 24
    for page in reader.pages:
        box = page.mediabox
        assert float(box.width) == pytest.approx(A4_LANDSCAPE[0], abs=1)
        assert float(box.height) == pytest.approx(A4_LANDSCAPE[1], abs=1)

    titles = outline_titles(reader.outline)
    for wanted in (
        "Cover",
        "Contents",
        "Executive summary",
        "Scorecard",
        "Escalations",
        "Appendix",
        "Data quality",
        "Methodology",
        "Manual values and overrides",
    ):
        assert wanted in titles
    for p in project.hierarchy.perspectives:
        assert p.name in titles
    assert ("Segment comparison" in titles) == (node == "all")
    assert ("Scores by segment and region" in titles) == (node == "all")
    assert "By channel" in titles and "What customers say" in titles

    text = text_of(reader)
    for k in project.kpis:
        assert k.name in text, k.name
    name = "Tiny Co" if node == "all" else "Enterprise · Europe"
    assert name in text
    assert "March 2026" in text and "Confidential: internal use only" in text
    for i in (1, n):
        assert f"page {i} of {n}" in text
    assert "Data as of: 31 March 2026, 12:00 UTC" in text
    assert "No commentary provided" in text

    meta = reader.metadata
    assert meta.title == f"{name}: customer-experience scorecard, March 2026"
    assert meta.author == "Tiny Co"
    assert meta.subject and "balanced scorecard" in meta.subject
    assert meta.creation_date is not None and meta.creation_date.year == 2026

    fonts = [f for page in reader.pages for f in fonts_in(page.get("/Resources"))]
    assert fonts
    assert all(embedded(f) for f in fonts), [
        str(f.get("/BaseFont")) for f in fonts if not embedded(f)
    ]
    assert any("IBM-Plex-Sans" in str(f.get("/BaseFont")) for f in fonts)


@pytest.mark.slow
def test_pack_figures_and_appendix(packs: dict[str, Path]) -> None:
    text = text_of(PdfReader(packs["all"]))
    # n < min n: value shown with its n and the minimum (NPS: 7 responses kept, min 30).
    assert "Net Promoter Score LAGGING n=7 < 30 14.3" in text
    assert "Off target" in text and "On target" in text and "Watch" in text
    # Quality report from compute: rules per table, the override and the n_reduced footnote.
    assert "repeat_response 1" in text and "negative_amount 1" in text
    assert "Override accepted: tiny fixture" in text
    assert "Revenue (25.0% of rows removed)" in text
    # The manual value of a child node, with the computed value beside it.
    assert "Pulse survey ran on paper in the Lyon office" in text
    assert "Jane Analyst" in text
    # Leaf packs have no comparison; the node with children does.
    assert "Segment comparison" in text
    assert "Segment comparison" not in text_of(PdfReader(packs["ent/eu"]))


@pytest.mark.slow
def test_contents_has_page_numbers(packs: dict[str, Path]) -> None:
    reader = PdfReader(packs["all"])
    contents = re.sub(r"\s+", " ", reader.pages[1].extract_text())
    # A node with children opens with its heat-map, right after the contents.
    assert re.search(r"Scores by segment and region ?3\b", contents)
    assert re.search(r"Executive summary ?4\b", contents)
    assert re.search(r"Scorecard ?5\b", contents)


def _stub_charts(project: Project) -> Charts:
    """Tiny stand-in SVGs, one per chart, so the section snapshots show the layout, not chart bytes."""

    def stub(name: str) -> str:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="3"><desc>{name}</desc></svg>'

    ids = [k.id for k in project.kpis]
    return Charts(
        trends={i: stub(f"trend {i}") for i in ids},
        sparklines={i: stub(f"spark {i}") for i in ids},
        comparison={i: stub(f"comparison {i}") for i in ids},
        overview=stub("overview"),
    )


SNAPSHOT_NOTES = {
    "summary": "<p>Scores held up; <strong>NPS</strong> fell after the price change.</p>\n",
    "customer": "<p>Customer perspective: NPS rests on few responses.</p>\n",
}


def _added_pages() -> tuple[render.Page, ...]:
    table = pd.DataFrame(
        {"responses": [120, 80], "share %": [60.0, 40.0]},
        index=pd.Index(["email", "phone"], name="channel"),
    )
    pages = render.add_page((), "Responses by channel", table=table, caption="Survey responses")
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="3"><desc>added</desc></svg>'
    return render.add_page(pages, "Responses by channel", figure=svg)


# the restatement page exists only for a restated period: tests/test_restatement_page.py
@pytest.mark.parametrize("section", [s for s in render.SECTIONS if s != "restatement"])
def test_section_snapshot(project: Project, snapshot, section: str) -> None:
    """Every section of the pack of `all` (children, a manual value, quality report, commentary)."""
    ctx = render.load_context(project, PERIOD, "all")
    notes = commentary.Commentary("all", PERIOD, None, SNAPSHOT_NOTES, False)
    html = render.render_section(ctx, _stub_charts(project), notes, section, _added_pages())
    assert "<section" in html
    assert html == snapshot(extension_class=HTMLSnapshot)


def test_added_pages_are_listed_in_the_contents(project: Project) -> None:
    ctx = render.load_context(project, PERIOD, "all")
    notes = commentary.Commentary("all", PERIOD, None, {}, True)
    pages = _added_pages()
    assert [p.id for p in pages] == ["page-responses-by-channel", "page-responses-by-channel-2"]
    html = render.render_html(ctx, _stub_charts(project), notes, pages)
    contents = html.split('id="contents"')[1].split("</ol>")[0]
    assert contents.index("Escalations") < contents.index("Responses by channel")
    assert contents.index("Responses by channel") < contents.index("Appendix")
    assert html.count('<section class="page added"') == 2
    assert "<td>email</td>" in html and "data:image/svg+xml;base64," in html
    assert [c.text for c in pages[0].table.rows[0]] == ["email", "120", "60"]
    mixed = render.page_table(pd.DataFrame({"x": [1234.25, -0.5, None], "y": ["a", "b", None]}))
    assert [[c.text for c in r] for r in mixed.rows] == [
        ["1,234.25", "a"],
        ["−0.50", "b"],
        ["–", "–"],
    ]
    assert [c.numeric for c in mixed.header] == [True, False]
    with pytest.raises(RenderError, match="give a figure or a table"):
        render.add_page((), "Empty")
    hostile = render.add_page((), "<b>x</b>", table=pd.DataFrame({"<i>c</i>": ["<script>"]}))
    page_html = render.render_section(ctx, Charts({}, {}, {}), notes, "pages", hostile)
    assert (
        "<script>" not in page_html and "<b>x</b>" not in page_html and "<i>c</i>" not in page_html
    )


@pytest.mark.slow
def test_added_page_is_in_the_pdf_contents_and_bookmarks(project: Project, tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    ctx = render.load_context(project, PERIOD, "ent/eu")
    fig = Figure(figsize=(4, 2))
    fig.add_subplot().bar(["email", "phone"], [120, 80])
    table = pd.DataFrame(
        {"responses": [120, 80]}, index=pd.Index(["email", "phone"], name="channel")
    )
    pages = render.add_page((), "Responses by channel", figure=fig)
    pages = render.add_page(pages, "Responses table", table=table)
    notes = commentary.load(project, PERIOD, "ent/eu")
    html = render.render_html(ctx, Charts({}, {}, {}), notes, pages)
    reader = PdfReader(render.write_pdf(html, tmp_path / "pack.pdf", ctx=ctx))
    titles = outline_titles(reader.outline)
    assert "Responses by channel" in titles and "Responses table" in titles
    assert (
        titles.index("Escalations")
        < titles.index("Responses by channel")
        < titles.index("Appendix")
    )
    contents = re.sub(r"\s+", " ", reader.pages[1].extract_text())
    assert re.search(r"Responses by channel ?\d+", contents)
    text = text_of(reader)
    assert "channel" in text and "email" in text and "120" in text


def test_scorecard_table_snapshot(project: Project, snapshot) -> None:
    ctx = render.load_context(project, PERIOD, "all")
    spark = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="3"/>'
    charts = Charts(trends={}, sparklines={k.id: spark for k in project.kpis}, comparison={})
    notes = commentary.Commentary("all", PERIOD, None, {}, True)
    html = render.render_section(ctx, charts, notes, "scorecard")
    assert html == render.render_section(ctx, charts, notes, "scorecard")
    assert html == snapshot(extension_class=HTMLSnapshot)


def test_every_section_renders_alone(project: Project) -> None:
    ctx = render.load_context(project, PERIOD, "all")
    notes = commentary.Commentary("all", PERIOD, None, {}, True)
    pages = render.add_page((), "Notes", table=pd.DataFrame({"a": [1]}))
    for section in render.SECTIONS:
        html = render.render_section(ctx, Charts({}, {}, {}), notes, section, pages)
        if section == "restatement":  # a period never restated has none (test_restatement_page)
            assert "<section" not in html
            continue
        assert "<section" in html and "</section>" in html, section
    with pytest.raises(RenderError, match="unknown section"):
        render.render_section(ctx, Charts({}, {}, {}), notes, "nope")


def test_html_head_and_escaping(project: Project) -> None:
    ctx = render.load_context(project, PERIOD, "all")
    hostile = dataclasses.replace(ctx, node=dataclasses.replace(ctx.node, name="<b>Tiny</b> & Co"))
    html = render.render_html(
        hostile, Charts({}, {}, {}), commentary.Commentary("all", PERIOD, None, {}, True)
    )
    assert "<b>Tiny</b>" not in html and "&lt;b&gt;Tiny&lt;/b&gt; &amp; Co" in html
    assert '<meta name="author" content="Tiny Co">' in html
    assert '<meta name="dcterms.created" content="2026-03-31T12:00:00+00:00">' in html


def test_quality_report_absent_or_odd(project: Project) -> None:
    ctx = render.load_context(project, PERIOD, "ent/eu")
    notes = commentary.Commentary("ent/eu", PERIOD, None, {}, True)
    none = render.render_section(
        dataclasses.replace(ctx, quality=None), Charts({}, {}, {}), notes, "appendix"
    )
    assert "Data-quality report not available for this run" in none
    odd = {
        "gate": "yes",
        "tables": {"tickets": {"rows_in": "x"}, "bad": 3},
        "n_reduced": [{"node": "ent/eu"}, 5],
    }
    html = render.render_section(
        dataclasses.replace(ctx, quality=odd), Charts({}, {}, {}), notes, "appendix"
    )
    assert "tickets" in html and "not recorded" in html


def test_escalations_page(project: Project) -> None:
    ctx = render.load_context(project, PERIOD, "all")
    notes = commentary.Commentary("all", PERIOD, None, {}, True)
    html = render.render_section(ctx, Charts({}, {}, {}), notes, "escalations")
    # Reopen rate is red in March only: approaching, not escalated.
    assert "None this month" in html
    approaching = html.split("Approaching escalation")[1].split("Status over the last")[0]
    assert "Reopen rate" in approaching and "March 2026" in approaching
    # Red for three months in a row: an escalation with owner, since and streak.
    h = ctx.history.copy()
    red = (h["node"] == "all") & (h["kpi"] == "reopen_rate") & (h["period"] >= "2026-01")
    h.loc[red, "status"] = "red"
    escalated = dataclasses.replace(
        ctx, history=h, escalations=sc.escalations(h[h["node"] == "all"], PERIOD, 3)
    )
    html = render.render_section(escalated, Charts({}, {}, {}), notes, "escalations")
    table = html.split("Approaching escalation")[0]
    assert (
        "Reopen rate" in table and "January 2026" in table and "Head of Customer Support" in table
    )
    assert '<td class="num">3</td>' in table
    assert html.count("chip-red") >= 3  # the status history shows the streak


def test_as_of_comes_from_the_run(project: Project, tmp_path: Path) -> None:
    manifest = layout.PeriodOutput(project.settings.output_path, PERIOD).manifest
    assert render.load_context(project, PERIOD, "all").as_of == "2026-03-31T12:00:00"
    manifest.write_text(json.dumps({"as_of": "2026-04-01T06:00:00+00:00"}), encoding="utf-8")
    try:
        ctx = render.load_context(project, PERIOD, "all")
        assert ctx.as_of == "2026-04-01T06:00:00+00:00"
        assert render.as_of_text(ctx.as_of) == "1 April 2026, 06:00 UTC"
    finally:
        manifest.unlink()
    assert render.as_of_text(None) == "not recorded"


def test_load_context_errors(project: Project, tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="unknown-node"):
        render.load_context(project, PERIOD, "unknown-node")
    with pytest.raises(RenderError, match=r"reportlib compute --period 2026-02"):
        render.load_context(project, "2026-02", "all")


def test_context_holds_the_nodes_figures(project: Project) -> None:
    ctx = render.load_context(project, PERIOD, "ent")
    assert ctx.node.name == "Enterprise" and ctx.node.parent == "all"
    assert [c.id for c in ctx.tree.children("ent")] == ["ent/eu", "ent/us"]
    assert set(ctx.current["node"]) == set(ctx.tree.ids)
    assert ctx.history["period"].max() == PERIOD and ctx.history["period"].min() == periods.shift(
        PERIOD, -12
    )
    assert list(ctx.manual_values["reason"]) == ["Pulse survey ran on paper in the Lyon office"]
    assert ctx.quality is not None and ctx.quality["gate"]["accepted"] is True
    assert ctx.scorecard_hash and len(ctx.scorecard_hash) == 64


def test_restricted_fetcher(project: Project, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = project.settings.root
    templates = resources.packaged("templates")
    fetcher = render.RestrictedFetcher([root, templates])
    inside = root / "data" / "segments.yaml"
    assert fetcher.fetch(inside.as_uri()).read().startswith(b"company: Tiny Co")
    assert fetcher.fetch((templates / "pack.css").as_uri()).read()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.txt"
    outside.write_text("secret", encoding="utf-8")
    for url in (
        "http://127.0.0.1:9/logo.png",
        "https://example.com/logo.png",
        "ftp://example.com/x",
        outside.as_uri(),
        (root / ".." / outside.parent.name / "secret.txt").as_uri(),
        "file://otherhost" + str(inside),
    ):
        with pytest.raises(RenderError, match="may not fetch"):
            fetcher.fetch(url)


@pytest.mark.slow
def test_pdf_render_never_fetches_outside(project: Project, tmp_path: Path, caplog) -> None:
    ctx = render.load_context(project, PERIOD, "ent/eu")
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"not really a png")
    html = (
        '<html><head><title>t</title><link rel="stylesheet" href="pack.css"></head><body>'
        f'<p>hello</p><img src="http://127.0.0.1:9/x.png"><img src="{outside.as_uri()}">'
        '<link rel="stylesheet" href="https://example.com/evil.css"></body></html>'
    )
    out = render.write_pdf(html, tmp_path / "x.pdf", ctx=ctx)
    assert "hello" in PdfReader(out).pages[0].extract_text()
    refused = [r.getMessage() for r in caplog.records if "may not fetch" in r.getMessage()]
    assert any("127.0.0.1" in m for m in refused) and any("outside.png" in m for m in refused)


# --- hostile text: the page holds whatever commentary and data say -----------------------

LONG_WORD = "W" * 6000
WIDE_TABLE = (
    "|" + "|".join(f"col{i}" for i in range(120)) + "|\n"
    "|"
    + "---|" * 120
    + "\n"
    + "".join("|" + "|".join(f"r{r}c{i}" for i in range(120)) + "|\n" for r in range(4))
)
DEEP_QUOTES = "".join("> " * i + f"quote{i} " + "\n" for i in range(1, 201))
HOSTILE_NOTES = (
    "## Summary\n\n"
    f"Before the word. {LONG_WORD} After the long word, the rest of the summary.\n\n"
    f"{WIDE_TABLE}\nAfter the table.\n\n{DEEP_QUOTES}\n"
    "Reversed? abc\u202edcba\u202c and \u2066isolated\u2069 and \u200fmarked.\n\n"
    "The last sentence of the summary.\n"
)
HOSTILE_SEGMENTS = (
    "company: Tiny Co\nlevels: [segment, region]\nnames:\n"
    '  segment: {ent: "Enterprise \u202eesirpretnE\u202c", smb: Small business}\n'
    "  region: {eu: Europe, us: United States}\n"
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Tiny project whose `all` commentary and segment names are hostile to the layout."""
    root = tmp_path_factory.mktemp("hostile")
    p = load_project(write_project(root, segments=HOSTILE_SEGMENTS))
    compute(p, PERIOD, accept_quality="tiny fixture: the rows are planted on purpose")
    path = commentary.path_for(p, PERIOD, "all")
    path.parent.mkdir(parents=True)
    path.write_text(HOSTILE_NOTES, encoding="utf-8")
    return p


def test_hostile_text_reaches_the_html_cleaned(hostile: Project) -> None:
    ctx = render.load_context(hostile, PERIOD, "all")
    html = render.render_html(
        ctx, _stub_charts(hostile), commentary.load(hostile, PERIOD, "all"), _added_pages()
    )
    assert not set(html) & commentary.BIDI_CONTROLS
    assert "Enterprise esirpretnE" in html  # a node name from the data, controls removed
    assert "abcdcba and isolated and marked." in html
    assert "table truncated: 112 of 120 columns not shown" in html
    assert all(f"quote{i}" in html for i in range(1, 201))
    # A template's own text cannot smuggle one in either.
    assert render.neutralise_bidi("<p>a\u202eb</p>") == "<p>ab</p>"


def page_images(pdf: Path, out: Path) -> list[Path]:
    """Every page as a 60 dpi PNG (poppler's pdftoppm)."""
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(out / "page")], check=True)
    return sorted(out.glob("page-*.png"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils (pdftoppm)")
@pytest.mark.long
def test_hostile_commentary_stays_on_the_page(hostile: Project, tmp_path: Path) -> None:
    pdf = render.build_pack(hostile, PERIOD, "all", tmp_path / "hostile.pdf")
    reader = PdfReader(pdf)
    text = text_of(reader)
    # The long word wraps, and the summary goes on after it.
    assert "After the long word, the rest of the summary." in text
    assert "The last sentence of the summary." in text
    assert text.count("W") >= len(LONG_WORD)  # all of it, over several pages
    # The table is cut visibly; every quoted word is there; nothing reads reversed.
    assert "table truncated: 112 of 120 columns not shown" in text
    assert "r3c7" in text and "r3c8" not in text
    assert all(re.search(rf"quote{i}\b", text) for i in range(1, 201))
    assert not set(text) & commentary.BIDI_CONTROLS
    assert "abcdcba" in text and "Enterprise esirpretnE" in text
    # Nothing is drawn in the right-hand page margin (14 mm): no text runs off the page.
    images = page_images(pdf, tmp_path)
    assert len(images) == len(reader.pages)
    for image in images:
        with Image.open(image) as im:
            gray = im.convert("L")
            width, height = gray.size
            margin = round(12 / 25.4 * 60)  # 12 mm of the 14 mm margin, at 60 dpi
            strip = gray.crop((width - margin, 0, width, height))
            assert strip.getextrema()[0] > 240, f"ink in the right margin of {image.name}"


def test_font_configuration_is_kept_per_templates_folder_until_a_font_changes(
    tmp_path: Path,
) -> None:
    from reportlib.render import pdf

    packaged = resources.packaged("templates")
    assert pdf.font_config(packaged) is pdf.font_config(packaged)
    own = tmp_path / "templates"
    shutil.copytree(packaged, own)
    first = pdf.font_config(own)
    assert first is not pdf.font_config(packaged)
    assert pdf.font_config(own) is first
    font = next(own.rglob("*.woff2"))
    font.write_bytes(font.read_bytes() + b"\0")  # a changed font: decoded again
    assert pdf.font_config(own) is not first


@pytest.mark.slow
@pytest.mark.long
def test_a_pack_rendered_with_a_kept_font_configuration_is_byte_identical(
    project: Project, tmp_path: Path
) -> None:
    """The first render in a templates folder decodes the fonts; the next reuses them."""
    own = project.settings.root / "templates"
    shutil.copytree(resources.packaged("templates"), own)
    try:
        ctx = render.load_context(project, PERIOD, "ent/eu")
        html = render.render_html(
            ctx, Charts({}, {}, {}), commentary.load(project, PERIOD, "ent/eu")
        )
        first = render.write_pdf(html, tmp_path / "first.pdf", ctx=ctx).read_bytes()
        second = render.write_pdf(html, tmp_path / "second.pdf", ctx=ctx).read_bytes()
    finally:
        shutil.rmtree(own)
    assert first.startswith(b"%PDF") and first == second
