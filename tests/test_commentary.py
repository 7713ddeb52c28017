"""Commentary files: sections matched, Markdown rendered without active content, drafts never overwrite."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from pypdf import PdfReader

from reportlib import commentary, render, resources
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


@pytest.mark.slow
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
    # Process alone (5.6) is scored: 1 of 4 equal perspectives, below half (DOMAIN.md §6).
    assert (
        "Overall score: no score this month (1 of 4 perspectives scored, less than half of the weight)."
        in sections["summary"]
    )
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


# --- the latest commentary on one KPI (escalations page, DOMAIN.md §8) -------------------


@pytest.fixture(scope="module")
def notes_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A tiny project of its own: these tests write and remove commentary for several months."""
    p = load_project(write_project(tmp_path_factory.mktemp("kpi-notes")))
    compute(p, PERIOD)
    return p


@pytest.fixture
def notes(notes_project: Project):
    """Write `data/commentary/<period>/all.md`; every file written is removed after the test."""
    written: list[Path] = []

    def put(period: str, text: str, node: str = "all") -> Path:
        path = commentary.path_for(notes_project, period, node)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        written.append(path)
        return path

    yield put
    for path in written:
        path.unlink(missing_ok=True)


def test_aliases_and_whole_word_matching(notes_project: Project) -> None:
    k = notes_project.kpi
    assert commentary.aliases(k("enps")) == ("Employee NPS (eNPS)", "Employee NPS", "eNPS", "enps")
    assert "YoY" not in commentary.aliases(k("revenue_growth_yoy"))  # a qualifier, not an acronym
    assert "reopen rate" in commentary.aliases(k("reopen_rate"))
    match = commentary.KpiMatcher.of(notes_project.kpis)
    assert match.mentions("The REOPEN RATE and _reopen rate_ and reopen_rate") == {"reopen_rate"}
    assert match.mentions("Employee NPS fell") == {"enps"}  # the longer name wins over NPS
    assert match.mentions("eNPS and NPS-driven **CSAT**") == {"enps", "nps", "csat"}
    assert match.mentions("snps, NPSs, csat2 and reopen rates") == set()
    assert match.mentions("Revenue grew 5% YoY") == {"revenue"}


def test_note_quotes_the_passages_of_the_kpis_perspective(notes_project: Project, notes) -> None:
    notes(
        PERIOD,
        """\
        ## Summary
        The reopen rate is our biggest worry.

        ## Internal process
        Tickets were slow.

        The **reopen rate** doubled: billing questions closed too early.

        - Reopen rate review every Monday.
        - Hire two agents.
        - Audit of reopened tickets (see [reopen_rate](https://intranet.example/reopen)).
        """,
    )
    note = commentary.kpi_note(notes_project, PERIOD, "all", "reopen_rate", "2026-01")
    assert note is not None
    assert (note.period, note.section, note.passages, note.more) == (PERIOD, "process", 3, 0)
    assert "<strong>reopen rate</strong> doubled" in note.html
    assert "Tickets were slow" not in note.html and "Hire two agents" not in note.html
    assert "biggest worry" not in note.html  # the perspective's own section comes first
    # Items of one list stay one list.
    assert note.html.count("<ul>") == 1 and note.html.count("<li>") == 2
    assert not note.stale and not note.draft
    # A KPI named only in the Summary is quoted from there.
    notes(PERIOD, "## Summary\nCSAT dipped.\n\n## Customer\nNothing to add.\n")
    csat = commentary.kpi_note(notes_project, PERIOD, "all", "csat", PERIOD)
    assert csat is not None and csat.section == "summary" and "CSAT dipped." in csat.html


def test_note_from_an_earlier_month_of_the_streak(notes_project: Project, notes) -> None:
    notes(PERIOD, "## Internal process\nFirst response time is better.\n")
    notes("2026-02", "## Internal process\nReopen rate: a new billing script from 1 March.\n")
    notes("2026-01", "## Internal process\nReopen rate: the January note.\n")
    note = commentary.kpi_note(notes_project, PERIOD, "all", "reopen_rate", "2026-01")
    assert note is not None and note.period == "2026-02"
    assert "billing script" in note.html and note.path == commentary.path_for(
        notes_project, "2026-02", "all"
    )
    # Months before the red streak began are not searched.
    assert commentary.kpi_note(notes_project, PERIOD, "all", "reopen_rate", PERIOD) is None
    # Nothing names the KPI: None (the page then says so).
    assert commentary.kpi_note(notes_project, PERIOD, "all", "sla_compliance", "2026-01") is None


def test_note_escapes_html_and_flags_stale_drafts(notes_project: Project, notes, caplog) -> None:
    notes(
        PERIOD,
        """\
        ---
        scorecard_hash: 3f0c0ffee
        status: draft
        ---
        ## Internal process
        Reopen rate <script>alert(1)</script> and <img src=http://evil.example/x.png>.
        """,
    )
    notes("2026-02", "---\nstatus: [broken\n---\n## Internal process\nReopen rate.\n")
    note = commentary.kpi_note(notes_project, PERIOD, "all", "reopen_rate", "2026-01")
    assert note is not None and note.stale and note.draft
    assert "<script" not in note.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in note.html
    assert "<img" not in note.html
    # An unreadable earlier file is skipped with a warning, never fails the pack.
    assert commentary.kpi_note(notes_project, PERIOD, "all", "csat", "2026-01") is None
    assert "front matter is not valid YAML" in caplog.text


def test_note_quotes_at_most_max_passages(notes_project: Project, notes) -> None:
    paragraphs = "\n\n".join(f"Reopen rate, point {i}." for i in range(6))
    notes(PERIOD, f"## Internal process\n{paragraphs}\n")
    note = commentary.kpi_note(notes_project, PERIOD, "all", "reopen_rate", PERIOD)
    assert note is not None
    assert (note.passages, note.more) == (commentary.MAX_PASSAGES, 6 - commentary.MAX_PASSAGES)
    assert "point 3." in note.html and "point 4." not in note.html


def test_the_packs_own_commentary_is_used_for_its_month(notes_project: Project, notes) -> None:
    notes(PERIOD, "## Internal process\nReopen rate on disk.\n")
    given = commentary.Commentary("all", PERIOD, None, {}, True)
    assert (
        commentary.kpi_note(notes_project, PERIOD, "all", "reopen_rate", PERIOD, current=given)
        is None
    )
    loaded = commentary.load(notes_project, PERIOD, "all")
    assert loaded.markdown["process"] == "Reopen rate on disk.\n"
    got = commentary.kpi_note(notes_project, PERIOD, "all", "reopen_rate", PERIOD, current=loaded)
    assert got is not None and "on disk" in got.html


# --- files confined to the project -------------------------------------------------------

SECRET = "TOP SECRET salary list of the board"


@pytest.fixture
def fresh(tmp_path: Path) -> Project:
    """A tiny project of its own (its commentary folder is changed by the test)."""
    root = tmp_path / "project"
    root.mkdir()
    return load_project(write_project(root))


def outside_file(fresh: Project) -> Path:
    """A real file beside the project, outside it."""
    path = fresh.settings.root.parent / "elsewhere" / "secret.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"## Summary\n\n{SECRET}\n", encoding="utf-8")
    return path


def commentary_link(fresh: Project, node: str, target: Path | str) -> Path:
    base = fresh.settings.data_path / "commentary" / PERIOD
    link = base.joinpath(*node.split("/")).with_suffix(".md")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return link


def test_symlink_to_a_file_outside_the_project_is_refused(fresh: Project) -> None:
    secret = outside_file(fresh)
    link = commentary_link(fresh, "all", secret)
    assert link.read_text(encoding="utf-8").endswith(f"{SECRET}\n")  # a real, readable link
    with pytest.raises(commentary.OutsideProjectError) as err:
        commentary.load(fresh, PERIOD, "all")
    message = str(err.value)
    assert "\n" not in message
    assert str(link) in message and "outside the project" in message
    assert SECRET not in message
    assert err.value.exit_code == 2 and err.value.context["file"] == str(link)
    # Every reader goes through the same gate: the path itself, drafts, stale checks.
    with pytest.raises(commentary.OutsideProjectError):
        commentary.path_for(fresh, PERIOD, "all")
    with pytest.raises(commentary.OutsideProjectError):
        commentary.write_drafts(fresh, PERIOD, ["all"])


def test_relative_link_and_linked_folder_leading_out_are_refused(fresh: Project) -> None:
    secret = outside_file(fresh)
    # data/commentary/2026-03/ent/eu.md -> ../../../../../elsewhere/secret.md
    commentary_link(fresh, "ent/eu", Path("../../../../..") / "elsewhere" / "secret.md")
    with pytest.raises(commentary.OutsideProjectError, match=r"eu\.md"):
        commentary.load(fresh, PERIOD, "ent/eu")
    # The node's folder itself is a link to a folder outside.
    (secret.parent / "us.md").write_text(f"## Summary\n\n{SECRET}\n", encoding="utf-8")
    (fresh.settings.data_path / "commentary" / PERIOD / "smb").symlink_to(secret.parent)
    with pytest.raises(commentary.OutsideProjectError, match=r"us\.md"):
        commentary.load(fresh, PERIOD, "smb/us")


def test_symlink_loop_is_refused_in_one_line(fresh: Project) -> None:
    base = fresh.settings.data_path / "commentary" / PERIOD
    base.mkdir(parents=True)
    (base / "all.md").symlink_to(base / "all.md")
    with pytest.raises(commentary.OutsideProjectError, match="cannot be resolved") as err:
        commentary.load(fresh, PERIOD, "all")
    assert "\n" not in str(err.value)


def test_symlink_inside_the_project_is_read(fresh: Project) -> None:
    shared = fresh.settings.root / "notes" / "shared.md"
    shared.parent.mkdir()
    shared.write_text("## Summary\n\nShared words.\n", encoding="utf-8")
    commentary_link(fresh, "all", Path("../../../notes/shared.md"))
    c = commentary.load(fresh, PERIOD, "all")
    assert "Shared words." in c.sections[commentary.SUMMARY]


def test_template_file_linked_outside_is_refused(fresh: Project) -> None:
    secret = outside_file(fresh)
    own = fresh.settings.root / "templates"
    shutil.copytree(resources.packaged("templates"), own)
    assert render.templates_dir(fresh) == own
    (own / "_summary.html.j2").unlink()
    (own / "_summary.html.j2").symlink_to(secret)
    with pytest.raises(commentary.OutsideProjectError, match=r"_summary\.html\.j2"):
        render.templates_dir(fresh)


# --- layout-proof text --------------------------------------------------------------------


def test_deep_block_quotes_keep_every_word(fresh: Project, caplog) -> None:
    text = "## Summary\n\n" + "".join("> " * i + f"level{i} words\n" for i in range(1, 201))
    path = write(fresh, "smb/us", text)
    c = commentary.load(fresh, PERIOD, "smb/us")
    html = c.sections[commentary.SUMMARY]
    assert all(f"level{i} words" in html for i in range(1, 201))
    assert html.count("<blockquote>") == commentary.MAX_QUOTE_DEPTH
    assert f"{path}: 197 line(s) of block quotes nested deeper than 3" in caplog.text
    # One line with 200 markers, and code in a fence, which is left as written.
    flat, n = commentary.tidy.cap_quotes(">" * 200 + " deep\n```\n>>>> code\n```\n")
    assert n == 1 and flat == "> > > deep\n```\n>>>> code\n```\n"
    assert "deep" in commentary.to_html(">" * 200 + " deep\n")


def test_wide_and_long_tables_are_cut_visibly(fresh: Project) -> None:
    head = "|" + "|".join(f"h{i}" for i in range(120)) + "|\n"
    rule = "|" + "---|" * 120 + "\n"
    rows = "".join("|" + "|".join(f"r{r}c{i}" for i in range(120)) + "|\n" for r in range(3))
    html = commentary.to_html(head + rule + rows)
    assert html.count("<th>") == commentary.MAX_TABLE_COLUMNS == 8
    assert "h7" in html and "h8<" not in html and "r2c7" in html and "r2c8" not in html
    assert '<p class="table-truncated">table truncated: 112 of 120 columns not shown</p>' in html
    long = "|a|b|\n|---|---|\n" + "".join(f"|{r}|x|\n" for r in range(130))
    html = commentary.to_html(long)
    assert html.count("<tr>") == 1 + commentary.MAX_TABLE_ROWS
    assert "table truncated: 80 of 130 rows not shown" in html
    both = commentary.truncation_note(120, 100, 90, 40)
    assert both == "table truncated: 100 of 120 columns and 40 of 90 rows not shown"
    small = commentary.to_html("|a|b|\n|---|---|\n|1|2|\n")
    assert "truncated" not in small and small.count("<td>") == 2


def test_bidi_controls_are_removed_from_commentary(fresh: Project, caplog) -> None:
    controls = "".join(sorted(commentary.BIDI_CONTROLS))
    assert len(controls) == 12
    path = write(fresh, "ent/us", f"## Summary\n\nPay \u202e0001\u202c now {controls}end.\n")
    c = commentary.load(fresh, PERIOD, "ent/us")
    text = c.sections[commentary.SUMMARY] + c.markdown[commentary.SUMMARY]
    assert not set(text) & commentary.BIDI_CONTROLS
    assert "Pay 0001 now end." in c.sections[commentary.SUMMARY]
    assert f"{path}: 14 bidi control character(s) removed" in caplog.text
