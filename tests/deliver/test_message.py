"""What the emails say: snapshots of both bodies of a pack email and of an escalation email.

The project is the tiny one, computed for March 2026 with any red KPI escalating, so the
bodies show scores, movers and escalations; nothing in them depends on the day the test
runs (the Date and Message-ID headers are not part of the snapshots).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from reportlib import packdata, resources
from reportlib.config import Project, load_project
from reportlib.deliver import message
from reportlib.deliver.inventory import Pack
from reportlib.deliver.models import Distribution
from reportlib.errors import ConfigError
from reportlib.formatting import STATUS
from reportlib.pipeline import compute

from ..conftest import TARGETS, write_project

PERIOD = "2026-03"
NODES = ("all", "ent", "ent/eu")
DIST = Distribution(
    sender={"name": "CX Reporting", "email": "cx@example.com"},
    recipients=[{"name": "Eve Ent", "email": "ent@example.com", "nodes": list(NODES)}],
)
EVE = DIST.recipients[0]


class HTMLSnapshot(SingleFileSnapshotExtension):
    """One .html file per snapshot, diffable in review."""

    file_extension = "html"
    _write_mode = WriteMode.TEXT


class TextSnapshot(SingleFileSnapshotExtension):
    """One .txt file per snapshot, diffable in review."""

    file_extension = "txt"
    _write_mode = WriteMode.TEXT


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The tiny project computed for March 2026; a KPI red for one month escalates.

    Revenue targets score the financial perspective, so with the process perspective the
    overall score carries half of the weight and stands (DOMAIN.md §6).
    """
    root = tmp_path_factory.mktemp("message")
    settings = 'timezone = "UTC"\nas_of = "2026-03-31T12:00:00"\nescalate_after = 1\n'
    targets = TARGETS + "revenue,*,2025-01,400,300\nrevenue_growth_yoy,*,2025-01,0,-5\n"
    p = load_project(write_project(root, settings=settings, targets=targets))
    compute(p, PERIOD)
    return p


@pytest.fixture
def packs(tmp_path: Path) -> list[Pack]:
    out = []
    for node in NODES:
        path = tmp_path / f"{node.replace('/', '-')}.pdf"
        path.write_bytes(b"%PDF-1.4 " + node.encode())
        out.append(Pack(node, node, path, "0" * 64, path.stat().st_size))
    return out


def _bodies(email: message.Email) -> tuple[str, str | None]:
    text = email.message.get_body(("plain",))
    html = email.message.get_body(("html",))
    assert text is not None
    return text.get_content(), None if html is None else html.get_content()


def test_pack_email_bodies(project: Project, packs: list[Pack], snapshot) -> None:
    view = message.email_view(project, PERIOD, NODES)
    assert view.escalations and view.movers, "the fixture should show movers and escalations"
    email = message.build_email(project, DIST, EVE, view, packs)
    text, html = _bodies(email)
    assert text == snapshot(name="text", extension_class=TextSnapshot)
    assert html == snapshot(name="html", extension_class=HTMLSnapshot)


def test_pack_email_headers_and_attachments(project: Project, packs: list[Pack]) -> None:
    view = message.email_view(project, PERIOD, NODES)
    email = message.build_email(project, DIST, EVE, view, packs[1:], part=2, parts=2)
    msg = email.message
    assert msg["Subject"] == (
        "CX scorecard, March 2026: Tiny Co, Enterprise, Enterprise · Europe (part 2 of 2)"
    )
    assert msg["From"] == "CX Reporting <cx@example.com>"
    assert msg["To"] == "Eve Ent <ent@example.com>"
    assert msg["Message-ID"] == email.message_id and email.message_id.endswith("@example.com>")
    assert msg["Date"]
    attached = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert attached == {
        "board-pack-ent.pdf": b"%PDF-1.4 ent",
        "board-pack-ent-eu.pdf": b"%PDF-1.4 ent/eu",
    }
    text, _ = _bodies(email)
    assert "(part 2 of 2)" in text and "board packs for March 2026" in text
    assert (email.kind, email.part, email.parts, email.label) == ("pack", 2, 2, "part 2 of 2: ")


def test_names_and_a_recipients_own_node_names(project: Project, packs: list[Pack]) -> None:
    assert message.names(["a", "b", "c"]) == "a, b, c"
    assert message.names(["a", "b", "c", "d"]) == "a, b and 2 more"
    view = message.email_view(project, PERIOD, ["ent"])
    assert view.node_names == "Enterprise"
    listed = dataclasses.replace(view, node_names="Enterprise and friends")
    email = message.build_email(project, DIST, EVE, listed, packs[1:2])
    assert email.message["Subject"] == "CX scorecard, March 2026: Enterprise and friends"
    # A copy keeps every other field.
    assert dataclasses.replace(listed, node_names=view.node_names) == view


def test_escalation_email_body(project: Project, snapshot) -> None:
    owners, unknown = message.escalation_lists(project, PERIOD, NODES, DIST)
    assert unknown == []
    address, items = next(iter(owners.items()))
    email = message.escalation_email(project, DIST, address, PERIOD, items)
    text, html = _bodies(email)
    assert html is None and not list(email.message.iter_attachments())
    assert text == snapshot(name="text", extension_class=TextSnapshot)
    assert email.message["Subject"] == f"CX scorecard escalations, March 2026: {len(items)} KPIs"
    assert email.message["To"] == f"{items[0].owner} <{address}>"
    assert email.kind == "escalation" and email.label == ""
    assert email.escalations == tuple(sorted(f"{i.node}:{i.kpi}:{i.streak}" for i in items))


def test_escalation_streaks_phrase() -> None:
    def item(streak: int) -> message.Escalation:
        return message.Escalation("all", "Tiny Co", "nps", "NPS", "CCO", streak, "2026-01")

    assert message.streaks([item(3), item(3)]) == "3 months"
    assert message.streaks([item(5), item(3)]) == "3 to 5 months"


def test_a_projects_own_templates_are_used(project: Project, packs: list[Pack]) -> None:
    own = project.settings.root / "templates"
    own.mkdir(exist_ok=True)
    try:
        for name in (DIST.html_template, DIST.text_template):
            shutil.copy(resources.packaged("templates") / name, own / name)
        (own / DIST.text_template).write_text("Hello {{ recipient.name }}\n", encoding="utf-8")
        (own / message.ESCALATION_TEMPLATE).write_text("Dear {{ owner }}.\n", encoding="utf-8")
        view = message.email_view(project, PERIOD, ["ent"])
        text, _ = _bodies(message.build_email(project, DIST, EVE, view, packs[1:2]))
        assert text == "Hello Eve Ent\n"
        owners, _ = message.escalation_lists(project, PERIOD, NODES, DIST)
        address, items = next(iter(owners.items()))
        text, _ = _bodies(message.escalation_email(project, DIST, address, PERIOD, items))
        assert text == f"Dear {items[0].owner}.\n"
        (own / "broken.html.j2").write_text("{{ no_such_variable }}", encoding="utf-8")
        broken = DIST.model_copy(update={"html_template": "broken.html.j2"})
        with pytest.raises(ConfigError, match=f"email template in {own}: 'no_such_variable'"):
            message.build_email(project, broken, EVE, view, packs[1:2])
    finally:
        shutil.rmtree(own)


def test_top_movers_by_materiality_one_line_per_kpi(project: Project) -> None:
    """Three at most, largest materiality first, a KPI once (where it moved most)."""
    contexts = [packdata.load_context(project, PERIOD, n) for n in NODES]
    every = [(c.node.id, m) for c in contexts for m in packdata.movers(c, limit=99)]
    assert len(every) > 3 and len({m.kpi.id for _, m in every}) > 2, "fixture: more movers"
    assert len(message.top_movers(contexts)) == message.MAX_MOVERS
    top = message.top_movers(contexts, limit=2)
    assert len(top) == 2
    ids = [m.kpi.id for _, m in top]
    assert len(set(ids)) == len(ids)
    sizes = [message.materiality(m) for _, m in top]
    assert sizes == sorted(sizes, reverse=True)
    # Nothing left out is more material than the last one listed, KPI by KPI.
    best = {}
    for _, m in every:
        best[m.kpi.id] = max(best.get(m.kpi.id, 0.0), m.size)
    kept = sorted(best.values(), reverse=True)[:2]
    assert sizes == kept
    # First response time moved +1.0 h at Tiny Co and at Enterprise (the same size): listed
    # once, at the node listed first.
    frt = [c.node.id for c, m in message.top_movers(contexts) if m.kpi.id == "first_response_hours"]
    assert frt == ["all"]


def test_a_mover_resting_on_too_few_observations_is_left_out(project: Project) -> None:
    """With a min n above this month's tickets, no ticket KPI is a mover in the email."""
    strict = project.model_copy(
        update={
            "kpis": tuple(
                k.model_copy(update={"min_n": 6}) if k.id == "sla_compliance" else k
                for k in project.kpis
            )
        }
    )
    ctx = packdata.load_context(strict, PERIOD, "all")
    assert "sla_compliance" in [m.kpi.id for m in packdata.movers(ctx, limit=99)]
    # this month's n is 5 < 6: the move is not listed
    assert "sla_compliance" not in [m.kpi.id for _, m in message.top_movers([ctx], limit=99)]


def test_escalations_roll_up_listed_three_and_counted(project: Project) -> None:
    """The nodes' escalations and those of every node below them: `all` is among the nodes,
    so every node's count, each node's own escalations once."""
    view = message.email_view(project, PERIOD, NODES)
    tree = packdata.load_context(project, PERIOD, "all").tree
    each = {n: len(packdata.load_context(project, PERIOD, n).escalations) for n in tree.ids}
    assert each["ent/us"] > 0, "fixture: an escalation below the recipient's nodes"
    # escalate_after = 1: every red KPI escalates; with the revenue targets, 15 in all.
    assert view.escalation_count == sum(each.values()) == 15
    assert len(view.escalations) == message.MAX_ESCALATIONS
    # A leaf's reader gets that node's own only.
    leaf = message.email_view(project, PERIOD, ["ent/eu"])
    assert leaf.escalation_count == each["ent/eu"]
    assert {e.node for e in leaf.escalations} == {"Enterprise · Europe"}
    # Enterprise and its regions: Enterprise, Europe and US, not Tiny Co's own.
    ent = message.email_view(project, PERIOD, ["ent"])
    assert ent.escalation_count == each["ent"] + each["ent/eu"] + each["ent/us"]


def test_node_lines_say_score_of_ten_and_a_status_word(project: Project) -> None:
    view = message.email_view(project, PERIOD, NODES)
    lines = {n.node: n for n in view.nodes}
    # all: financial (2·14/3 + 100/21)/3 and process 50/9, averaged: 5.13 (test_kpis*.py).
    assert (lines["all"].score_of, lines["all"].status) == ("5.1 / 10", "Watch")
    assert (lines["ent"].score_of, lines["ent"].status, lines["ent"].ink) == (
        "1.5 / 10",
        "Off target",
        "#c62828",
    )


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@pytest.mark.parametrize("status", sorted(STATUS))
def test_status_words_are_readable_on_white_and_on_their_tint(status: str) -> None:
    """WCAG AA for text: a contrast of at least 4.5:1."""
    style = STATUS[status]
    for background in ("#ffffff", style.tint):
        ratio = (_luminance(background) + 0.05) / (_luminance(style.ink) + 0.05)
        assert ratio >= 4.5, (status, background, round(ratio, 2))


def test_the_image_is_inline_by_content_id(project: Project, packs: list[Pack]) -> None:
    view = message.email_view(project, PERIOD, NODES)
    image = b"\x89PNG\r\n\x1a\n not really"
    email = message.build_email(project, DIST, EVE, view, packs, image=image)
    msg = email.message
    assert msg.get_content_type() == "multipart/mixed"
    alternative, *attachments = msg.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [a.get_filename() for a in attachments] == [p.filename for p in packs]
    plain, related = alternative.iter_parts()
    assert (plain.get_content_type(), related.get_content_type()) == (
        "text/plain",
        "multipart/related",
    )
    html, png = related.iter_parts()
    assert png.get_content_type() == "image/png" and png.get_content() == image
    assert png.get_content_disposition() == "inline"
    cid = str(png["Content-ID"]).strip("<>")
    body = html.get_content()
    assert f'src="cid:{cid}"' in body
    assert 'alt="Scorecard page of the all pack"' in body
    # Without an image the HTML carries no <img> and no related part.
    bare = message.build_email(project, DIST, EVE, view, packs).message
    assert "<img" not in str(bare.get_body(("html",)).get_content())
    assert all(p.get_content_type() != "multipart/related" for p in bare.walk())


def test_the_bodies_carry_no_links(project: Project, packs: list[Pack]) -> None:
    view = message.email_view(project, PERIOD, NODES)
    text, html = _bodies(message.build_email(project, DIST, EVE, view, packs))
    assert html is not None
    for body in (text, html):
        assert "http" not in body and "www." not in body and "<a " not in body
