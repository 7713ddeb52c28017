"""Commentary files: sections matched, Markdown rendered without active content, drafts never overwrite."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from pypdf import PdfReader

from reportlib import commentary, render
from reportlib.config import Project, load_project
from reportlib.errors import ConfigError
from reportlib.packdata import load_context
from reportlib.pipeline import compute

from .conftest import write_project

PERIOD = "2026-03"

HOSTILE = textwrap.dedent(
    """\
    ## Summary

    Revenue held up. <script>alert(1)</script>

    <img src=http://evil.example/track.png>

    [click me](javascript:alert(1)) and [the intranet](https://intranet.example/cx) and
    ![logo](http://evil.example/logo.png)

    ## Customer

    <b>raw bold</b> stays text.
    """
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    config = write_project(tmp_path_factory.mktemp("commentary"))
    p = load_project(config)
    compute(p, PERIOD, accept_quality="tiny fixture: the rows are planted on purpose")
    return p


def write(project: Project, node: str, text: str) -> Path:
    path = commentary.path_for(project, PERIOD, node)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_path_nests_node_paths(project: Project) -> None:
    base = project.settings.data_path / "commentary" / PERIOD
    assert commentary.path_for(project, PERIOD, "all") == base / "all.md"
    assert commentary.path_for(project, PERIOD, "ent/eu") == base / "ent" / "eu.md"
    with pytest.raises(ConfigError):
        commentary.path_for(project, PERIOD, "../etc")


def test_sections_are_matched_by_name_or_id(project: Project) -> None:
    text = textwrap.dedent(
        """\
        ---
        scorecard_hash: abc123
        author: Jane Analyst
        ---
        # Commentary for Tiny Co

        Opening words.

        ## Summary
        A *good* month.

        ## financial
        Money.

        ## Internal Process:
        Tickets.

        ```
        ## not a heading inside a code block
        ```

        ## LEARNING AND GROWTH
        People.

        ## Customer perspective
        Customers.

        ## Outlook
        Next quarter.

        ## Financial
        More money.
        """
    )
    meta, sections, unmatched = commentary.parse(project, text)
    assert meta == {"scorecard_hash": "abc123", "author": "Jane Analyst"}
    assert set(sections) == {"summary", "financial", "process", "learning", "customer"}
    assert "Opening words." in sections["summary"] and "A *good* month." in sections["summary"]
    assert "Commentary for Tiny Co" not in sections["summary"]
    assert "## not a heading" in sections["process"]
    assert "Money." in sections["financial"] and "More money." in sections["financial"]
    # An unknown heading is kept under the summary, not lost.
    assert unmatched == ("Outlook",)
    assert "### Outlook" in sections["summary"] and "Next quarter." in sections["summary"]


def test_missing_file(project: Project) -> None:
    c = commentary.load(project, PERIOD, "smb/us")
    assert c.missing and c.path is None and c.sections == {}


def test_empty_section_counts_as_not_provided(project: Project) -> None:
    write(project, "smb", "## Summary\n\nFine.\n\n## Customer\n\n\n## Financial\n")
    c = commentary.load(project, PERIOD, "smb")
    assert not c.missing
    assert set(c.sections) == {"summary"}


def test_bad_front_matter_names_the_file(project: Project) -> None:
    path = write(project, "smb/eu", "---\nscorecard_hash: [unclosed\n---\n## Summary\nx\n")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        commentary.load(project, PERIOD, "smb/eu")


def test_markdown_renders_without_active_content(project: Project) -> None:
    write(project, "ent/us", HOSTILE)
    c = commentary.load(project, PERIOD, "ent/us")
    html = c.sections["summary"]
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=http://evil.example/track.png&gt;" in html
    assert "javascript:" not in html.replace("](javascript:alert(1))", "")
    assert 'href="javascript' not in html
    assert '<a href="https://intranet.example/cx">the intranet</a>' in html
    assert "[image not shown: logo]" in html and "evil.example/logo.png" not in html
    assert "&lt;b&gt;raw bold&lt;/b&gt;" in c.sections["customer"]

    # The same holds in the whole pack's HTML and in the PDF.
    ctx = load_context(project, PERIOD, "ent/us")
    pack_html = render.render_html(ctx, render.Charts({}, {}, {}), c)
    assert "<script" not in pack_html and "alert(1)" in pack_html
    out = render.write_pdf(pack_html, ctx.project.settings.output_path / "hostile.pdf", ctx=ctx)
    reader = PdfReader(out)
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "<script>alert(1)</script>" in text
    assert "<img src=http://evil.example/track.png>" in text
    uris = [
        str(a.get_object().get("/A", {}).get("/URI", ""))
        for page in reader.pages
        for a in page.get("/Annots", []) or []
    ]
    assert "https://intranet.example/cx" in uris
    assert not [u for u in uris if "evil" in u or u.startswith("javascript")]
    assert "/JavaScript" not in str(reader.trailer["/Root"].get("/Names", {}))
    # Perspectives without a section say so.
    assert text.count("No commentary provided") == 3


def test_draft_is_written_from_the_figures(project: Project) -> None:
    ctx = load_context(project, PERIOD, "all")
    text = commentary.draft(ctx)
    meta, sections, unmatched = commentary.parse(project, text)
    assert meta["scorecard_hash"] == ctx.scorecard_hash and meta["status"] == "draft"
    assert set(sections) == {"summary", *project.perspective_ids}
    assert unmatched == ()
    assert "Overall score: **5.6 / 10** (watch)" in sections["summary"]
    # Reopen rate is red (25% against a threshold of 20%); SLA compliance fell 60 points.
    assert "**Reopen rate**: 25.0% against a target of 10.0% (off target)" in sections["process"]
    assert "**SLA compliance** worsened from 100.0% to 40.0%" in sections["summary"]
    # NPS changed significantly but on too few responses: not a mover.
    assert "Net Promoter Score** " not in sections["summary"]
    # A draft renders as a draft.
    c = commentary.Commentary("all", PERIOD, None, {}, False, front_matter=meta)
    assert c.draft


def test_write_drafts_never_overwrites(project: Project) -> None:
    written = commentary.write_drafts(project, PERIOD, ["ent", "ent/eu"])
    assert written == [
        commentary.path_for(project, PERIOD, "ent"),
        commentary.path_for(project, PERIOD, "ent/eu"),
    ]
    edited = (
        written[0].read_text(encoding="utf-8").replace("status: draft", "status: reviewed")
        + "\nMine.\n"
    )
    written[0].write_text(edited, encoding="utf-8")
    assert commentary.write_drafts(project, PERIOD, ["ent", "ent/eu"]) == []
    assert written[0].read_text(encoding="utf-8") == edited
    assert not commentary.load(project, PERIOD, "ent").draft
    # Every node: only the ones without a file are written.
    rest = commentary.write_drafts(project, PERIOD)
    assert commentary.path_for(project, PERIOD, "ent") not in rest
    assert commentary.path_for(project, PERIOD, "all") in rest
    assert not list(written[0].parent.glob(".*.tmp"))
