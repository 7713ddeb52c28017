"""Governance in the pack (DOMAIN.md §8): manual marks, RACI, definition history and its ‡ footnote."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pypdf import PdfReader

from reportlib import render
from reportlib.cli import main
from reportlib.config import Project, load_kpis, load_project
from reportlib.errors import ConfigError
from reportlib.pipeline import compute, compute_scorecard

from .conftest import DEFAULTS, write_project

PERIOD = "2026-03"
KPI_VALUES = (
    "period,node,kpi,value,n,author,reason\n"
    "2026-03,ent/eu,enps,20,8,Jane Analyst,Pulse survey ran on paper in the Lyon office\n"
)


def governed_kpis() -> str:
    """The default catalogue with RACI on NPS and a new NPS definition (min n 5) from March 2026."""
    raw = yaml.safe_load((DEFAULTS / "kpis.yaml").read_text(encoding="utf-8"))
    nps = next(k for k in raw["kpis"] if k["id"] == "nps")
    nps["consulted"] = ["Head of Product Analytics"]
    nps["informed"] = ["Executive Committee", "Board"]
    nps["version"] = 2
    nps["history"] = [
        {"version": 1, "effective_from": "2024-01", "change_note": "First definition"},
        {
            "version": 2,
            "effective_from": "2026-03",
            "change_note": "Pilot: minimum n lowered to 5",
            "min_n": 5,
        },
    ]
    return yaml.safe_dump(raw, sort_keys=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    config = write_project(
        tmp_path_factory.mktemp("governance"), kpis=governed_kpis(), kpi_values=KPI_VALUES
    )
    p = load_project(config)
    compute(p, PERIOD)
    return p


@pytest.fixture(scope="module")
def pack_text(project: Project) -> str:
    """One real PDF (a leaf node: no comparison page), its text with spaces normalised."""
    reader = PdfReader(render.build_pack(project, PERIOD, "ent/eu"))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_version_switches_at_its_effective_month(project: Project) -> None:
    card = compute_scorecard(project, PERIOD).scorecard.frame
    nps = card[(card["node"] == "all") & (card["kpi"] == "nps")].set_index("period")
    assert nps.loc["2026-02", "kpi_version"] == "1"
    assert nps.loc["2026-03", "kpi_version"] == "2"
    # March: n 7 meets v2's minimum of 5 (no NPS target, so no-target, not insufficient).
    assert nps.loc["2026-03", "n"] == 7 and nps.loc["2026-03", "status"] == "no-target"
    # The same 7 responses under v1 (min n 30) would be insufficient: February has 1.
    assert nps.loc["2026-02", "status"] == "insufficient"
    other = card[(card["node"] == "all") & (card["kpi"] == "csat")]
    assert set(other["kpi_version"]) == {"1"}
    assert project.kpi("nps").in_force("2025-06").min_n == 30
    assert project.kpi("nps").in_force("2023-01").version == 1  # before the first entry
    assert (
        project.kpi("nps").in_force("2027-01").version,
        project.kpi("nps").in_force("2027-01").min_n,
    ) == (2, 5)


@pytest.mark.slow
def test_pack_marks_manual_value_and_definition_change(pack_text: str) -> None:
    scorecard = pack_text.split("Scorecard", 2)[2].split("M manual value or override")[0]
    # eNPS at ent/eu is a manual value: marked M in the scorecard.
    assert re.search(r"Employee NPS \(eNPS\) LEADING ?M", scorecard), scorecard
    # NPS changed definition in March, inside the trend window: ‡ in the scorecard and the card.
    assert re.search(r"Net Promoter Score LAGGING ?‡", scorecard), scorecard
    assert "‡ definition v1 → v2 from March 2026" in pack_text
    assert "‡ definition changed within the trend window" in pack_text


@pytest.mark.slow
def test_appendix_lists_history_raci_and_computed_beside_manual(pack_text: str) -> None:
    appendix = pack_text.split("Definition history", 1)[1]
    assert "Net Promoter Score v1 January 2024 30 – First definition" in appendix
    assert "Net Promoter Score v2 March 2026 5 – Pilot: minimum n lowered to 5" in appendix
    raci = appendix.split("Responsibilities (RACI)", 1)[1].split("Manual values and overrides")[0]
    assert (
        "Net Promoter Score Chief Customer Officer CX Insights Manager Head of Product Analytics "
        "Executive Committee, Board" in raci
    )
    manual = appendix.split("Manual values and overrides", 1)[1]
    # Computed eNPS at ent/eu: (4 promoters - 1 detractor) / 8 = 37.5, replaced by 20.
    assert re.search(r"March 2026 Enterprise · Europe Employee NPS \(eNPS\) 37\.5 20", manual), (
        manual
    )
    assert "Jane Analyst Pulse survey ran on paper in the Lyon office" in manual


def test_kpis_history_command(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["kpis", "--history", "--config", str(project.config_file)]) == 0
    rows = [re.split(r"\s*│\s*", ln.strip()) for ln in capsys.readouterr().out.splitlines()]
    assert ["nps", "1", "2024-01", "30", "–", "First definition"] in rows
    assert ["nps", "2", "2026-03", "5", "–", "Pilot: minimum n lowered to 5"] in rows
    assert ["csat", "1", "–", "30", "top box ≥ 4", ""] in rows


@pytest.mark.parametrize(
    ("history", "message"),
    [
        (
            "[{version: 2, effective_from: '2026-01', change_note: a},"
            " {version: 1, effective_from: '2026-03', change_note: b}]",
            "version 1 \\(2026-03\\) must follow version 2",
        ),
        ("[{version: 1, effective_from: '2026-13', change_note: a}]", "not a month"),
        ("[{version: 1, effective_from: '2026-01'}]", "change_note"),
        ("[{version: 3, effective_from: '2026-01', change_note: a}]", "latest version is 3"),
    ],
)
def test_bad_history_is_a_config_error(tmp_path: Path, history: str, message: str) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text(
        "kpis:\n  - {id: x, name: X, perspective: customer, unit: points, direction: up,\n"
        f"     owner: O, definition: D, version: 1, history: {history}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=f"KPI x: history.*{message}|KPI x:.*{message}"):
        load_kpis(path)


def test_escalations_page_lists_resolved_for_one_month(project: Project) -> None:
    import dataclasses

    from reportlib import commentary
    from reportlib import scorecard as sc
    from reportlib.charts import Charts

    ctx = render.load_context(project, PERIOD, "all")
    notes = commentary.Commentary("all", PERIOD, None, {}, True)
    assert "Resolved this month" not in render.render_section(
        ctx, Charts({}, {}, {}), notes, "escalations"
    )
    # Reopen rate red December to February (escalated in February), amber in March: resolved.
    h = ctx.history.copy()
    mine = (h["node"] == "all") & (h["kpi"] == "reopen_rate")
    h.loc[mine & h["period"].between("2025-12", "2026-02"), "status"] = "red"
    h.loc[mine & (h["period"] == PERIOD), "status"] = "amber"
    changed = dataclasses.replace(
        ctx, history=h, escalations=sc.escalations(h[h["node"] == "all"], PERIOD, 3)
    )
    html = render.render_section(changed, Charts({}, {}, {}), notes, "escalations")
    assert "None this month" in html  # no longer escalated
    resolved = html.split("Resolved this month")[1].split("Status over the last")[0]
    assert "Reopen rate" in resolved and "December 2025" in resolved and "Watch" in resolved
    assert "Head of Customer Support" in resolved and '<td class="num">3</td>' in resolved
    # A month later (still amber) it is no longer listed.
    h2 = pd.concat([h, h[mine & (h["period"] == PERIOD)].assign(period="2026-04")])
    assert sc.resolved_escalations(h2[h2["node"] == "all"], "2026-04", 3).empty


# --------------------------------------------------------------------------- escalation commentary
# Issue 7: each escalated KPI shows the latest commentary that mentions it (DOMAIN.md §8).
# Manual values (January, February) make two KPIs at `all` genuinely red for three months.

ESCALATING_VALUES = "period,node,kpi,value,n,author,reason\n" + "".join(
    f"{p},all,{kpi},{value},10,Jane Analyst,Counted by hand while the ticket export was down\n"
    for p in ("2026-01", "2026-02", "2026-03")
    for kpi, value in (("reopen_rate", 30), ("resolution_hours", 60))
    if (p, kpi) != ("2026-03", "reopen_rate")  # computed March reopen rate (25%) is red already
)
NOTE_2026_03 = """\
## Summary
A hard quarter for support.

## Internal process
The reopen rate is still above 20%: billing tickets are closed before customers confirm.
<script>alert(1)</script>

- From 1 April a ticket closes only after the customer confirms (Reopen rate owner).
- Two more agents on the billing queue.
"""


@pytest.fixture(scope="module")
def escalating(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The tiny project with reopen rate and resolution time red January to March at `all`."""
    config = write_project(
        tmp_path_factory.mktemp("escalation-notes"), kpi_values=ESCALATING_VALUES
    )
    p = load_project(config)
    compute(p, PERIOD)
    return p


@pytest.fixture
def write_note(escalating: Project):
    """Write a commentary file of `all` for a month; removed again after the test."""
    from reportlib import commentary

    written: list[Path] = []

    def write(period: str, text: str) -> None:
        path = commentary.path_for(escalating, period, "all")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    yield write
    for path in written:
        path.unlink(missing_ok=True)


def _escalations_html(project: Project) -> str:
    from reportlib import commentary
    from reportlib.charts import Charts

    ctx = render.load_context(project, PERIOD, "all")
    notes = commentary.load(project, PERIOD, "all")
    return render.render_section(ctx, Charts({}, {}, {}), notes, "escalations")


def _escalated(html: str) -> dict[str, str]:
    """The escalations table's row groups (figures + commentary) by KPI name."""
    table = html.split("Approaching escalation")[0]
    groups = table.split('<tbody class="esc-item">')[1:]
    names = [re.search(r"<strong>(.*?)</strong>", g) for g in groups]
    return {m.group(1): g for m, g in zip(names, groups, strict=True) if m}


@pytest.mark.slow
def test_escalations_quote_the_latest_commentary(escalating: Project, write_note) -> None:
    ctx = render.load_context(escalating, PERIOD, "all")
    assert set(ctx.escalations["kpi"]) == {"reopen_rate", "resolution_hours"}
    write_note(PERIOD, NOTE_2026_03)
    html = _escalations_html(escalating)
    rows = _escalated(html)
    reopen = rows["Reopen rate"]
    assert "Commentary of March 2026 · Internal process" in reopen
    assert "billing tickets are closed before customers confirm" in reopen
    assert "From 1 April a ticket closes only after" in reopen
    assert "Two more agents" not in reopen and "hard quarter" not in reopen
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in reopen
    assert "No commentary on Resolution time since January 2026." in rows["Resolution time"]
    # The PDF: the same on the escalations page, raw HTML shown as text.
    reader = PdfReader(render.build_pack(escalating, PERIOD, "all"))
    pages = [re.sub(r"\s+", " ", p.extract_text()) for p in reader.pages]
    # The page opens with its name and its headline (reportlib/headlines.py).
    head = "Escalations 2 KPIs escalated: Resolution time and Reopen rate; 2 KPIs without an action"
    page = next(t for t in pages if t.startswith(head + " KPIs off target"))
    assert "COMMENTARY OF MARCH 2026 · INTERNAL PROCESS" in page
    assert "billing tickets are closed before customers confirm. <script>alert(1)</script>" in page
    assert "No commentary on Resolution time since January 2026." in page


def test_escalations_fall_back_to_an_earlier_month(escalating: Project, write_note) -> None:
    write_note(PERIOD, "## Internal process\nResolution time is being looked at.\n")
    write_note("2026-02", "## Summary\nReopen rate: billing script changes from March.\n")
    rows = _escalated(_escalations_html(escalating))
    assert "Commentary of February 2026 · Summary" in rows["Reopen rate"]
    assert "billing script changes from March." in rows["Reopen rate"]
    assert "Commentary of March 2026 · Internal process" in rows["Resolution time"]
    assert "being looked at" in rows["Resolution time"]
    assert not [name for name, row in rows.items() if "No commentary" in row]


def test_escalations_say_when_nothing_was_written(escalating: Project, write_note) -> None:
    write_note(PERIOD, "## Summary\nA quiet month.\n")
    html = _escalations_html(escalating)
    rows = _escalated(html)
    assert "No commentary on Reopen rate since January 2026." in rows["Reopen rate"]
    assert "No commentary on Resolution time since January 2026." in rows["Resolution time"]
    assert "Commentary of" not in html
