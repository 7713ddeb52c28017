"""What customers say: redaction on hostile strings, the choice of comments, and the real page."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from reportlib import commentary, layout, render
from reportlib.charts import all_charts
from reportlib.config import Project, load_project
from reportlib.pipeline import compute
from reportlib.render.voice_views import verbatims_view
from reportlib.verbatims import EMAIL, NUMBER, PHONE, redact, shorten, top

from .conftest import SURVEYS, write_project

PERIOD = "2026-03"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+cx@example.co.uk now", f"mail {EMAIL} now"),
        ("JANE_DOE@EXAMPLE.COM", EMAIL),
        ("j.doe [at] example [dot] com", EMAIL),
        ("j.doe (at) example (dot) com", EMAIL),
        ("ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", EMAIL),  # full-width
        ("jane\u200b@\u200bexample.com", EMAIL),  # zero-width spaces inside
        ("call +44 (0)20 7946 0958 today", f"call {PHONE} today"),
        ("555-123-4567", PHONE),
        ("555.123.4567", PHONE),
        ("tel 06 12 34 56 78", f"tel {PHONE}"),
        ("555\u200b123\u200b4567", NUMBER),  # invisible separators removed: one long run
        ("acct 12345678", f"acct {NUMBER}"),
        ("order #98765432!", f"order #{NUMBER}!"),
        ("card 4111 1111 1111 1111", f"card {NUMBER}"),
        ("card 4111-1111-1111-1111-111", f"card {NUMBER}"),
        ("IBAN DE89370400440532013000", f"IBAN DE{NUMBER}"),
        ("٠٦١٢٣٤٥٦٧٨", NUMBER),  # Arabic-Indic digits
        ("１２３４５６７８", NUMBER),  # full-width digits
        ("line\nbreak\tand  spaces", "line break and spaces"),
    ],
)
def test_redaction_of_hostile_strings(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "fixed on 2026-03-01, 3 days later",
        "rated 9 of 10, ticket 4821",
        "24/7 support, 30 minutes",
        "upgrade to v2.3.1 was smooth",
    ],
)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert redact(text) == text


def test_no_address_or_number_survives_any_order() -> None:
    text = "me@x.org, +1 212 555 0100; 1234567890123; a.b@c.d.ef (555) 010-0199"
    out = redact(text)
    assert "@" not in out
    assert not re.search(r"\d{5,}", out)
    assert out == f"{EMAIL}, {PHONE}; {NUMBER}; {EMAIL} {PHONE}"


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("short") == "short"
    long = "word " * 100
    out = shorten(long, 30)
    assert len(out) <= 30 and out.endswith("…") and " wor…" not in out


def test_top_picks_longest_distinct_comments_under_the_node() -> None:
    frame = pd.DataFrame(
        {
            "node": ["a/x", "a/y", "a/x", "b/x", "a/y", "a/x"],
            "response_id": ["R1", "R2", "R3", "R4", "R5", "R6"],
            "score": [0, 3, 6, 2, 10, 9],
            "responded_at": ["2026-03-01"] * 6,
            "channel": ["email"] * 6,
            "comment": ["slow", "very slow indeed", "Slow", "rude and slow", "great", "great"],
        }
    )
    detr, prom = top(frame, "a", limit=4)
    # b/x is not under a; "slow" and "Slow" are one text said twice.
    assert list(detr["comment"]) == ["very slow indeed", "slow"]
    assert list(detr["same"]) == [0, 1]
    assert list(prom["comment"]) == ["great"] and list(prom["same"]) == [1]
    everyone, _ = top(frame, "all")
    assert "rude and slow" in list(everyone["comment"])


# A comment full of personal data, answered by C1 in March (more than 7 days after R1).
HOSTILE = (
    "R15,C1,nps,2,2026-03-19 10:00:00,2026-03-20 10:00:00,email,40,"
    '"Call me on +44 20 7946 0958 or jane.doe@example.com, account 123456789"\n'
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    p = load_project(
        write_project(
            tmp_path_factory.mktemp("verbatims"), tables={"survey_responses": SURVEYS + HOSTILE}
        )
    )
    compute(p, PERIOD, accept_quality="tiny fixture")
    return p


def test_the_file_never_holds_personal_data(project: Project) -> None:
    path = layout.PeriodOutput(project.settings.output_path, PERIOD).verbatims
    frame = pd.read_parquet(path)
    assert set(frame["response_id"]) == {"R1", "R6", "R15"}  # March NPS answers with a comment
    hostile = frame[frame["response_id"] == "R15"].iloc[0]
    assert hostile["comment"] == f"Call me on {PHONE} or {EMAIL}, account {NUMBER}"
    assert hostile["node"] == "ent/eu"
    raw = path.read_bytes()
    for secret in (b"jane.doe", b"example.com", b"7946", b"123456789"):
        assert secret not in raw


def test_view_of_a_node_and_of_the_company(project: Project) -> None:
    view = verbatims_view(render.load_context(project, PERIOD, "all"))
    assert view.detractors[0].text.startswith("Call me on")  # the longest
    assert {v.text for v in view.detractors} == {
        f"Call me on {PHONE} or {EMAIL}, account {NUMBER}",
        "slow, again",
    }
    assert [v.text for v in view.promoters] == ["great"]
    assert (view.n_detractors, view.n_promoters) == (2, 1)
    leaf = verbatims_view(render.load_context(project, PERIOD, "ent/us"))
    assert [v.text for v in leaf.detractors] == ["slow, again"]  # C3's
    assert leaf.promoters == ()


@pytest.mark.slow
def test_the_page_in_a_real_pack(project: Project, tmp_path: Path) -> None:
    ctx = render.load_context(project, PERIOD, "all")
    html = render.render_html(ctx, all_charts(ctx), commentary.load(project, PERIOD, "all"))
    pdf = render.write_pdf(html, tmp_path / "all.pdf", ctx=ctx)
    pages = [re.sub(r"\s+", " ", p.extract_text()) for p in PdfReader(pdf).pages]
    page = next(p for p in pages if "What customers say" in p and "Detractors" in p)
    assert "Call me on [phone] or [e-mail], account [number]" in page
    assert "slow, again" in page and "great" in page
    assert "NPS 2 · email · Enterprise · Europe · 2026-03-20" in page
    text = " ".join(pages)
    assert "jane.doe" not in text and "7946" not in text
    channels = next(p for p in pages if "By channel" in p and "Surveys, by response channel" in p)
    assert "First contact resolution" in channels


def test_a_month_without_comments_gives_an_empty_text_file_and_an_empty_page(
    tmp_path: Path,
) -> None:
    """No comment at all (a small company's month): the file's text columns stay text, so
    the pack reads it back and shows no verbatims rather than failing."""
    lines = SURVEYS.splitlines()
    header = lines[0].split(",")
    at = header.index("comment")
    assert at == len(header) - 1  # the comment is the last column: cut it off each row
    bare = [lines[0]] + [
        re.sub(r',(?:"[^"]*"|[^,]*)$', ",", line) for line in lines[1:] if line.strip()
    ]
    p = load_project(write_project(tmp_path, tables={"survey_responses": "\n".join(bare) + "\n"}))
    compute(p, PERIOD, accept_quality="tiny fixture")
    frame = pd.read_parquet(layout.PeriodOutput(p.settings.output_path, PERIOD).verbatims)
    assert frame.empty
    assert {c: frame[c].dtype.kind for c in ("node", "comment")} == {"node": "O", "comment": "O"}
    view = verbatims_view(render.load_context(p, PERIOD, "ent"))
    assert (view.detractors, view.promoters) == ((), ())
    assert (view.n_detractors, view.n_promoters) == (0, 0)
