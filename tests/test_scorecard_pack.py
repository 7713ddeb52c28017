"""Honest statistics on a real rendered pack (DOMAIN.md §4–§6): the text a board member reads
in the PDF (pypdf), for the tiny company with a manual value below the company node and a
definition change of NPS in the pack's month."""

from __future__ import annotations

import re

import pytest
import yaml
from pypdf import PdfReader

from reportlib import render
from reportlib.config import load_project
from reportlib.pipeline import compute

from .conftest import DEFAULTS, TARGETS, write_project

pytestmark = pytest.mark.slow

PERIOD = "2026-03"
KPI_VALUES = (
    "period,node,kpi,value,n,author,reason\n"
    "2026-03,ent/eu,enps,20,8,Jane Analyst,Pulse survey ran on paper in the Lyon office\n"
)


def _catalogue() -> str:
    """The default catalogue, NPS at version 2 from March 2026 (a definition change), CSAT
    judged from one answer (min_n 1) so its 4 answers get a status."""
    raw = yaml.safe_load((DEFAULTS / "kpis.yaml").read_text(encoding="utf-8"))
    for k in raw["kpis"]:
        if k["id"] == "csat":
            k["min_n"] = 1
        if k["id"] == "nps":
            k["version"] = 2
            k["history"] = [
                {"version": 1, "effective_from": "2025-01", "change_note": "all channels"},
                {"version": 2, "effective_from": "2026-03", "change_note": "email only"},
            ]
    return yaml.safe_dump(raw, sort_keys=False)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The text of each page of the company's and a leaf's packs."""
    config = write_project(
        tmp_path_factory.mktemp("honest-pack"),
        kpis=_catalogue(),
        kpi_values=KPI_VALUES,
        targets=TARGETS + "csat,*,2025-01,60,40\n",
    )
    project = load_project(config)
    compute(project, PERIOD)
    out: dict[str, list[str]] = {}
    for node in ("all", "ent/eu"):
        reader = PdfReader(render.build_pack(project, PERIOD, node))
        out[node] = [re.sub(r"\s+", " ", p.extract_text()) for p in reader.pages]
    return out


def test_coverage_beside_every_perspective_score(pages: dict[str, list[str]]) -> None:
    text = " ".join(pages["all"])
    # The scorecard table: each perspective's score with k of n KPIs scored (by hand from the
    # tiny company: process FCR, resolution and reopen scored of its 5 KPIs; the others none).
    assert "3 of 5 KPIs scored" in text
    assert text.count("0 of 3 KPIs scored") >= 2  # financial and learning
    # Customer: only CSAT (weight 1 of 6) has a target and enough answers.
    assert "1 of 4 KPIs scored" in text
    # A perspective page says why it has no score.
    assert (
        "Not scored: 1 of 4 KPIs scored, carrying 17% of the weight; at least half is needed"
        in text
    )
    assert "Not scored: 0 of 3 KPIs scored; at least half is needed" in text
    # The overall score: process alone is 1 of 4 equal perspectives, below half.
    assert "Insufficient" in pages["all"][0]


def test_marks_and_legend(pages: dict[str, list[str]]) -> None:
    text = " ".join(pages["all"])
    # Census changes are marked n.t., and the legend says what that means.
    assert "n.t." in text
    assert "n.t. not tested: a census KPI, or a manual value on either side" in text
    assert "? uncertain: the 95% interval contains the target or red line" in text
    # NPS changed definition in March: its MoM (−100 in February) is not computed.
    assert re.search(
        r"Net Promoter Score LAGGING ‡ n=7 < 30 14\.3 – – Insufficient definition changed", text
    )
    assert "‡ definition v1 → v2" in text


def test_uncertain_status(pages: dict[str, list[str]]) -> None:
    # CSAT 2 of 4 top-box = 50.0% against 60/40: watch; its Wilson interval 15.0%–85.0%
    # contains both lines, so the status is marked uncertain, in the table and on the card.
    text = " ".join(pages["all"])
    assert "Customer satisfaction (CSAT) LAGGING 50.0% 60.0% < 40.0% Watch ?" in text
    assert re.search(r"Customer satisfaction \(CSAT\) Watch ?uncertain 50\.0%", text)
    assert "uncertain: the 95% interval contains the line the status was judged against" in text


def test_annualised_attrition(pages: dict[str, list[str]]) -> None:
    # 2 leavers of 35: 5.7% a month, 100·(1 − (1 − 2/35)^12) = 50.6% a year.
    text = " ".join(pages["all"])
    assert "5.7%" in text and "50.6% a year" in text and "50.6% annualised" in text


def test_parents_footnote_a_childs_manual_value(pages: dict[str, list[str]]) -> None:
    company = " ".join(pages["all"])
    assert (
        "† overridden by a manual value at Enterprise · Europe; this figure uses the raw rows"
        in company
    )
    assert "† a figure below this node is a manual value; this node uses the raw rows" in company
    # The leaf itself carries the M of its own manual value, not the parents' footnote.
    leaf = " ".join(pages["ent/eu"])
    assert "overridden by a manual value at" not in leaf


def test_headlines_state_each_pages_point_honestly(pages: dict[str, list[str]]) -> None:
    """Each section page opens with its point in one sentence (reportlib/headlines.py) under
    its short name: nothing scored is called on target, no change on too few responses is
    called significant, and NPS (redefined this month, too few responses) is "insufficient"."""
    company = " | ".join(pages["all"])
    for line in (
        "Executive summary Overall not scored (1 of 4 perspectives scored); no escalations",
        "Scorecard 1 of 15 KPIs off target (Reopen rate), 2 below target; 2 KPIs with too few "
        "responses to judge",
        "Scores by segment and region None of the 4 regions has an overall score",
        "Segment comparison No overall score to compare; Enterprise and Small business not scored",
        "CSAT below target (uncertain); Net Promoter Score and CES insufficient (too few responses)",
        "Reopen rate off target; Resolution time below target",
        "What customers say 1 detractor and 1 promoter left a comment in March 2026",
        "Escalations No escalations; 1 KPI off target, not yet escalated",
    ):
        assert line in company, line
    leaf = " | ".join(pages["ent/eu"])
    assert "eNPS and Attrition rate insufficient (too few responses)" in leaf
    assert "Scorecard 1 of 15 KPIs off target (First contact resolution); 4 KPIs" in leaf
    assert "Scores by" not in leaf  # a leaf has no heat-map, so no headline for one


HEADER_FOOTER = re.compile(
    r"Tiny Co( · [^·]+?)? Customer-experience scorecard · March 2026|"
    r"Confidential: internal use only|page \d+ of \d+"
)


def test_no_page_is_near_empty(pages: dict[str, list[str]]) -> None:
    # a page that only carries a table's last row or a lone heading has less than this much
    # text besides its running header and footer (the RACI's last row is about 60 characters)
    for node, texts in pages.items():
        for i, text in enumerate(texts[1:], start=2):  # the cover is short by design
            body = HEADER_FOOTER.sub("", text).strip()
            assert len(body) > 150, (node, i, body)


def test_appendix_ends_with_the_whole_raci_and_cards_count_their_n(
    pages: dict[str, list[str]],
) -> None:
    for texts in pages.values():
        last = texts[-1]
        assert "Responsibilities (RACI)" in last  # kept whole: its heading and every row
        assert "Attrition rate" in last[last.index("Responsibilities (RACI)") :]
        contents = texts[1]
        assert "Responsibilities (RACI)" in contents
    text = " ".join(pages["all"])
    assert re.search(r"· [\d,]+ invoices", text)  # revenue's n, with what it counts
    assert re.search(r"· [\d,]+ responses", text)
